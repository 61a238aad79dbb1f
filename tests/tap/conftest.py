"""Fixtures for tests that run the tap against the sandbox over real sockets."""

from __future__ import annotations

import pytest

from ontraport_sandbox import Sandbox
from tap_ontraport import client
from tap_ontraport.tap import TapOntraport
from tests.runner import SingerOutput, run_in_process, select_only

# Behaviour tests are about correctness, not pacing: a limit high enough never to bind,
# but present, so the governor still reads real headers on every answer.
FAST_LIMIT = 100_000


def sandbox_config(sandbox: Sandbox, **settings) -> dict:
    config = {
        "app_id": sandbox.app_id,
        "api_key": sandbox.api_key,
        "api_url": sandbox.url,
        "progress_interval_seconds": 0,
    }
    config.update(settings)
    return config


@pytest.fixture
def quick_retries(monkeypatch):
    """Retries milliseconds apart instead of seconds, for in-process tests about what is
    retried, not when (runs of the command line keep the real pace)."""
    monkeypatch.setattr(client, "FIRST_RETRY_SECONDS", 0.01)


@pytest.fixture
def make_sandbox():
    """Start sandboxes (stopped at the end of the test)."""
    started: list[Sandbox] = []

    def start(**options) -> Sandbox:
        options.setdefault("rate_limit", FAST_LIMIT)
        sandbox = Sandbox(**options).start()
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        sandbox.stop()


@pytest.fixture(scope="module")
def default_sandbox():
    """The default account, untouched by the tests that use it."""
    sandbox = Sandbox(rate_limit=FAST_LIMIT).start()
    yield sandbox
    sandbox.stop()


def sync(sandbox: Sandbox, state: dict | None = None, catalog: dict | None = None, **settings) -> SingerOutput:
    """One in-process run of the tap against `sandbox`, every stream selected."""
    return run_in_process(TapOntraport, sandbox_config(sandbox, **settings), state=state, catalog=catalog)


def catalog_for(sandbox: Sandbox, *stream_names: str, **settings) -> dict:
    """A catalog of the sandbox's account with only `stream_names` selected."""
    tap = TapOntraport(config=sandbox_config(sandbox, **settings))
    return select_only(tap.catalog_dict, stream_names)


def requests_to(sandbox: Sandbox, path_suffix: str, since: int = 0) -> list:
    """Request log entries (after the first `since`) whose path ends with `path_suffix`."""
    return [entry for entry in sandbox.counters.log[since:] if entry.path.endswith(path_suffix)]
