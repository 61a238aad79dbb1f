"""Progress lines while a long stream runs, and the summary at the end of the run."""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
import typing as t
from collections.abc import Mapping
from dataclasses import dataclass, field

from tap_ontraport.client import DISCOVERY, RequestStats
from tap_ontraport.errors import plural

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


#: A stream's line of the summary, for the tools and tests that read it back (singular
#: and plural forms alike: "1 record", "2 records").
SUMMARY_PATTERN = re.compile(
    r"Summary: (?P<stream>[\w.-]+): (?P<records>[\d,]+) records?, (?P<requests>[\d,]+) requests?, "
    r"(?P<retries>[\d,]+) retr(?:y|ies), (?P<x429>[\d,]+) x 429, (?P<waiting>[\d.]+)s waiting"
)


def _costs(records: int, stats: RequestStats) -> str:
    return (
        f"{plural(records, 'record')}, {plural(stats.requests, 'request')}, "
        f"{plural(stats.retries, 'retry', 'retries')}, {stats.rate_limited:,} x 429, "
        f"{stats.wait_seconds:.1f}s waiting"
    )


def summary_lines(stream_records: dict[str, int], stats: dict[str, RequestStats]) -> list[str]:
    """One line per stream, in name order, then discovery: records, requests, retries, 429s, waits."""
    names = sorted((set(stream_records) | set(stats)) - {DISCOVERY})
    if DISCOVERY in stats:
        names.append(DISCOVERY)
    lines = []
    for name in names:
        request_stats = stats.get(name, RequestStats())
        faults = ", ".join(f"{kind} x{count}" for kind, count in sorted(request_stats.faults.items()))
        lines.append(
            f"{name}: {_costs(stream_records.get(name, 0), request_stats)}" + (f" (faults: {faults})" if faults else "")
        )
    return lines


def total_line(stream_records: dict[str, int], stats: dict[str, RequestStats], elapsed: float) -> str:
    """The run in one line: every stream's records, and every request, discovery's included."""
    total = RequestStats()
    for request_stats in stats.values():
        total.add(
            requests=request_stats.requests,
            retries=request_stats.retries,
            rate_limited=request_stats.rate_limited,
            wait_seconds=request_stats.wait_seconds,
        )
    streams = (set(stream_records) | set(stats)) - {DISCOVERY}
    return (
        f"Total: {plural(sum(stream_records.values()), 'record')} in {plural(len(streams), 'stream')}, "
        f"{plural(total.requests, 'request')}, {plural(total.retries, 'retry', 'retries')}, "
        f"{total.rate_limited:,} x 429, {total.wait_seconds:.1f}s waiting, {elapsed:.1f}s elapsed"
    )


def rate_limit_line(snapshot: Mapping[str, t.Any]) -> str:
    """What the governor learnt of the account's budget, and what it made of it."""
    if snapshot.get("limit") is None:
        return "Rate limit: the API sent no x-rate-limit headers"
    window = snapshot.get("window_seconds")
    window_text = f"per {window:g}s window" if window else "per window"
    if window and snapshot.get("window_known") is False:
        window_text += " (estimated)"
    source = "429 answers, no headers" if snapshot.get("limit_source") == "429" else "x-rate-limit-* headers"
    others = snapshot.get("others_requests")
    others_text = f"; other tools used about {plural(int(others), 'request')} while we ran" if others is not None else ""
    return (
        f"Rate limit: {plural(int(snapshot['limit']), 'request')} {window_text} ({source}), "
        f"our cap {snapshot.get('cap')}{others_text}; requests held for the budget "
        f"{plural(int(snapshot.get('waits') or 0), 'time')} "
        f"({float(snapshot.get('wait_seconds') or 0):.1f}s summed over parallel requests)"
    )


#: The `event` of the run's one structured summary record (docs/operating.md).
RUN_SUMMARY_EVENT = "run_summary"


def _cost_fields(stats: RequestStats) -> dict[str, t.Any]:
    return {
        "requests": stats.requests,
        "retries": stats.retries,
        "rate_limited": stats.rate_limited,
        "wait_seconds": round(stats.wait_seconds, 3),
        "faults": dict(sorted(stats.faults.items())),
    }


def run_summary(
    stream_records: Mapping[str, int],
    stats: Mapping[str, RequestStats],
    *,
    elapsed: float,
    rate_limit: Mapping[str, t.Any],
    skipped: Mapping[str, str],
) -> dict[str, t.Any]:
    """The summary lines' facts as one JSON-ready record, for programs that read the logs."""
    names = sorted((set(stream_records) | set(stats)) - {DISCOVERY})
    streams = {
        name: {"records": stream_records.get(name, 0), **_cost_fields(stats.get(name, RequestStats()))}
        for name in names
    }
    totals = {key: sum(s[key] for s in streams.values()) for key in ("records", "requests", "retries", "rate_limited")}
    discovery = _cost_fields(stats.get(DISCOVERY, RequestStats()))
    totals["requests"] += discovery["requests"]
    totals["retries"] += discovery["retries"]
    totals["rate_limited"] += discovery["rate_limited"]
    return {
        "event": RUN_SUMMARY_EVENT,
        "streams": streams,
        "discovery": discovery,
        "total": {**totals, "streams": len(streams), "elapsed_seconds": round(elapsed, 3)},
        "rate_limit": dict(rate_limit),
        "skipped": dict(sorted(skipped.items())),
    }
