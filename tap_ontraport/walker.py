"""The walk of a stream's segments: which page to ask for next, several segments at a time.

`SegmentWalker` owns the pages in flight (a `PagePool`), the segments still to start and a
`SegmentCursor` per segment being read. It knows nothing of records, schemas or STATE: it
gets a `fetch(token)` callable and hands back answers; the stream emits their records and
then calls `commit`, after which `position()` is what STATE may say (docs/design.md says
why walking by key loses no record).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any

from tap_ontraport.client import ApiResponse
from tap_ontraport.fields import to_integer
from tap_ontraport.paging import PAGE_SIZE, BookmarkTracker, Segment, split_segment
from tap_ontraport.pool import PagePool

#: A probed segment is cut into parallel key ranges only when each range gets at least
#: this many pages: every range ends on a part-filled page, and that waste must stay small.
MIN_PAGES_PER_RANGE = 15
#: When request slots idle at the end of a walk (fewer ranges being read than workers, none
#: waiting), the rest of a running range is cut so that its pages go out in parallel, into
#: parts of at least this many pages.
MIN_PAGES_PER_SPLIT = 4
#: Each extra part may cost one more request (its part-filled last page): over a walk, the
#: cuts cost at most this share of the pages (of those read and those left of the range cut).
MAX_EXTRA_SHARE = 0.05


@dataclass(frozen=True)
class PageToken:
    """Which page to ask for: a segment from its cursor, upward (or its probe)."""

    segment: Segment
    probe: bool = False  # newest keys first, with the total count
    list_fields: str | None = None  # only these fields (the deletion sweep lists keys)
    count: bool = False  # ask for the count of the segment too (the deletion sweep)


def rows_of(response: ApiResponse) -> list:
    """The records of an answer (none when its `data` is not a list)."""
    return response.data if isinstance(response.data, list) else []


def count_of(response: ApiResponse) -> int | None:
    """The envelope's `count` (asked for with `count=true`), when it holds a whole number."""
    total = to_integer(response.envelope.get("count")) if isinstance(response.envelope, dict) else None
    return total if isinstance(total, int) else None


def keys_of(rows: Iterable[dict], key: str) -> list[int]:
    return [k for k in (to_integer(row.get(key)) for row in rows) if isinstance(k, int)]


def next_token(token: PageToken, rows: Sequence[dict], key: str) -> PageToken | None:
    """The same segment after the largest key of this page; None when the page ended it."""
    segment = token.segment
    if len(rows) < PAGE_SIZE:
        return None
    keys = keys_of(rows, key)
    if not keys:
        return None
    last = max(keys)
    if segment.until is not None and last >= segment.until:
        return None
    expected = None if segment.expected is None else segment.expected - len(rows)
    if expected is not None and expected <= 0:
        return None  # the count said this was the last record: no empty page needed
    following = replace(token, segment=replace(segment, after=last, expected=expected))
    if following == token:
        raise RuntimeError(f"Loop detected in pagination. Pagination token {following} is identical to prior token.")
    return following


def after_probe(segment: Segment, rows: Sequence[dict], total: int | None, key: str, workers: int) -> list[Segment]:
    """What is left of `segment` after its probe (its newest keys), cut into key ranges
    for `workers` parallel requests when it is large enough."""
    keys = keys_of(rows, key)
    if len(rows) < PAGE_SIZE or not keys or (total is not None and total <= len(rows)):
        return []
    lowest = min(keys)
    until = lowest - 1 if segment.until is None else min(segment.until, lowest - 1)
    rest = replace(segment, until=until, probed=True, expected=None if total is None else total - len(rows))
    if rest.is_empty:
        return []
    pages_left = math.ceil(rest.expected / PAGE_SIZE) if rest.expected is not None else 0
    parts = min(workers, pages_left // MIN_PAGES_PER_RANGE)
    return split_segment(rest, parts) if parts > 1 else [rest]


def pages_left(segment: Segment, rows: Sequence[dict], key: str) -> int:
    """About how many pages remain of `segment` (already past `rows`): the count when the
    probe gave one, else the key density of `rows` over the keys left."""
    if segment.expected is not None:
        return math.ceil(segment.expected / PAGE_SIZE)
    keys = keys_of(rows, key)
    if segment.until is None or len(keys) < 2:
        return 0
    per_key = len(keys) / (max(keys) - min(keys) + 1)
    return int((segment.until - segment.after) * per_key / PAGE_SIZE)


class SegmentCursor:
    """One segment being read: what is safely emitted (`committed`) and the page asked next."""

    def __init__(self, segment: Segment, key: str) -> None:
        self.key = key
        self.committed = segment
        self.token = PageToken(segment, probe=not segment.probed)
        self.finished = False
        #: After the probe: the segments still to read (the rest of this one, maybe cut).
        self.follow_ups: list[Segment] = []
        #: After the probe: how many records the segment holds, when the API said.
        self.total: int | None = None

    def advance(self, response: ApiResponse, workers: int) -> None:
        """Move past the answer to `token`: ask for the next page, or finish."""
        rows = rows_of(response)
        if self.token.probe:
            self.total = count_of(response)
            self.follow_ups = after_probe(self.token.segment, rows, self.total, self.key, workers)
            self.finished = True
            return
        following = next_token(self.token, rows, self.key)
        if following is None:
            self.finished = True
        else:
            self.token = following

    def commit(self) -> None:
        """The records before `token` are out: a resumed run may start there."""
        self.committed = self.token.segment

    def split_rest(self, rows: Sequence[dict], most: int) -> list[Segment]:
        """Cut what is left after `rows` (the answer just moved past) into up to `most` key
        ranges: this cursor keeps the first, the others are returned, to be read in parallel.

        The next page isn't asked for yet, so no request in flight spans the cut; and the
        committed position shrinks with it, so position() still covers every key once.
        """
        segment = self.token.segment
        parts = min(most, pages_left(segment, rows, self.key) // MIN_PAGES_PER_SPLIT)
        if self.token.probe or segment.until is None or parts < 2:
            return []
        first, *others = split_segment(replace(segment, expected=None), parts)
        if others:
            self.token = replace(self.token, segment=first)
            self.committed = replace(self.committed, until=first.until)
        return others


@dataclass
class WalkedPage:
    """One answer of the walk, with its segment's cursor (already moved past it)."""

    tag: int
    response: ApiResponse
    cursor: SegmentCursor

    @property
    def rows(self) -> list:
        return rows_of(self.response)


class SegmentWalker:
    """Reads segments by key, up to `workers` pages in flight; answers come in completion order.

    Use as a context manager (the pool's threads stop on exit). Each `next_page()` answer
    must be `commit`ted once its records are emitted, before the next `next_page()`.
    """

    def __init__(
        self, segments: Iterable[Segment], fetch: Callable[[PageToken], ApiResponse], *, key: str, workers: int,
        may_split: Callable[[PageToken], bool] = lambda token: True,
    ) -> None:
        self.key = key
        self.workers = workers
        #: False for a page whose answer is already on its way by another route (read
        #: ahead): cutting its range would ask for different pages and waste that answer.
        self.may_split = may_split
        self.pending: deque[Segment] = deque(segments)
        self.cursors: dict[int, SegmentCursor] = {}
        self._next_tag = 0
        self._pool = PagePool(fetch, workers)
        self._pages_answered = 0
        self._extra_parts = 0  # parts the idle-slot cuts have added (each may cost a request)

    def __enter__(self) -> SegmentWalker:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._pool.close()

    @property
    def done(self) -> bool:
        return not self.pending and not self.cursors

    def next_page(self) -> WalkedPage:
        """The next answer; its segment's next page is already asked for (so the request is
        out while this page's records are written)."""
        self._start_pending()
        tag, response = self._pool.next_result()
        self._pages_answered += 1
        cursor = self.cursors[tag]
        cursor.advance(response, self.workers)
        if not cursor.finished:
            self._split_when_idle(cursor, rows_of(response))
            self._pool.submit(tag, cursor.token)
            self._start_pending()
        return WalkedPage(tag, response, cursor)

    def commit(self, page: WalkedPage) -> None:
        """Everything of `page` is emitted: move its cursor (or start its follow-ups)."""
        if page.cursor.finished:
            del self.cursors[page.tag]
            self.pending.extendleft(reversed(page.cursor.follow_ups))
        else:
            page.cursor.commit()

    def position(self) -> list[Segment]:
        """Where a resumed run starts: each open segment at its cursor, then those not started."""
        return [cursor.committed for cursor in self.cursors.values()] + list(self.pending)

    def _split_when_idle(self, cursor: SegmentCursor, rows: list) -> None:
        """At the end of a walk, when ranges finish one by one, give the idle request slots
        a part of this range each (instead of one page per round trip on one range), as far
        as the walk's share of extra requests allows."""
        idle = self.workers - len(self.cursors)
        if idle <= 0 or self.pending or not self.may_split(cursor.token):
            return
        pages = self._pages_answered + pages_left(cursor.token.segment, rows, self.key)
        affordable = math.floor(pages * MAX_EXTRA_SHARE) - self._extra_parts
        if affordable > 0:
            parts = cursor.split_rest(rows, min(idle, affordable) + 1)
            self._extra_parts += len(parts)
            self.pending.extend(parts)

    def _start_pending(self) -> None:
        while self.pending and len(self.cursors) < self.workers:
            segment = self.pending.popleft()
            if segment.is_empty:
                continue
            self._next_tag += 1
            cursor = SegmentCursor(segment, self.key)
            self.cursors[self._next_tag] = cursor
            self._pool.submit(self._next_tag, cursor.token)


@dataclass
class RunState:
    """A run of one stream in progress, as saved under `run` in its STATE.

    `replication_key` is the mode the run was made for (None: full table); `segments`
    where it is (`SegmentWalker.position`); `version` the table version of a full-table
    pass; `tracker` the bookmark being found by an incremental run (its `run_started` is
    set by the run's first answer).
    """

    replication_key: str | None
    segments: list[Segment] = field(default_factory=list)
    version: int | None = None
    tracker: BookmarkTracker | None = None

    def to_state(self) -> dict[str, Any]:
        saved: dict[str, Any] = {
            "replication_key": self.replication_key,
            "segments": [segment.to_state() for segment in self.segments],
        }
        if self.version is not None:
            saved["version"] = self.version
        if self.tracker is not None:
            saved["tracker"] = self.tracker.to_state()
        return saved

    @classmethod
    def from_state(cls, saved: dict[str, Any]) -> RunState:
        tracker = saved.get("tracker")
        return cls(
            replication_key=saved.get("replication_key"),
            segments=[Segment.from_state(segment) for segment in saved.get("segments", [])],
            version=saved.get("version"),
            tracker=BookmarkTracker.from_state(tracker) if isinstance(tracker, dict) else None,
        )
