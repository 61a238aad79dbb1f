"""The segment walker against a fake `fetch`: every key once, cursors that resume, run state."""

import threading

import pytest

from tap_ontraport.client import ApiResponse
from tap_ontraport.paging import PAGE_SIZE, BookmarkTracker, Segment
from tap_ontraport.walker import MIN_PAGES_PER_RANGE, PageToken, RunState, SegmentWalker


class FakeTable:
    """Answers page requests from a list of keys as the API does (sort by key, 50 a page)."""

    def __init__(self, keys, *, with_count=True):
        self.keys = sorted(keys)
        self.with_count = with_count
        self.asked: list[PageToken] = []
        self._lock = threading.Lock()

    def fetch(self, token: PageToken) -> ApiResponse:
        with self._lock:
            self.asked.append(token)
        segment = token.segment
        matching = [k for k in self.keys if k > segment.after and (segment.until is None or k <= segment.until)]
        ordered = sorted(matching, reverse=token.probe)
        envelope = {"count": str(len(matching))} if (token.probe or token.count) and self.with_count else {}
        return ApiResponse([{"id": str(k)} for k in ordered[:PAGE_SIZE]], envelope, 200, {})


def walk_all(walker: SegmentWalker, stop_after: int | None = None) -> list[int]:
    """The keys of every page, committing each page as the stream does."""
    seen = []
    pages = 0
    with walker:
        while not walker.done and (stop_after is None or pages < stop_after):
            page = walker.next_page()
            seen.extend(int(row["id"]) for row in page.rows)
            walker.commit(page)
            pages += 1
    return seen


@pytest.mark.parametrize("size", [0, 1, PAGE_SIZE, PAGE_SIZE + 1, 3 * PAGE_SIZE + 7])
def test_every_key_is_read_exactly_once(size):
    table = FakeTable(range(1, size + 1))
    seen = walk_all(SegmentWalker([Segment()], table.fetch, key="id", workers=4))
    assert sorted(seen) == list(range(1, size + 1))
    assert len(seen) == len(set(seen))


def test_a_large_segment_is_cut_into_key_ranges_walked_in_parallel():
    size = PAGE_SIZE * MIN_PAGES_PER_RANGE * 4 + PAGE_SIZE
    table = FakeTable(range(1, size + 1))
    seen = walk_all(SegmentWalker([Segment()], table.fetch, key="id", workers=4))
    assert sorted(seen) == list(range(1, size + 1))
    range_ends = {t.segment.until for t in table.asked if not t.probe}
    assert len(range_ends) == 4, "the rest of the probed segment is read as four key ranges"


def test_gaps_in_the_keys_and_a_missing_count_lose_nothing():
    keys = [k for k in range(1, 2000) if k % 7 and k % 11]
    table = FakeTable(keys, with_count=False)
    seen = walk_all(SegmentWalker([Segment()], table.fetch, key="id", workers=3))
    assert sorted(seen) == keys


def test_a_walk_stopped_midway_resumes_from_its_position_without_losing_a_key():
    keys = list(range(1, PAGE_SIZE * MIN_PAGES_PER_RANGE * 3 + 20))
    table = FakeTable(keys)
    first = SegmentWalker([Segment()], table.fetch, key="id", workers=3)
    seen = walk_all(first, stop_after=9)
    saved = [segment.to_state() for segment in first.position()]
    assert saved, "a stopped walk has something left to read"
    resumed = SegmentWalker([Segment.from_state(s) for s in saved], table.fetch, key="id", workers=3)
    seen += walk_all(resumed)
    assert set(seen) == set(keys)


def test_position_moves_only_on_commit():
    table = FakeTable(range(1, 3 * PAGE_SIZE + 1))
    with SegmentWalker([Segment(probed=True)], table.fetch, key="id", workers=1) as walker:
        page = walker.next_page()
        assert walker.position() == [Segment(probed=True)], "not yet committed: a resume reads the page again"
        walker.commit(page)
        assert walker.position() == [Segment(after=PAGE_SIZE, probed=True)]


def test_a_fetch_error_reaches_the_caller():
    def failing(token):
        raise ConnectionError("boom")

    with SegmentWalker([Segment()], failing, key="id", workers=2) as walker, pytest.raises(ConnectionError):
        walker.next_page()


def test_empty_segments_are_never_asked_for():
    table = FakeTable(range(1, 10))
    walk_all(SegmentWalker([Segment(after=5, until=5), Segment(after=3, probed=True)], table.fetch, key="id",
                           workers=2))
    assert [t.segment.after for t in table.asked] == [3]


def test_run_state_round_trips_through_state():
    run = RunState("dlm", [Segment(rk_since=10), Segment(rk_equal=20, after=7, probed=True)],
                   tracker=BookmarkTracker(newest=5, newest_count=1, newest_max_key=3))
    saved = run.to_state()
    assert "run_started" not in saved["tracker"], "a run that had no answer yet has no start"
    assert RunState.from_state(saved) == run
    run.tracker.run_started = 99  # type: ignore[union-attr]
    assert RunState.from_state(run.to_state()).tracker.run_started == 99  # type: ignore[union-attr]
    full = RunState(None, [Segment()], version=1234)
    assert full.to_state() == {"replication_key": None, "segments": [{"after": 0, "probed": False}], "version": 1234}
    assert RunState.from_state(full.to_state()) == full
