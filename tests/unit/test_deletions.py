"""The deletion sweep (tap_ontraport/deletions.py) against a fake fetch: no sockets."""

from __future__ import annotations

import math
import random
from bisect import bisect_right

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tap_ontraport.deletions import (
    LISTING_ALLOWANCE,
    DeletionSweep,
    KeyChunks,
    KnownKeys,
    RangeAnswer,
    SweepProgress,
    decode_keys,
    encode_keys,
)
from tap_ontraport.paging import PAGE_SIZE


class FakeObject:
    """The keys an object has now; answers (count, first 50 keys) of a key range.

    `counted`: how many answers carry a count (None: all); the later ones have none, as
    from an API without `count=true`.
    """

    def __init__(self, present: list[int], counted: int | None = None) -> None:
        self.present = sorted(present)
        self.counted = counted
        self.requests = 0

    def fetch(self, after: int, until: int | None) -> RangeAnswer:
        self.requests += 1
        low = bisect_right(self.present, after)
        high = len(self.present) if until is None else bisect_right(self.present, until)
        count = max(0, high - low) if self.counted is None or self.requests <= self.counted else None
        return RangeAnswer(count, tuple(self.present[low:min(high, low + PAGE_SIZE)]))


def account_keys(n: int, seed: int = 1) -> list[int]:
    """Keys rising with gaps, as Ontraport hands them out (about one in ten skipped)."""
    rng, keys, key = random.Random(seed), [], 1
    for _ in range(n):
        keys.append(key)
        key += 1 if rng.random() < 0.9 else rng.randint(2, 15)
    return keys


def sweep(known: list[int], present: list[int], trusted: bool = True,
          counted: int | None = None) -> tuple[list[int], DeletionSweep, FakeObject]:
    fake = FakeObject(present, counted)
    keys = KnownKeys(known)
    finder = DeletionSweep(keys, SweepProgress.start(keys, trusted), fake.fetch)
    return sorted(finder.run()), finder, fake


# --- encoding ------------------------------------------------------------------------------


def test_encoding_round_trips_and_reads_the_older_text_ranges():
    keys = [1, 2, 3, 7, 10, 11, 500, 100_000]
    assert list(decode_keys(encode_keys(keys))) == keys
    assert list(decode_keys("1-3,7")) == [1, 2, 3, 7]
    assert list(decode_keys("")) == [] and list(decode_keys(None)) == []
    assert list(decode_keys(encode_keys([]))) == []


def test_a_million_keys_with_ten_thousand_gaps_fit_in_64_kb():
    rng = random.Random(7)
    gaps = set(rng.sample(range(1, 1_010_000), 10_000))
    keys = [k for k in range(1, 1_010_001) if k not in gaps]
    text = encode_keys(keys)
    assert len(text.encode()) <= 64 * 1024
    assert list(decode_keys(text)) == keys


@pytest.mark.parametrize("damaged", ["z1:not base64!", "z1:" + "QUJD", "1-x,7"])
def test_a_damaged_key_set_is_a_clear_error(damaged):
    with pytest.raises(ValueError, match="known keys is damaged"):
        decode_keys(damaged)


@given(st.sets(st.integers(min_value=1, max_value=10**12), max_size=300))
def test_encoding_round_trips_any_set(keys):
    assert list(decode_keys(encode_keys(keys))) == sorted(keys)


# --- the sweep -----------------------------------------------------------------------------


def test_nothing_deleted_costs_one_request():
    keys = account_keys(100_000)
    found, _, fake = sweep(keys, keys)
    assert found == [] and fake.requests == 1


def test_scattered_deletions_cost_about_d_log_n_over_50d():
    keys = account_keys(100_000)
    gone = random.Random(3).sample(keys, 100)
    found, _, fake = sweep(keys, sorted(set(keys) - set(gone)))
    assert found == sorted(gone)
    d, n = 100, len(keys)
    assert fake.requests <= d * math.log2(n / (PAGE_SIZE * d)) + 2 * d  # 632; a listing is 1,998


def test_a_block_of_deletions_costs_a_few_requests():
    keys = account_keys(100_000)
    gone = keys[40_000:40_500]
    found, _, fake = sweep(keys, keys[:40_000] + keys[40_500:])
    assert found == gone and fake.requests <= 30


@pytest.mark.parametrize("deleted", [1_000, 10_000, 50_000])
def test_dense_deletions_never_cost_more_than_a_listing_plus_5_percent(deleted):
    keys = account_keys(100_000)
    gone = set(random.Random(deleted).sample(keys, deleted))
    present = [k for k in keys if k not in gone]
    found, _, fake = sweep(keys, present)
    assert found == sorted(gone)
    assert fake.requests <= LISTING_ALLOWANCE * math.ceil(len(present) / PAGE_SIZE)


def test_a_first_sweep_lists_everything_when_the_counts_disagree():
    keys = account_keys(2_000)
    # the run emitted only the newest records (a start_date): the older ones are unknown
    found, finder, fake = sweep(keys[-300:], keys, trusted=False)
    assert found == []
    assert sorted(finder.progress.found.keys) == keys[:-300]
    assert fake.requests == math.ceil(len(keys) / PAGE_SIZE)


def test_keys_nobody_knew_make_a_trusted_range_be_listed():
    """A range counting more keys than we know is listed (an unknown key beside a deleted one
    in the same range would cancel out: that is why the sweep relies on keys never reused)."""
    keys = account_keys(1_000)
    unknown = {keys[900], keys[901]}
    known = [k for k in keys if k not in unknown]
    gone = [known[60]]
    found, finder, _ = sweep(known, [k for k in keys if k not in gone])
    assert found == sorted(gone)
    assert set(finder.progress.found.keys) == unknown


@pytest.mark.parametrize("counted", [None, 0], ids=["counts", "no_counts"])
def test_progress_survives_the_state_at_every_step(counted):
    """Stopped after any request and resumed from its saved progress: the same deletions."""
    keys = account_keys(5_000)
    gone = set(random.Random(5).sample(keys, 40)) | set(keys[2_000:2_100])
    fake = FakeObject([k for k in keys if k not in gone], counted)
    known = KnownKeys(keys)
    progress = SweepProgress.start(known, trusted=True)
    found: list[int] = []
    while not progress.done:
        found += DeletionSweep(known, progress, fake.fetch).step()
        progress = SweepProgress.from_state(progress.to_state())
    assert sorted(found) == sorted(gone)
    assert sorted(progress.deleted.keys) == sorted(gone)
    assert progress.uncounted == (fake.requests if counted == 0 else 0)


def test_key_chunks_merge_so_the_state_stays_small():
    chunks = KeyChunks()
    for start in range(0, 5_000, 50):
        chunks.add(list(range(start, start + 50, 2)))
    assert len(chunks.chunks) <= 33
    assert sorted(KeyChunks.from_state(chunks.chunks).keys) == sorted(chunks.keys)


deletion_patterns = st.tuples(
    st.integers(min_value=0, max_value=3_000),  # how many keys
    st.integers(min_value=0, max_value=2**31),  # the seed of gaps and deletions
    st.sampled_from(["scattered", "block", "blocks", "dense", "all", "none"]),
    st.floats(min_value=0.0, max_value=1.0),  # share deleted
)


def deletions_for(keys: list[int], rng: random.Random, kind: str, share: float) -> set[int]:
    if kind == "none" or not keys:
        return set()
    if kind == "all":
        return set(keys)
    if kind == "block":
        size = int(len(keys) * share)
        start = rng.randrange(0, len(keys) - size + 1)
        return set(keys[start:start + size])
    if kind == "blocks":
        gone: set[int] = set()
        for _ in range(rng.randint(1, 6)):
            start = rng.randrange(len(keys))
            gone.update(keys[start:start + rng.randint(1, 200)])
        return gone
    count = int(len(keys) * (share if kind == "dense" else share / 20))
    return set(rng.sample(keys, count))


@settings(max_examples=150, deadline=None)
@given(deletion_patterns, st.booleans(), st.integers(min_value=0, max_value=120))
def test_the_deletions_found_are_exactly_the_deletions_made(pattern, trusted, inserted):
    size, seed, kind, share = pattern
    rng = random.Random(seed)
    keys = account_keys(size, seed)
    gone = deletions_for(keys, rng, kind, share)
    highest = keys[-1] if keys else 0
    new = [highest + 1 + i for i in range(inserted)]  # created after the walk: above every known key
    present = [k for k in keys if k not in gone] + new
    found, finder, fake = sweep(keys, present, trusted)
    assert found == sorted(gone)
    if trusted:
        listing = math.ceil(len([k for k in keys if k not in gone]) / PAGE_SIZE)
        assert fake.requests <= max(1, math.floor(LISTING_ALLOWANCE * max(1, listing)))


# --- an API that answers no count ------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(deletion_patterns, st.booleans(), st.integers(min_value=0, max_value=120), st.sampled_from([0, 1, 3]))
def test_without_counts_the_deletions_found_are_still_exactly_the_deletions_made(pattern, trusted, inserted, counted):
    """No count from the start, or none after the first few answers: the ranges are listed."""
    size, seed, kind, share = pattern
    keys = account_keys(size, seed)
    gone = deletions_for(keys, random.Random(seed), kind, share)
    new = [(keys[-1] if keys else 0) + 1 + i for i in range(inserted)]
    found, finder, fake = sweep(keys, [k for k in keys if k not in gone] + new, trusted, counted=counted)
    assert found == sorted(gone)
    assert finder.progress.uncounted == fake.requests - min(counted, fake.requests)
    if counted == 0 and keys:  # a plain listing of the known range, page by page
        assert fake.requests <= len([k for k in keys if k not in gone]) // PAGE_SIZE + 1


def test_full_table_streams_takes_only_append_only_streams():
    from tap_ontraport.settings import APPEND_ONLY_STREAMS, settings_problems

    assert APPEND_ONLY_STREAMS == ("purchase_history_logs", "tag_subscribers", "webhook_logs")
    base = {"app_id": "a", "api_key": "b"}
    assert settings_problems({**base, "full_table_streams": ["tag_subscribers"]}) == []
    assert settings_problems({**base, "full_table_streams": "tag_subscribers,webhook_logs"}) == []
    (problem,) = settings_problems({**base, "full_table_streams": ["contacts"]})
    assert "contacts" in problem and "tag_subscribers" in problem


def test_damaged_state_says_how_to_recover():
    from tap_ontraport.deletions import known_keys

    with pytest.raises(ValueError, match="remove `known_keys` and `sweep` from this stream's state"):
        known_keys({"known_keys": "z1:QUJD"})
    assert list(known_keys({"known_keys": "1-3"}).slice(0, None)) == [1, 2, 3]
