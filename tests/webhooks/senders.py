"""Concurrent senders for the kill tests: numbered deliveries until the receiver is gone."""

from __future__ import annotations

import threading
import time

import requests

from tests.webhooks.conftest import FORM_BODY

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class Senders:
    """`workers` threads posting deliveries to `hook_url`, each with its own `timestamp` marker;
    `acknowledged` holds the markers of those answered 200."""

    def __init__(self, hook_url: str, workers: int = 8) -> None:
        self.hook_url = hook_url
        self.acknowledged: list[str] = []
        self._lock = threading.Lock()
        self._receiver_gone = threading.Event()
        self._threads = [threading.Thread(target=self._send, args=(w + 1,)) for w in range(workers)]

    def start(self) -> Senders:
        for thread in self._threads:
            thread.start()
        return self

    def wait_for(self, count: int, seconds: float) -> None:
        """Until `count` deliveries were acknowledged, or `seconds` passed."""
        deadline = time.monotonic() + seconds
        while len(self.acknowledged) < count and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self) -> None:
        """The receiver was killed: each sender stops at its next failed request."""
        self._receiver_gone.set()
        for thread in self._threads:
            thread.join(30)

    def _send(self, worker: int) -> None:
        with requests.Session() as session:
            for n in range(100_000):
                marker = f"{worker}{n:06d}"
                body = FORM_BODY.replace("timestamp=1514940140", f"timestamp={marker}")
                try:
                    answer = session.post(self.hook_url, data=body, headers=FORM, timeout=10)
                except requests.RequestException:
                    if self._receiver_gone.is_set():
                        return
                    continue
                if answer.status_code == 200:
                    with self._lock:
                        self.acknowledged.append(marker)
