"""Hooks for every suite."""

from __future__ import annotations

from tests import runner


def pytest_unconfigure(config: object) -> None:
    # Stop this process's fork server while the process can still wait for it (a pytest-xdist
    # worker may end without running atexit), so its runs' CPU time is counted and nothing lingers.
    runner.stop_fork_server()
