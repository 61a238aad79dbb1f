"""Receivers for the webhook tests: in a thread of the test (fast), or as the real command."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from aiohttp import web

from ontraport_webhooks.receiver import Receiver, ReceiverSettings
from ontraport_webhooks.store import open_store

TOKEN = "test-token-0123456789abcdef"
FORM_BODY = ("webhook_id=3&object_type_id=0&event[type]=sub_tag&event[tag_id]=4&data[id]=8"
             "&data[firstname]=Mary&data[lastname]=Smith&timestamp=1514940140")
_LISTENING = re.compile(r"listening on (http://\S+)")


@dataclass
class Running:
    url: str  # http://127.0.0.1:PORT
    store_path: Path
    receiver: Receiver | None = None
    process: subprocess.Popen | None = None

    def hook(self, token: str = TOKEN) -> str:
        return f"{self.url}/hooks/{token}"

    def health(self) -> dict:
        return requests.get(self.url + "/health", timeout=10).json()

    def stored(self) -> list[dict]:
        store = open_store(str(self.store_path), create=False)
        try:
            return store.read_after(0, 1_000_000)
        finally:
            store.close()


def _serve_in_thread(receiver: Receiver) -> tuple[str, asyncio.AbstractEventLoop, threading.Thread, web.AppRunner]:
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(receiver.app(), access_log=None, handle_signals=False)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    host, port = runner.addresses[0][:2]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    return f"http://{host}:{port}", loop, thread, runner


@pytest.fixture
def make_receiver(tmp_path) -> Iterator:
    """`make_receiver(**settings)`: a receiver in this process, on a free port, SQLite store in tmp_path."""
    started = []

    def start(**settings) -> Running:
        path = tmp_path / f"events{len(started)}.sqlite"
        receiver = Receiver(open_store(str(path)), ReceiverSettings(tokens=(TOKEN,), **settings))
        url, loop, thread, runner = _serve_in_thread(receiver)
        started.append((loop, thread, runner))
        return Running(url, path, receiver=receiver)

    yield start
    for loop, thread, runner in started:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def start_command(store: Path | str, *args: str, token: str = TOKEN, timeout: float = 60) -> tuple[subprocess.Popen, str]:
    """`ontraport-webhooks serve` as its own process; returns it and its base URL once it listens."""
    env = {**os.environ, "ONTRAPORT_WEBHOOKS_TOKENS": token}
    process = subprocess.Popen(
        [sys.executable, "-m", "ontraport_webhooks", "serve", "--store", str(store), "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        found = _LISTENING.search(line)
        if found:
            return process, found.group(1)
    process.kill()
    raise AssertionError(f"the receiver did not start: {process.stderr.read() if process.stderr else ''}")


@pytest.fixture
def receiver_command(tmp_path) -> Iterator:
    """`receiver_command(store=None)`: the real command on a free port (stopped at the end)."""
    processes: list[subprocess.Popen] = []

    def start(store: Path | str | None = None, *args: str) -> Running:
        path = store or tmp_path / "events.sqlite"
        process, url = start_command(path, *args)
        processes.append(process)
        return Running(url, Path(str(path)), process=process)

    yield start
    for process in processes:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
