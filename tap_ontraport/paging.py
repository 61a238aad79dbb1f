"""Segments walked by key, their conditions, and the bookmark: the pure logic of the walk.

A run is a list of *segments*, each a fixed filter on the replication key (e.g. `dlm >= t`),
walked by key upward with `key > cursor`, `sort=key`, `range=50`, `start=0`. Why that never
loses a record, and when the bookmark may move: docs/design.md ("Why the walk by key never
loses a record"). Conditions are joined with AND only: Ontraport does not document how AND
and OR mix.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

PAGE_SIZE = 50  # Ontraport's maximum and default `range`


def condition(*clauses: tuple[str, str, Any]) -> str:
    """Ontraport's JSON `condition` for (field, op, value) clauses joined by AND."""
    parts: list[Any] = []
    for field_name, op, value in clauses:
        if parts:
            parts.append("AND")
        parts.append({"field": {"field": field_name}, "op": op, "value": {"value": value}})
    return json.dumps(parts, separators=(",", ":"))


@dataclass
class Segment:
    """Records with `rk_since <= rk < rk_before` (or `rk == rk_equal`) and after < key <= until.

    `rk` is the replication key (epoch seconds on the wire); None bounds are open.
    `probed` is False until the segment's first request (newest keys first, with the
    total count) was answered; afterwards the segment is walked upward from `after`.
    """

    rk_since: int | None = None
    rk_before: int | None = None
    rk_equal: int | None = None
    after: int = 0
    until: int | None = None
    probed: bool = False
    # Not saved in state: the number of records left, when the probe told us.
    expected: int | None = field(default=None, compare=False)

    def clauses(self, rk_field: str | None, key: str) -> list[tuple[str, str, Any]]:
        found: list[tuple[str, str, Any]] = []
        if rk_field is not None:
            if self.rk_equal is not None:
                found.append((rk_field, "=", self.rk_equal))
            if self.rk_since is not None:
                found.append((rk_field, ">=", self.rk_since))
            if self.rk_before is not None:
                found.append((rk_field, "<", self.rk_before))
        if self.after > 0:
            found.append((key, ">", self.after))
        if self.until is not None:
            found.append((key, "<=", self.until))
        return found

    @property
    def is_empty(self) -> bool:
        if self.until is not None and self.until <= self.after:
            return True
        return (
            self.rk_since is not None
            and self.rk_before is not None
            and self.rk_before <= self.rk_since
        )

    def to_state(self) -> dict[str, Any]:
        saved = asdict(self)
        saved.pop("expected")
        return {name: value for name, value in saved.items() if value is not None}

    @classmethod
    def from_state(cls, saved: dict[str, Any]) -> Segment:
        known = {"rk_since", "rk_before", "rk_equal", "after", "until", "probed"}
        return cls(**{name: value for name, value in saved.items() if name in known})


def plan_segments(
    *,
    bookmark: int | None,
    tie_key: int | None,
    start: int | None,
    lookback: int,
) -> list[Segment]:
    """The segments of a new run of an incremental stream.

    `bookmark` is the newest replication-key value fully emitted by earlier runs (None on
    the first run, which starts at `start`, the start_date, or reads everything).
    Records at exactly the bookmark are read again (`>=`), and `lookback` seconds before
    it, against writes that became visible late. When the last run ended inside a tie
    group larger than a page, `tie_key` is the largest key it emitted at the bookmark:
    that group continues after it instead of being read again in full.
    """
    if bookmark is None:
        return [Segment(rk_since=start)]
    since = bookmark - lookback
    if start is not None:
        since = max(since, start)
    if tie_key is None or since > bookmark:
        return [Segment(rk_since=since)]
    segments = [
        Segment(rk_since=since, rk_before=bookmark),  # the lookback, below the tie group
        Segment(rk_equal=bookmark, after=tie_key),  # the rest of the tie group
        Segment(rk_since=bookmark + 1),  # everything newer
    ]
    return [segment for segment in segments if not segment.is_empty]


def split_segment(segment: Segment, parts: int) -> list[Segment]:
    """Cut a probed segment into `parts` key ranges of equal width, to walk in parallel.

    The last range stays open-ended only if the segment was; records inserted during the
    sync get new, higher keys and are caught by the next run through their `dlm`.
    """
    if segment.until is None or parts <= 1:
        return [segment]
    width = segment.until - segment.after
    if width < parts * PAGE_SIZE:
        return [segment]
    step = math.ceil(width / parts)
    ranges = []
    low = segment.after
    while low < segment.until:
        high = min(low + step, segment.until)
        ranges.append(replace(segment, after=low, until=high, expected=None))
        low = high
    return ranges


@dataclass
class BookmarkTracker:
    """The newest replication-key value emitted in this run that is older than its start.

    Records changed after the run started (on the server's clock) may or may not have
    been read; the bookmark must stay below them so the next run reads them again. The
    tracker also remembers how many records share that newest value and their largest
    key, so that a tie group bigger than a page isn't read again in full next run.
    """

    run_started: int | None = None  # epoch seconds, server clock (None: no answer yet)
    newest: int | None = None
    newest_count: int = 0
    newest_max_key: int = 0

    def see(self, rk_value: int | None, key: int) -> None:
        if rk_value is None or self.run_started is None or rk_value >= self.run_started:
            return
        if self.newest is None or rk_value > self.newest:
            self.newest, self.newest_count, self.newest_max_key = rk_value, 1, key
        elif rk_value == self.newest:
            self.newest_count += 1
            self.newest_max_key = max(self.newest_max_key, key)

    @property
    def tie_key(self) -> int | None:
        """The key to resume the newest tie group after, when that group is big."""
        if self.newest is not None and self.newest_count >= PAGE_SIZE:
            return self.newest_max_key
        return None

    def to_state(self) -> dict[str, Any]:
        saved = asdict(self)
        if self.run_started is None:
            del saved["run_started"]
        return saved

    @classmethod
    def from_state(cls, saved: dict[str, Any]) -> BookmarkTracker:
        return cls(**saved)
