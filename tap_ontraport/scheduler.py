"""Streams overlap: while one stream is emitted, idle request slots read ahead the next ones.

The SDK syncs streams one after another, and a stream too small to be cut into key ranges
is read one page at a time: with a few hundred milliseconds per answer, most of the rate
budget would idle. So a run-wide `Prefetcher` walks the streams that come next in the
background, exactly as their own walk will (same first segments from their input state,
same follow-up pages from each answer: `walker.SegmentCursor`), and keeps the
answers in memory, at most `MAX_BUFFERED_PAGES` at a time.

Nothing of a stream is emitted or saved before its turn: when the SDK reaches it, its walk
asks for the same pages in the same way and finds them here (`take`), so its RECORDs,
STATE and bookmarks are written exactly as without read-ahead. A kill loses only the
buffered answers, which were never checkpointed: the next run reads them again.
"""

from __future__ import annotations

import heapq
import json
import logging
import threading
import typing as t
from concurrent.futures import Future
from dataclasses import dataclass, field

from tap_ontraport.paging import Segment
from tap_ontraport.walker import PageToken, SegmentCursor

if t.TYPE_CHECKING:
    from tap_ontraport.client import ApiResponse

logger = logging.getLogger("tap-ontraport")

#: Answers read ahead and not yet taken, at most (about 50 records each).
MAX_BUFFERED_PAGES = 120


def token_key(token: PageToken) -> str:
    """A page request's identity: its segment's saved form, probe or not, listed fields."""
    return json.dumps([token.segment.to_state(), token.probe, token.list_fields], sort_keys=True)


class ReadAheadStream(t.Protocol):
    """What the read-ahead needs of a stream (streams.OntraportStream provides it)."""

    name: str

    @property
    def key(self) -> str: ...

    @property
    def workers(self) -> int: ...

    def planned_segments(self) -> list[Segment]: ...

    def fetch_page(self, token: PageToken, context: dict | None = None, *,
                   urgency: float | None = None) -> ApiResponse: ...


@dataclass
class _StreamAhead:
    """What is read ahead for one stream: answers by page, and whether its turn came."""

    order: int
    stream: ReadAheadStream
    pages: dict[str, Future] = field(default_factory=dict)
    claimed: bool = False
    failed: bool = False


@dataclass(order=True)
class _Job:
    order: int  # the stream's place in the sync: the earliest stream is read ahead first
    sequence: int
    key: str = field(compare=False)
    token: PageToken = field(compare=False)
    cursor: SegmentCursor = field(compare=False)


class Prefetcher:
    """Reads ahead the streams of one run, in the order the SDK will sync them."""

    def __init__(self, streams: t.Sequence[ReadAheadStream], workers: int) -> None:
        self._ahead = {stream.name: _StreamAhead(n, stream) for n, stream in enumerate(streams)}
        self._workers = max(1, workers)
        self._cond = threading.Condition()
        self._jobs: list[_Job] = []
        self._sequence = 0
        self._buffered = 0  # answers fetched or being fetched, not yet taken
        self._started = False
        self._stopped = False

    # --- the streams' side ---

    def start(self) -> None:
        """Plan every stream's first pages and start the reading threads (once)."""
        with self._cond:
            if self._started:
                return
            self._started = True
        for ahead in self._ahead.values():
            for segment in ahead.stream.planned_segments():
                self._submit_segment(ahead, segment)
        for n in range(self._workers):
            threading.Thread(target=self._work, name=f"ontraport-ahead-{n}", daemon=True).start()

    def claim(self, name: str) -> None:
        """The stream's turn: nothing more of it is read ahead; its walk takes over."""
        with self._cond:
            ahead = self._ahead.get(name)
            if ahead is not None:
                ahead.claimed = True
                self._jobs = [job for job in self._jobs if job.order != ahead.order]
                heapq.heapify(self._jobs)

    def take(self, name: str, token: PageToken) -> ApiResponse | None:
        """The answer read ahead for this page (waiting for it if it is on its way), or None."""
        with self._cond:
            ahead = self._ahead.get(name)
            future = ahead.pages.pop(token_key(token), None) if ahead is not None else None
        if future is None:
            return None
        try:
            return future.result()
        finally:
            self._release(1)

    def holds(self, name: str, token: PageToken) -> bool:
        """Whether the answer to this page is read ahead (or on its way)."""
        with self._cond:
            ahead = self._ahead.get(name)
            return ahead is not None and token_key(token) in ahead.pages

    def finish(self, name: str) -> None:
        """The stream is done: drop whatever of it was read ahead and not asked for."""
        with self._cond:
            ahead = self._ahead.get(name)
            leftover = list(ahead.pages.values()) if ahead is not None else []
            if ahead is not None:
                ahead.pages.clear()
        for future in leftover:
            future.add_done_callback(lambda _: self._release(1))

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    # --- reading ahead ---

    def _release(self, count: int) -> None:
        with self._cond:
            self._buffered -= count
            self._cond.notify_all()

    def _submit_segment(self, ahead: _StreamAhead, segment: Segment) -> None:
        if segment.is_empty:
            return
        cursor = SegmentCursor(segment, ahead.stream.key)
        self._submit(ahead, cursor.token, cursor)

    def _submit(self, ahead: _StreamAhead, token: PageToken, cursor: SegmentCursor) -> None:
        with self._cond:
            if ahead.claimed or ahead.failed:
                return
            self._sequence += 1
            heapq.heappush(self._jobs, _Job(ahead.order, self._sequence, token_key(token), token, cursor))
            self._cond.notify_all()

    def _next_job(self) -> tuple[_StreamAhead, _Job, Future] | None:
        with self._cond:
            while not self._stopped and (not self._jobs or self._buffered >= MAX_BUFFERED_PAGES):
                self._cond.wait()
            if self._stopped:
                return None
            job = heapq.heappop(self._jobs)
            ahead = next(a for a in self._ahead.values() if a.order == job.order)
            future: Future = Future()
            ahead.pages[job.key] = future
            self._buffered += 1
            return ahead, job, future

    def _work(self) -> None:
        while (picked := self._next_job()) is not None:
            ahead, job, future = picked
            try:
                # After every page the streams being written ask for; earlier streams first.
                response = ahead.stream.fetch_page(job.token, urgency=-1.0 - job.order)
            except BaseException as exc:  # the stream's walk meets it on its turn
                ahead.failed = True
                future.set_exception(exc)
                continue
            future.set_result(response)
            self._follow(ahead, job, response)

    def _follow(self, ahead: _StreamAhead, job: _Job, response: ApiResponse) -> None:
        """Queue what the stream's walk will ask for after this answer."""
        cursor = job.cursor
        cursor.advance(response, ahead.stream.workers)
        if not cursor.finished:
            self._submit(ahead, cursor.token, cursor)
        else:
            for segment in cursor.follow_ups:
                self._submit_segment(ahead, segment)
