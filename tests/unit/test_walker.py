"""The segment walker against a fake `fetch`: every key once, cursors that resume, run state."""

import math
import threading

import pytest

from tap_ontraport.client import ApiResponse
from tap_ontraport.paging import PAGE_SIZE, BookmarkTracker, Segment
from tap_ontraport.walker import (
    MAX_EXTRA_SHARE,
    MIN_PAGES_PER_RANGE,
    MIN_PAGES_PER_SPLIT,
    PageToken,
    RunState,
    SegmentWalker,
)


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
    first_ranges = [t.segment for t in table.asked[1:5]]
    assert [r.after for r in first_ranges] != [0] * 4 and len({r.until for r in first_ranges}) == 4, (
        "the rest of the probed segment is read as four key ranges"
    )


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


class UnevenTable(FakeTable):
    """Keys dense at the top of the key space: the last key range has far more pages."""

    def __init__(self):
        super().__init__(list(range(1, 20_000, 40)) + list(range(20_000, 30_000)))


def cursor_ranges(walker: SegmentWalker) -> list[tuple[int, int | None]]:
    return sorted((s.after, s.until) for s in walker.position())


def test_idle_slots_at_the_end_of_a_walk_take_parts_of_the_ranges_still_running():
    table = UnevenTable()
    seen, in_flight = [], []
    with SegmentWalker([Segment()], table.fetch, key="id", workers=4) as walker:
        while not walker.done:
            page = walker.next_page()
            seen.extend(int(row["id"]) for row in page.rows)
            walker.commit(page)
            in_flight.append(len(walker.cursors))
    assert sorted(seen) == table.keys, "every key once, none twice"
    pages = sum(1 for t in table.asked if not t.probe)
    assert pages <= len(table.keys) / PAGE_SIZE + 2 * 4 + 8, "a cut costs at most one part-filled page"
    busy_until = max(n for n, width in enumerate(in_flight) if width == 4)
    assert busy_until > 0.8 * len(in_flight), "all four slots stay busy until the last few pages"


def test_without_splitting_the_same_walk_ends_on_one_range():
    table = UnevenTable()
    in_flight = []
    with SegmentWalker([Segment()], table.fetch, key="id", workers=4, may_split=lambda token: False) as walker:
        while not walker.done:
            page = walker.next_page()
            walker.commit(page)
            in_flight.append(len(walker.cursors))
    assert in_flight.count(1) > 0.3 * len(in_flight), "the uneven table is a real test of the tail"


def covering(ranges: list[tuple[int, int | None]], key: int) -> int:
    return sum(1 for low, high in ranges if low < key and (high is None or key <= high))


def test_position_covers_each_key_not_yet_emitted_exactly_once_while_ranges_are_cut():
    table = UnevenTable()
    seen: set[int] = set()
    with SegmentWalker([Segment()], table.fetch, key="id", workers=4) as walker:
        while not walker.done:
            page = walker.next_page()
            seen.update(int(row["id"]) for row in page.rows)
            walker.commit(page)
            ranges = cursor_ranges(walker)
            assert all(covering(ranges, k) == (0 if k in seen else 1) for k in table.keys[::7]), ranges


def test_a_walk_killed_after_cuts_resumes_without_losing_a_key():
    table = UnevenTable()
    for stop_after in (30, 45, 60):
        first = SegmentWalker([Segment()], table.fetch, key="id", workers=4)
        seen = walk_all(first, stop_after=stop_after)
        saved = [segment.to_state() for segment in first.position()]
        resumed = SegmentWalker([Segment.from_state(s) for s in saved], table.fetch, key="id", workers=4)
        seen += walk_all(resumed)
        assert set(seen) == set(table.keys)


def test_small_rests_are_not_cut():
    last = PAGE_SIZE * (2 * MIN_PAGES_PER_SPLIT - 1)
    table = FakeTable(range(1, last + 1))
    walk_all(SegmentWalker([Segment(until=last, probed=True)], table.fetch, key="id", workers=4))
    assert {t.segment.until for t in table.asked} == {last}, "fewer than two parts' worth of pages stays whole"
    assert len(table.asked) == 2 * MIN_PAGES_PER_SPLIT - 1, "one request per page, none extra"


@pytest.mark.parametrize("pages", [29, 60, 200, 600])
def test_cuts_cost_at_most_one_request_in_twenty(pages):
    # one range of a probed segment, eight slots: seven idle from the first answer on
    last = PAGE_SIZE * pages
    table = FakeTable(range(1, last + 1))
    seen = walk_all(SegmentWalker([Segment(until=last, probed=True)], table.fetch, key="id", workers=8))
    assert sorted(seen) == table.keys
    assert len({t.segment.until for t in table.asked}) > 1, "idle slots took parts of the rest"
    assert len(table.asked) <= pages + math.floor(pages * MAX_EXTRA_SHARE), "extra requests within 5% of the pages"
