"""Progress lines while a long stream runs, and the summary at the end of the run."""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field

from tap_ontraport.client import RequestStats

logger = logging.getLogger("tap-ontraport")


@dataclass
class StreamProgress:
    """Counts one stream's records and logs a progress line at a steady pace."""

    stream: str
    stats: RequestStats
    interval: float = 60.0
    total: int | None = None  # records expected, when the API told us (counted once)
    records: int = 0
    started: float = field(default_factory=time.monotonic)
    _first_request_count: int = 0
    _last_log: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self._first_request_count = self.stats.requests

    @property
    def requests(self) -> int:
        return self.stats.requests - self._first_request_count

    def add(self, records: int) -> None:
        self.records += records
        now = time.monotonic()
        if self.interval > 0 and now - self._last_log >= self.interval:
            self._last_log = now
            logger.info("%s", self.line(now))

    def line(self, now: float | None = None) -> str:
        now = time.monotonic() if now is None else now
        elapsed = max(now - self.started, 1e-6)
        rate = self.requests / elapsed
        text = f"{self.stream}: {self.records:,} records"
        if self.total:
            share = min(100.0, 100.0 * self.records / self.total)
            text += f" of {self.total:,} ({share:.0f}%)"
        text += f", {self.requests:,} requests ({rate:.2f}/s)"
        if self.total and self.records and rate > 0:
            pages_left = max(0, self.total - self.records) / 50
            eta = dt.timedelta(seconds=round(pages_left / rate))
            text += f", about {eta} left"
        return text


def summary_lines(stream_records: dict[str, int], stats: dict[str, RequestStats]) -> list[str]:
    """One line per stream: records, requests, retries, 429s, time spent waiting."""
    lines = []
    for name in sorted(set(stream_records) | set(stats)):
        request_stats = stats.get(name, RequestStats())
        faults = ", ".join(f"{kind} x{count}" for kind, count in sorted(request_stats.faults.items()))
        lines.append(
            f"{name}: {stream_records.get(name, 0):,} records, {request_stats.requests:,} requests, "
            f"{request_stats.retries} retries, {request_stats.rate_limited} x 429, "
            f"{request_stats.wait_seconds:.1f}s waiting" + (f" (faults: {faults})" if faults else "")
        )
    return lines
