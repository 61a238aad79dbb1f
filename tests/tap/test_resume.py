"""A run killed at any moment (SIGKILL, SIGTERM) resumes from its last STATE without loss.

The tap runs as a real process against the sandbox; the test reads its stdout like a
target would, kills it after a random number of lines, then runs it again from the last
STATE it printed. Everything must arrive, and only what came after that last STATE may
arrive twice.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ontraport_sandbox import Sandbox
from tap_ontraport.paging import PAGE_SIZE
from tests.runner import SingerOutput, start_cli
from tests.tap.conftest import FAST_LIMIT, catalog_for, sandbox_config

STREAMS = ("contacts", "tags", "pets")


def run_tap_process(workdir: Path, config: dict, catalog: dict, state: dict | None,
                    stop_after_lines: int | None = None, sig: int = signal.SIGKILL) -> tuple[list[str], int]:
    (workdir / "config.json").write_text(json.dumps(config))
    (workdir / "catalog.json").write_text(json.dumps(catalog))
    args = ["--config", str(workdir / "config.json"), "--catalog", str(workdir / "catalog.json")]
    if state is not None:
        (workdir / "state.json").write_text(json.dumps(state))
        args += ["--state", str(workdir / "state.json")]
    process = start_cli(*args, stderr=subprocess.DEVNULL)
    lines: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if stop_after_lines is not None and len(lines) >= stop_after_lines:
            os.kill(process.pid, sig)
            break
    lines.extend(process.stdout.read().splitlines(keepends=True))  # whatever was already written
    return lines, process.wait(timeout=60)


def keys_of(output: SingerOutput, stream: str) -> list[int]:
    key = "form_id" if stream == "forms" else "id"
    return [record[key] for record in output.records.get(stream, [])]


def after_last_state(lines: list[str]) -> SingerOutput:
    """The messages a run wrote after its last STATE (what a resume may repeat)."""
    last = max((i for i, line in enumerate(lines) if '"type":"STATE"' in line.replace(" ", "")), default=-1)
    return SingerOutput.parse("".join(lines[last + 1:]))


@dataclass(frozen=True)
class ReadOnlyAccount:
    """One account every kill test reads (the tap never writes), and its uninterrupted run."""

    sandbox: Sandbox
    config: dict
    catalog: dict  # STREAMS selected
    complete_lines: int  # lines of a run of STREAMS that nothing interrupts


@pytest.fixture(scope="module")
def account(tmp_path_factory) -> Iterator[ReadOnlyAccount]:
    # 3,200 contacts: 64 pages, enough for four parallel key ranges to be cut
    sandbox = Sandbox(sizes={0: 3_200}, latency=0.002, rate_limit=FAST_LIMIT).start()
    try:
        config = sandbox_config(sandbox, max_parallel_requests=4)
        catalog = catalog_for(sandbox, *STREAMS)
        lines, status = run_tap_process(tmp_path_factory.mktemp("complete"), config, catalog, None)
        assert status == 0
        yield ReadOnlyAccount(sandbox, config, catalog, len(lines))
    finally:
        sandbox.stop()


@pytest.mark.parametrize("seed", range(6))
def test_sigkill_at_a_random_moment_then_resume(account, tmp_path, seed):
    sandbox, config, catalog = account.sandbox, account.config, account.catalog
    stop_at = random.Random(seed).randint(5, account.complete_lines - 5)
    killed_lines, _ = run_tap_process(tmp_path, config, catalog, None, stop_after_lines=stop_at)
    killed = SingerOutput.parse("".join(killed_lines))
    resumed_lines, status = run_tap_process(tmp_path, config, catalog, killed.state)
    assert status == 0
    resumed = SingerOutput.parse("".join(resumed_lines))
    tail = after_last_state(killed_lines)

    for stream in STREAMS:
        object_id = {"contacts": 0, "tags": 14, "pets": 10000}[stream]
        first, second = keys_of(killed, stream), keys_of(resumed, stream)
        assert set(first) | set(second) == set(sandbox.account.ids(object_id)), stream
        repeated = set(first) & set(second)
        # only what was emitted after the last STATE comes again, at most about a page
        assert repeated <= set(keys_of(tail, stream)), (stream, sorted(repeated)[:10])
        assert len(repeated) <= PAGE_SIZE, stream
        print(f"kill after line {stop_at}/{account.complete_lines}: {stream} re-emitted {len(repeated)}")
    # a full-table stream finishes the pass it started: same version, activated once
    tag_versions = {m["version"] for m in killed.messages + resumed.messages
                    if m["type"] == "RECORD" and m["stream"] == "tags"}
    assert len(tag_versions) == 1
    assert resumed.activate_versions["tags"] == list(tag_versions) or killed.activate_versions["tags"] == list(tag_versions)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_flushes_state_for_what_was_emitted(account, tmp_path, sig):
    sandbox, config = account.sandbox, account.config
    catalog = catalog_for(sandbox, "contacts")
    lines, status = run_tap_process(tmp_path, config, catalog, None, stop_after_lines=1_000, sig=sig)
    assert status != 0
    stopped = SingerOutput.parse("".join(lines))
    assert stopped.state is not None
    resumed_lines, status = run_tap_process(tmp_path, config, catalog, stopped.state)
    assert status == 0
    resumed = SingerOutput.parse("".join(resumed_lines))
    first, second = keys_of(stopped, "contacts"), keys_of(resumed, "contacts")
    assert set(first) | set(second) == set(sandbox.account.ids(0))
    assert len(set(first) & set(second)) <= PAGE_SIZE
