"""Group commit: deliveries that arrive together share one transaction, so one fsync.

Each request hands its event to `submit` and waits for the future; one writer thread takes
everything queued so far, inserts it in one transaction and commits, then resolves every future
of that batch. A request is answered 200 only after its future resolved, so only after COMMIT.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

from ontraport_webhooks.store import Event, Store, Stored

#: The most events one transaction takes; more wait for the next one (a bound on its latency).
MAX_BATCH = 512


@dataclass
class CommitStats:
    commits: int = 0
    events: int = 0
    largest_batch: int = 0
    failed_commits: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, size: int, *, failed: bool) -> None:
        with self._lock:
            if failed:
                self.failed_commits += 1
                return
            self.commits += 1
            self.events += size
            self.largest_batch = max(self.largest_batch, size)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {"commits": self.commits, "events_committed": self.events,
                    "largest_batch": self.largest_batch, "failed_commits": self.failed_commits}


class GroupCommitter:
    def __init__(self, store: Store, max_batch: int = MAX_BATCH) -> None:
        self.store = store
        self.max_batch = max_batch
        self.stats = CommitStats()
        self._queue: queue.Queue[tuple[Event, Future[Stored]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="webhook-store-writer", daemon=True)
        self._thread.start()

    def submit(self, event: Event) -> Future[Stored]:
        future: Future[Stored] = Future()
        self._queue.put((event, future))
        return future

    def close(self) -> None:
        """Commit what is queued, then stop the writer."""
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[tuple[Event, Future[Stored]]]) -> None:
        try:
            results = self.store.insert_batch([event for event, _ in batch])
        except Exception as exc:  # every request of the batch is told: not stored
            self.stats.add(len(batch), failed=True)
            for _, future in batch:
                future.set_exception(exc)
            return
        self.stats.add(len(batch), failed=False)
        for (_, future), stored in zip(batch, results):
            future.set_result(stored)
