"""Segments, conditions and bookmarks: the pure logic of never losing a record."""

import json

from tap_ontraport.paging import (
    PAGE_SIZE,
    BookmarkTracker,
    Segment,
    condition,
    plan_segments,
    split_segment,
)


def test_condition_is_ontraport_json_joined_by_and_only():
    text = condition(("dlm", ">=", 100), ("id", ">", 7))
    assert json.loads(text) == [
        {"field": {"field": "dlm"}, "op": ">=", "value": {"value": 100}},
        "AND",
        {"field": {"field": "id"}, "op": ">", "value": {"value": 7}},
    ]
    assert "OR" not in text


def test_segment_clauses():
    segment = Segment(rk_since=100, rk_before=200, after=5, until=90)
    assert segment.clauses("dlm", "id") == [("dlm", ">=", 100), ("dlm", "<", 200), ("id", ">", 5), ("id", "<=", 90)]
    assert Segment(rk_equal=50).clauses("dlm", "form_id") == [("dlm", "=", 50)]
    assert Segment(rk_since=100).clauses(None, "id") == []  # full table: no replication key


def test_segment_state_round_trip_drops_transient_counts():
    segment = Segment(rk_since=1, after=10, until=20, probed=True, expected=33)
    saved = segment.to_state()
    assert "expected" not in saved
    assert Segment.from_state(saved) == Segment(rk_since=1, after=10, until=20, probed=True)


def test_first_run_reads_from_start_date_or_everything():
    assert plan_segments(bookmark=None, tie_key=None, start=500, lookback=60) == [Segment(rk_since=500)]
    assert plan_segments(bookmark=None, tie_key=None, start=None, lookback=60) == [Segment()]


def test_next_run_rereads_the_bookmark_inclusively_with_lookback():
    assert plan_segments(bookmark=1000, tie_key=None, start=None, lookback=60) == [Segment(rk_since=940)]
    # start_date later than bookmark - lookback wins
    assert plan_segments(bookmark=1000, tie_key=None, start=990, lookback=60) == [Segment(rk_since=990)]


def test_big_tie_group_at_the_bookmark_continues_after_its_last_key():
    segments = plan_segments(bookmark=1000, tie_key=777, start=None, lookback=60)
    assert segments == [
        Segment(rk_since=940, rk_before=1000),
        Segment(rk_equal=1000, after=777),
        Segment(rk_since=1001),
    ]
    # no lookback: the (empty) part below the tie group is not requested
    assert plan_segments(bookmark=1000, tie_key=777, start=None, lookback=0) == segments[1:]


def test_split_covers_the_range_exactly_once():
    segment = Segment(rk_since=5, after=100, until=10_100, probed=True)
    parts = split_segment(segment, 4)
    assert len(parts) == 4
    assert parts[0].after == 100 and parts[-1].until == 10_100
    for left, right in zip(parts, parts[1:]):
        assert left.until == right.after  # (after, until] ranges tile without gap or overlap
    assert all(part.rk_since == 5 and part.probed for part in parts)


def test_split_refuses_tiny_or_open_ranges():
    assert split_segment(Segment(after=0, until=60, probed=True), 4) == [Segment(after=0, until=60, probed=True)]
    assert split_segment(Segment(after=0, until=None, probed=True), 4) == [Segment(after=0, until=None, probed=True)]


def test_bookmark_ignores_records_changed_after_the_run_started():
    tracker = BookmarkTracker(run_started=1000)
    for rk, key in [(10, 1), (999, 2), (1000, 3), (5000, 4), (None, 5)]:
        tracker.see(rk, key)
    assert tracker.newest == 999


def test_bookmark_counts_the_newest_tie_group_and_its_largest_key():
    tracker = BookmarkTracker(run_started=10_000)
    for key in range(1, PAGE_SIZE + 5):
        tracker.see(500, key)
    tracker.see(400, 10_000)
    assert (tracker.newest, tracker.newest_count, tracker.tie_key) == (500, PAGE_SIZE + 4, PAGE_SIZE + 4)
    small = BookmarkTracker(run_started=10_000)
    small.see(500, 3)
    assert small.tie_key is None  # a small group is simply read again


def test_bookmark_never_moves_back_when_a_run_sees_only_older_records():
    tracker = BookmarkTracker(run_started=10_000, newest=800, newest_count=PAGE_SIZE, newest_max_key=42)
    tracker.see(750, 1)  # the lookback re-read
    assert (tracker.newest, tracker.tie_key) == (800, 42)
    tracker.see(800, 90)  # more of the tie group
    assert tracker.tie_key == 90
