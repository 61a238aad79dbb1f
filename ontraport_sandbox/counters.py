"""What the sandbox has served, for tests and benchmarks to assert on."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any, NamedTuple


class LogEntry(NamedTuple):
    time: float  # time.monotonic() when the request arrived
    method: str
    path: str  # no query string
    params: dict[str, str]  # the parsed query string (never headers)
    status: int  # 0: no HTTP answer (connection reset)


class Counters:
    """Thread-safe tallies; read the attributes directly, ``reset()`` clears them."""

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.total = 0
            self.by_path: Counter[str] = Counter()
            self.by_status: Counter[int] = Counter()
            self.rate_limited = 0
            self.faults: Counter[str] = Counter()
            self.starts: list[float] = []
            self.peak_concurrency = 0
            self.log: list[LogEntry] = []
            self._active = 0

    def arrived(self, path: str, now: float, entry: LogEntry) -> int:
        """Count a request in; returns its 1-based number.

        Its log entry takes its place now (status 0 until answered), so the log is in the
        order requests arrived, whichever answer goes out first.
        """
        with self._lock:
            self.total += 1
            self.by_path[path] += 1
            self.starts.append(now)
            self._active += 1
            self.peak_concurrency = max(self.peak_concurrency, self._active)
            self.log.append(entry)
            return self.total

    def finished(self, number: int, entry: LogEntry, *, fault: str | None, rate_limited: bool) -> None:
        with self._lock:
            self._active = max(0, self._active - 1)
            if entry.status:
                self.by_status[entry.status] += 1
            if fault:
                self.faults[fault] += 1
            if rate_limited:
                self.rate_limited += 1
            # After a reset() the log restarted: the entry of an older request has no place.
            position = len(self.log) - (self.total - number) - 1
            if 0 <= position < len(self.log) and self.log[position].time == entry.time:
                self.log[position] = entry

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"total": self.total, "by_status": dict(self.by_status),
                    "rate_limited": self.rate_limited, "faults": dict(self.faults),
                    "peak_concurrency": self.peak_concurrency}
