"""Finding deleted records at a cost that follows the deletions, not the size of the object.

Ontraport deletes for good and keeps no feed of deletions; what it does give is a count
of the records matching a condition (`count=true` on a collection read). Two facts make
counts enough:

* keys are never reused, and new records get keys above every existing one;
* so the records of a key range `after < key <= until` are a subset of the keys we
  already know there (those every earlier run saw, plus those this run emitted).

A range whose count equals the number of known keys in it therefore lost nothing. The
sweep counts the range of all known keys; where records are missing it splits the range
and counts the halves (one request: the right half's count is the parent's minus the
left's), until each missing key is pinned down. Every request is also a page of the
range (`listFields=key`, `sort=key`, 50 keys from `after` up), so a range small enough is
listed outright, and a range where deletions are dense is simply listed page by page.

Cost: d scattered deletions among n keys take about d * log2(n / 50d) + d requests, a
block of deletions a few. A split can cost at most one request more than listing the
same range would, so the sweep splits only while the requests spent plus those a
plain listing of everything still open would take stay within `LISTING_ALLOWANCE` of
listing the whole object: it never costs more than listing every key (+5%).

The first sweep of a stream (no known keys saved yet) has nothing to trust: any range
whose count disagrees with the keys this run emitted is listed in full. An API that
answers without a count (it added `count=true` in 2025) leaves only listing: the range is
then listed page by page, as costly as listing every key, and the stream warns once with
the number of such answers.

The known keys are saved in the stream's state in a compact encoding (`encode_keys`):
run lengths of consecutive keys, as varints, compressed and base64-encoded. They are
rewritten only when they change (when a sweep ends); the sweep's own progress
(`SweepProgress`) is saved after every request so a killed sweep resumes where it
stopped.
"""

from __future__ import annotations

import base64
import math
import zlib
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tap_ontraport.paging import PAGE_SIZE

#: A sweep may cost at most this much of a plain listing of every key.
LISTING_ALLOWANCE = 1.05
#: Marks the compact encoding; text without it is the older "1-3,7" ranges.
ENCODING_PREFIX = "z1:"
#: Chunks of found keys kept apart in a sweep's progress before they are merged into one.
MAX_CHUNKS = 32


# --- the compact encoding of a set of keys ---------------------------------------------------


def _runs(keys: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted distinct keys as (first, length) runs of consecutive keys."""
    runs: list[tuple[int, int]] = []
    for key in sorted(set(keys)):
        if runs and key == runs[-1][0] + runs[-1][1]:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((key, 1))
    return runs


def _varint(number: int, out: bytearray) -> None:
    while number >= 0x80:
        out.append((number & 0x7F) | 0x80)
        number >>= 7
    out.append(number)


def _read_varints(data: bytes) -> list[int]:
    numbers, value, shift = [], 0, 0
    for byte in data:
        value |= (byte & 0x7F) << shift
        if byte & 0x80:
            shift += 7
            continue
        numbers.append(value)
        value, shift = 0, 0
    if shift:
        raise ValueError("the key set ends inside a number")
    return numbers


def encode_keys(keys: Iterable[int]) -> str:
    """A set of positive keys as text for the state: 'z1:' + base64(zlib(varint runs)).

    Each run of consecutive keys is two varints: its distance from the end of the
    previous run, and its length. 1,000,000 keys with 10,000 gaps take about 25 KB.
    """
    out = bytearray()
    end = 0
    for first, length in _runs(keys):
        _varint(first - end, out)
        _varint(length, out)
        end = first + length
    return ENCODING_PREFIX + base64.b64encode(zlib.compress(bytes(out), 9)).decode("ascii")


def decode_keys(text: str | None) -> array:
    """The sorted keys `encode_keys` wrote, or the older text ranges ('1-3,7')."""
    keys = array("q")
    if not text:
        return keys
    if not text.startswith(ENCODING_PREFIX):
        return _decode_text_ranges(text)
    try:
        numbers = _read_varints(zlib.decompress(base64.b64decode(text[len(ENCODING_PREFIX):], validate=True)))
    except (ValueError, zlib.error) as exc:
        raise ValueError(f"the saved set of known keys is damaged ({exc})") from None
    if len(numbers) % 2:
        raise ValueError("the saved set of known keys is damaged (a run without its length)")
    end = 0
    for gap, length in zip(numbers[::2], numbers[1::2]):
        first = end + gap
        keys.extend(range(first, first + length))
        end = first + length
    return keys


def _decode_text_ranges(text: str) -> array:
    keys: set[int] = set()
    for part in filter(None, text.split(",")):
        low, _, high = part.partition("-")
        try:
            keys.update(range(int(low), int(high or low) + 1))
        except ValueError:
            raise ValueError(f"the saved set of known keys is damaged (unreadable range {part[:40]!r})") from None
    return array("q", sorted(keys))


# --- the known keys ------------------------------------------------------------------------


class KnownKeys:
    """A sorted set of keys, counted and sliced by key range (`after < key <= until`)."""

    def __init__(self, keys: Iterable[int] = ()) -> None:
        self._keys = array("q", sorted(set(keys)))

    @classmethod
    def from_sorted(cls, keys: array) -> KnownKeys:
        known = cls()
        known._keys = keys
        return known

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def highest(self) -> int | None:
        return self._keys[-1] if self._keys else None

    def _bounds(self, after: int, until: int | None) -> tuple[int, int]:
        high = len(self._keys) if until is None else bisect_right(self._keys, until)
        return bisect_right(self._keys, after), high

    def count(self, after: int, until: int | None) -> int:
        low, high = self._bounds(after, until)
        return max(0, high - low)

    def slice(self, after: int, until: int | None) -> Sequence[int]:
        low, high = self._bounds(after, until)
        return self._keys[low:high]

    def nth_after(self, after: int, n: int) -> int:
        """The n-th known key (1-based) above `after`."""
        return self._keys[bisect_right(self._keys, after) + n - 1]

    def __contains__(self, key: int) -> bool:
        position = bisect_left(self._keys, key)
        return position < len(self._keys) and self._keys[position] == key

    def updated(self, removed: Iterable[int], added: Iterable[int]) -> KnownKeys:
        gone = set(removed)
        keys = {key for key in self._keys if key not in gone}
        keys.update(added)
        return KnownKeys(keys)

    def encode(self) -> str:
        return encode_keys(self._keys)


# --- the sweep -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RangeAnswer:
    """What one request says about a key range: its count, and its first keys (ascending)."""

    count: int | None  # None: the API answered no count (only the keys can tell)
    keys: tuple[int, ...]


#: fetch(after, until) -> the count of `after < key <= until` (None: no upper bound) and
#: its first PAGE_SIZE keys in ascending order (the count None if the API gave none).
Fetch = Callable[[int, "int | None"], RangeAnswer]


@dataclass
class KeyRange:
    """Keys `after < key <= until` still to check; `present`: how many exist, when known."""

    after: int
    until: int | None
    present: int | None = None
    must_list: bool = False  # its count cannot be trusted: read every key

    def to_state(self) -> list:
        return [self.after, self.until, self.present, int(self.must_list)]

    @classmethod
    def from_state(cls, saved: list) -> KeyRange:
        after, until, present, must_list = saved
        return cls(after, until, present, bool(must_list))


@dataclass
class KeyChunks:
    """A growing set of keys saved as a few encoded chunks, so a page never re-encodes all."""

    chunks: list[str] = field(default_factory=list)
    keys: list[int] = field(default_factory=list)

    def add(self, keys: Sequence[int]) -> None:
        if not keys:
            return
        self.keys.extend(keys)
        if len(self.chunks) >= MAX_CHUNKS:
            self.chunks = [encode_keys(self.keys)]
        else:
            self.chunks.append(encode_keys(keys))

    @classmethod
    def from_state(cls, chunks: list[str]) -> KeyChunks:
        keys: list[int] = []
        for chunk in chunks:
            keys.extend(decode_keys(chunk))
        return cls(list(chunks), keys)


@dataclass
class SweepProgress:
    """Where a sweep stands: saved in the stream's state after every request."""

    pending: list[KeyRange]
    trusted: bool  # an earlier sweep completed: counts of ranges can be trusted
    requests: int = 0
    budget: int | None = None  # set by the first answer: a listing's cost, plus the allowance
    lost: int | None = None  # known keys missing overall, by the first answer's count
    deleted: KeyChunks = field(default_factory=KeyChunks)
    found: KeyChunks = field(default_factory=KeyChunks)  # present keys no run knew
    uncounted: int = 0  # answers without a count: their ranges were listed instead

    @classmethod
    def start(cls, known: KnownKeys, trusted: bool, present: int | None = None,
              learn_above: bool = False) -> SweepProgress:
        """A sweep of every known key; `present`: their count, when a request already told.

        `learn_above`: also list the keys above the highest known one (new records this
        run emitted but could not hand over, because it resumed an interrupted walk).
        """
        if not len(known):
            # Nothing known: a first sweep lists the whole object, a later one has nothing to check.
            return cls(pending=[] if trusted else [KeyRange(0, None, must_list=True)], trusted=trusted)
        highest = known.highest
        assert highest is not None  # known is not empty
        pending = [KeyRange(highest, None, must_list=True)] if learn_above else []
        pending.append(KeyRange(0, highest, present))
        return cls(pending=pending, trusted=trusted)

    @property
    def done(self) -> bool:
        return not self.pending

    def to_state(self) -> dict[str, Any]:
        return {
            "pending": [item.to_state() for item in self.pending],
            "trusted": self.trusted,
            "requests": self.requests,
            "budget": self.budget,
            "lost": self.lost,
            "deleted": self.deleted.chunks,
            "found": self.found.chunks,
            "uncounted": self.uncounted,
        }

    @classmethod
    def from_state(cls, saved: dict[str, Any]) -> SweepProgress:
        return cls(
            pending=[KeyRange.from_state(item) for item in saved["pending"]],
            trusted=bool(saved["trusted"]),
            requests=int(saved.get("requests", 0)),
            budget=saved.get("budget"),
            lost=saved.get("lost"),
            deleted=KeyChunks.from_state(saved.get("deleted", [])),
            found=KeyChunks.from_state(saved.get("found", [])),
            uncounted=int(saved.get("uncounted", 0)),
        )


def pages(count: int) -> int:
    return math.ceil(max(count, 0) / PAGE_SIZE)


def scattered_cost(known: int, missing: int) -> float:
    """Requests that splitting is expected to take for `missing` keys scattered among `known`."""
    depth = math.log2(max(known / (PAGE_SIZE * missing), 1.0))
    return missing * depth + missing


class DeletionSweep:
    """Finds which known keys are gone, one request per `step()`, resumable at each step."""

    def __init__(self, known: KnownKeys, progress: SweepProgress, fetch: Fetch) -> None:
        self.known = known
        self.progress = progress
        self.fetch = fetch

    def run(self) -> list[int]:
        """Every deleted key (tests and tools; the stream steps itself to checkpoint)."""
        deleted: list[int] = []
        while not self.progress.done:
            deleted.extend(self.step())
        return deleted

    def step(self) -> list[int]:
        """Settle the next open range: with one request, or none when its count settles it.

        Returns the keys found deleted by this step.
        """
        progress = self.progress
        while progress.pending:
            item = progress.pending.pop()
            known_here = self.known.count(item.after, item.until)
            settled = self._settle_without_request(item, known_here)
            if settled is not None:
                progress.deleted.add(settled)
                if settled:
                    return list(settled)
                continue
            return self._ask(item, known_here)
        return []

    def _settle_without_request(self, item: KeyRange, known_here: int) -> Sequence[int] | None:
        """The deleted keys of a range its count alone settles, or None if it needs a request."""
        if item.present is None:
            return None
        if item.present == 0:
            return self.known.slice(item.after, item.until)  # every known key of it is gone
        if item.must_list:
            return None
        if item.present == known_here:
            return ()  # nothing lost
        if item.present > known_here:
            item.must_list = True  # keys we never saw: the counts can't be trusted here
        return None

    def _ask(self, item: KeyRange, known_here: int) -> list[int]:
        until = self._split_point(item, known_here)
        answer = self.fetch(item.after, until)
        self.progress.requests += 1
        if answer.count is None:
            return self._list_page(item, until, answer.keys)
        if self.progress.budget is None:
            self.progress.budget = math.floor(LISTING_ALLOWANCE * max(1, pages(answer.count)))
            self.progress.lost = known_here - answer.count
        keys = sorted(k for k in answer.keys if k > item.after and (until is None or k <= until))
        listed_all = answer.count <= len(keys)
        if not listed_all and not keys:
            raise ValueError(f"a count of {answer.count} came with no keys for keys above {item.after}")
        covered = until if listed_all else keys[-1]
        # A first sweep trusts a count only where it matches the keys this run emitted.
        must_list = item.must_list or (not self.progress.trusted and answer.count != known_here)
        if until is not None and until != item.until:  # a split: the right part's count follows
            right = None if item.present is None else item.present - answer.count
            self._push(KeyRange(until, item.until, right, must_list))
        if not listed_all:
            self._push(KeyRange(keys[-1], until, answer.count - len(keys), must_list))
        return self._compare(item.after, covered, keys)

    def _list_page(self, item: KeyRange, until: int | None, page: tuple[int, ...]) -> list[int]:
        """An answer without a count: a page of the range's keys; the rest is listed on."""
        self.progress.uncounted += 1
        if until is not None and until != item.until:  # split on an earlier count: list the right part too
            self._push(KeyRange(until, item.until, None, must_list=True))
        keys = sorted(k for k in page if k > item.after and (until is None or k <= until))
        if len(page) < PAGE_SIZE:  # a short page: the range's last
            return self._compare(item.after, until, keys)
        if not keys:
            raise ValueError(f"a page of {len(page)} keys held none above {item.after}")
        self._push(KeyRange(keys[-1], until, None, must_list=True))
        return self._compare(item.after, keys[-1], keys)

    def _push(self, item: KeyRange) -> None:
        if item.present is not None and item.present < 0:
            item.present, item.must_list = None, True
        self.progress.pending.append(item)

    def _compare(self, after: int, covered: int | None, listed: list[int]) -> list[int]:
        """Known keys of `after < key <= covered` that the listing lacks are gone."""
        listed_set = set(listed)
        deleted = [key for key in self.known.slice(after, covered) if key not in listed_set]
        self.progress.deleted.add(deleted)
        self.progress.found.add([key for key in listed if key not in self.known])
        return deleted

    def _split_point(self, item: KeyRange, known_here: int) -> int | None:
        """Where to cut the range: its own end (list a page of it) or its middle (count half)."""
        if item.present is None or item.must_list or item.present <= PAGE_SIZE:
            return item.until
        missing = known_here - item.present
        if scattered_cost(known_here, missing) >= pages(item.present) and not self._clustered(item, known_here):
            return item.until
        if not self._affordable(item):
            return item.until
        return self.known.nth_after(item.after, known_here // 2)

    def _clustered(self, item: KeyRange, known_here: int) -> bool:
        """Whether this range lost a share of keys far from what an even spread would give.

        Random deletions fall evenly between halves; a bulk delete does not. Where the
        estimate for scattered deletions says "list", a lopsided range is split anyway.
        """
        lost, total = self.progress.lost, len(self.known)
        if lost is None or not total:
            return False
        expected = lost * known_here / total
        missing = known_here - (item.present or 0)
        return abs(missing - expected) > 3 * math.sqrt(max(expected, 1.0))

    def _affordable(self, item: KeyRange) -> bool:
        """A split costs at most one request more than listing the same range: allowed while
        the requests spent plus a listing of everything still open stays within the budget."""
        progress = self.progress
        if progress.budget is None:
            return False
        open_pages = pages(item.present or 0) + sum(
            pages(other.present if other.present is not None else self.known.count(other.after, other.until))
            for other in progress.pending
        )
        return progress.requests + open_pages + 1 <= progress.budget


# --- the sweep's place in a stream's state -------------------------------------------------------
#
# state["known_keys"]: the keys the stream has (encode_keys), rewritten only when they change;
# state["sweep"]: the progress of a sweep under way (SweepProgress), absent between runs.


def known_keys(state: dict) -> KnownKeys:
    """The known keys of a stream's state; ValueError, saying how to recover, if damaged."""
    try:
        return KnownKeys.from_sorted(decode_keys(state.get("known_keys")))
    except ValueError as exc:
        raise ValueError(f"{exc}; remove `known_keys` and `sweep` from this stream's state and the "
                         "next run learns the keys again (its sweep lists every key once)") from None


def prepare_sweep(state: dict, known: KnownKeys, emitted: Iterable[int] | None, present: int | None = None,
                  read_everything: bool = False) -> KnownKeys:
    """Fold the keys this run emitted into the known keys, and start a sweep unless one is
    under way (a resumed run continues it: new keys lie above every range it has open).

    `emitted` is None when the run resumed an interrupted walk and so does not hold every
    key it read: the sweep then lists the keys above the highest known one instead.
    `present`: how many records have a known key, when this run's first request told.
    `read_everything`: the run read every record (a first run without start_date): its
    keys are a listing already, and the next run's sweep can trust them.
    Returns the known keys the sweep works with.
    """
    trusted = "known_keys" in state  # a sweep completed before: counts can be trusted
    new = [key for key in emitted or () if key not in known]
    if new or not trusted:
        known = known.updated((), new)
        state["known_keys"] = known.encode()
    if read_everything and emitted is not None and not trusted:
        state["known_keys"] = known.encode()
        return known
    if "sweep" not in state:
        state["sweep"] = SweepProgress.start(known, trusted, present, learn_above=emitted is None).to_state()
    return known


def finish_sweep(state: dict, sweep: DeletionSweep) -> None:
    """The sweep is done: the known keys lose the deleted ones and gain any found."""
    progress = sweep.progress
    if progress.deleted.keys or progress.found.keys:
        state["known_keys"] = sweep.known.updated(progress.deleted.keys, progress.found.keys).encode()
    state.pop("sweep", None)
