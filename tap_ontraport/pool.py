"""A small pool of daemon threads that fetch pages while the main thread emits records.

Only HTTP happens in the workers; records, STATE and everything the SDK does stay in
the main thread. Daemon threads never hold up the exit of a killed or finished run.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

#: Requests in flight at once unless `max_parallel_requests` says otherwise: enough that a
#: freed slot of the rate window is used at once even at half a second per answer (the
#: governor, not this, bounds the rate).
DEFAULT_PARALLEL_REQUESTS = 8


class PagePool:
    """Runs `fetch(job)` on up to `workers` threads; results come back in completion order."""

    def __init__(self, fetch: Callable[[Any], Any], workers: int) -> None:
        self._fetch = fetch
        self._jobs: queue.Queue[tuple[Any, Any] | None] = queue.Queue()
        self._results: queue.Queue[tuple[Any, Any, BaseException | None]] = queue.Queue()
        self._threads = [
            threading.Thread(target=self._work, name=f"ontraport-page-{n}", daemon=True)
            for n in range(max(1, workers))
        ]
        self.outstanding = 0
        for thread in self._threads:
            thread.start()

    def _work(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            tag, job = item
            try:
                self._results.put((tag, self._fetch(job), None))
            except BaseException as exc:  # handed to the main thread, re-raised there
                self._results.put((tag, None, exc))

    def submit(self, tag: Any, job: Any) -> None:
        self.outstanding += 1
        self._jobs.put((tag, job))

    def next_result(self) -> tuple[Any, Any]:
        """The next finished fetch as (tag, result); a fetch's exception is raised here."""
        tag, result, error = self._results.get()
        self.outstanding -= 1
        if error is not None:
            raise error
        return tag, result

    def close(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)
