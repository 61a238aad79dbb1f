"""The account-wide request budget, driven by Ontraport's x-rate-limit-* headers.

Ontraport counts requests per account in a rolling window and answers every request with
`x-rate-limit-limit` (requests per window), `x-rate-limit-remaining` (what is left, counting
*every* tool on the account) and `x-rate-limit-reset` (whole seconds; Ontraport does not say
whether until one slot frees or until the whole window clears, so nothing here depends on
which). One `RateGovernor` per run (the tap builds it) gates every request of every stream.

The model is a mirror of the account's window (`AccountWindow`), on the axis of our own
send times: the server counts a request some time after it is sent, about the same time
for every request, so comparing send times compares counting times, give or take how much
that time varies (`spread`, from the round trips).

* One of ours leaves the server's window one window after it was sent, plus the spread;
  and never later than one window after its answer came back (it was counted before
  that). So no guess of the network's delay is needed, and a slow answer or a busy CPU
  can only make the mirror hold a request longer than the server does, never shorter.
* Other tools' requests are what the server counts beyond ours. They are held as a count
  until the next answer (other tools keep sending, what they add and what leaves about
  balance out; when they stop, the count shows it), and room is kept for how much that
  count swings from one answer to the next.
* Every answer brings the mirror in line with the server's count. Ours that may have left
  (sent about a window before) count as left a window after sending, the likelier
  reading; ours sent about when it was may have been counted before it or after, and
  none of them is taken for another tool's request.

A request goes when the mirror has room. The window's length comes from the resets: a
reset seen with only one request counted is the window, under either meaning, and so is
the same reset on ten answers spread over 2 s or more ("until the window clears"). When no
reset says it (resets that count to one slot, while another tool keeps the window busy),
the counts bound it (when fewer are counted than the mirror surely holds, our oldest have
left) and then fit it (`fit_window`): once three fits agree it is taken as known. Until
then, if the longest reset and that bound hold the length within 2 s, ours that the last
count surely held leave the mirror at the bound; otherwise nothing of ours is expected to
leave before the counts show it. Requests go only where the mirror has room, and when
nothing in it is expected to leave, once a reset has passed (a slot is free then,
whichever meaning) one request probes.

After a quiet second, one request goes before the others, so a limit lowered meanwhile
costs one 429 rather than one per request in flight.

A 429 holds every sender until its reset (or until the mirror has room, if longer), then
lets one request probe before the others follow, so a storm of 429s costs about one per
reset. An API that sends no headers is not limited until its first 429; the limit and
window are then learned from the 429 (its text, or how many of ours got through).
`max_requests_per_minute` and `rate_limit_share` cap our own part on top.

Nothing here sleeps in the caller's place except `acquire()`, so the waiting is in one
spot and shows up in the statistics.
"""

from __future__ import annotations

import bisect
import logging
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

logger = logging.getLogger("tap-ontraport")

LIMIT_HEADER = "x-rate-limit-limit"
REMAINING_HEADER = "x-rate-limit-remaining"
RESET_HEADER = "x-rate-limit-reset"

#: How many recent round trips the expected send-to-count time is taken from.
_RTT_SAMPLES = 20
#: Recent changes of other tools' count kept, to tell how much it swings.
_CHANGE_SAMPLES = 50
#: Answers whose counts the window's length is fitted to (`fit_window`), and how often.
_FIT_SAMPLES = 300
_FIT_EVERY = 20
#: Fits that must agree (within half a second) before a fitted length is trusted.
_FITS_AGREEING = 3
#: Bounds of the window's length this close (s) let ours leave before it is known (see
#: `AccountWindow.foreseen_expiry`).
_CLOSE_BOUNDS = 2.0
#: Longest window considered when fitting (Ontraport documents a minute).
_LONGEST_WINDOW = 120.0
#: Recent resets kept to recognise "reset = the whole window" (the same value every time).
_RESET_SAMPLES = 10
#: Window assumed when a 429 without headers does not say it (Ontraport documents a minute).
_DOCUMENTED_WINDOW = 60.0
#: Requests in flight at most while no limit is known (an API that sends no headers).
UNLIMITED_IN_FLIGHT = 4
#: After this long without a request, the next one goes alone (see `_try_acquire_locked`).
QUIET_SECONDS = 1.0
#: Holds longer than this are announced at INFO, with the why.
ANNOUNCE_AFTER_SECONDS = 10.0
#: "... maximum rate limit of 180 requests per minute" / "... of 60 requests per 10 seconds".
_REFUSAL_TEXT = re.compile(r"(\d+)\s+requests?\s+per\s+(?:(\d+(?:\.\d+)?)\s*)?(second|minute|hour)", re.I)
_UNIT_SECONDS = {"second": 1.0, "minute": 60.0, "hour": 3600.0}


@dataclass
class Ticket:
    """One permission to send; hand it back to `observe` with the answer's headers."""

    sent_at: float
    sequence: int


@dataclass(frozen=True)
class RateHeaders:
    limit: int
    remaining: int
    reset: float

    @classmethod
    def parse(cls, headers: Mapping[str, str] | None) -> RateHeaders | None:
        """The three headers, or None when any is missing or not a number."""
        if not headers:
            return None
        try:
            limit = int(float(headers[LIMIT_HEADER]))
            remaining = int(float(headers[REMAINING_HEADER]))
            reset = float(headers[RESET_HEADER])
        except (KeyError, TypeError, ValueError):
            return None
        if limit <= 0 or reset < 0:
            return None
        return cls(limit=limit, remaining=max(0, remaining), reset=reset)

    @property
    def used(self) -> int:
        return self.limit - self.remaining


def parse_refusal(text: str | None) -> tuple[int, float] | None:
    """(limit, window seconds) from a 429's text such as "... 60 requests per 10 seconds"."""
    match = _REFUSAL_TEXT.search(text or "")
    if match is None:
        return None
    count, unit = int(match[1]), _UNIT_SECONDS[match[3].lower()]
    return (count, float(match[2] or 1) * unit) if count > 0 else None


def fit_window(sends: list[float], counts: list[tuple[float, int]], shortest: float, longest: float) -> float | None:
    """The window length that best explains the server's counts, or None if they don't tell.

    `sends` are the send times of our counted requests (sorted), `counts` pairs of a send
    time and the count its answer gave. For the right length, the count less ours sent
    within one window before is what other tools had in the window: it changes only as
    they send. For a wrong one it also jumps with our own sending, so the right length is
    the one whose implied other-tools count changes least over the run (of those about as
    good, the longest),
    if it does better than "none of ours has left" (a window longer than the counts span).
    Whole seconds first, then tenths around the best.
    """
    def swing(length: float) -> int:
        total, previous = 0, None
        for sent_at, used in counts:
            ours = bisect.bisect_right(sends, sent_at) - bisect.bisect_right(sends, sent_at - length)
            if previous is not None:
                total += abs(used - ours - previous)
            previous = used - ours
        return total

    def best(candidates: list[float]) -> float:
        # The longest of those about as good as the best: too long only wastes a little.
        swings = {length: swing(length) for length in candidates}
        least = min(swings.values())
        return max(length for length, value in swings.items() if value <= least * 1.05 + 1)

    whole = [float(n) for n in range(max(1, math.ceil(shortest)), math.floor(longest) + 1)]
    if not whole:
        return None
    found = best(whole)
    if swing(found) >= swing(math.inf):
        return None  # none of ours leaving explains the counts as well: nothing learnt
    return best([found + tenth / 10 for tenth in range(-9, 10) if found + tenth / 10 >= shortest])


@dataclass
class _Counted:
    """A request in the account's window, placed on the axis of our send times.

    Ours: sent at `sent_from` (= `sent_to`), counted before `answered_by`, its answer (None
    while on its way). Other tools': counted at an unknown moment (`sent_from` -inf) before
    the count of the request sent at `sent_to`, whose answer came at `answered_by`.
    """

    sent_from: float
    sent_to: float
    answered_by: float | None
    sequence: int = 0  # ours: the ticket's; 0 for other tools'
    gone: bool = False  # the server's count says it has left the window

    @property
    def ours(self) -> bool:
        return self.sequence > 0


@dataclass(frozen=True)
class _Observation:
    """What one answer said: `used` requests counted when request `sequence` was."""

    sequence: int
    sent_at: float
    seen_at: float
    used: int
    reset: float


@dataclass
class _Sorting:
    """The mirror's entries as one answer sees them (see `AccountWindow.reconcile`)."""

    surely_in: list[_Counted] = field(default_factory=list)  # counted before it, not expired
    maybe_expired: list[_Counted] = field(default_factory=list)  # counted before it, maybe left
    maybe_later: list[_Counted] = field(default_factory=list)  # maybe counted only after it


@dataclass
class AccountWindow:
    """The mirror of the account's rolling window, on our own clock."""

    length: float = math.inf  # the window, or an upper bound of it; inf while unknown
    exact: bool = False  # the length came from a reset
    longest_reset: float = 0.0
    resets: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=_RESET_SAMPLES))  # (when, reset)
    entries: deque[_Counted] = field(default_factory=deque)
    others_in: int = 0  # other tools' requests in the window at the last answer
    others_in_seconds: float = 0.0  # other tools' count in the window, summed over the run's seconds
    others_changes: deque[int] = field(default_factory=lambda: deque(maxlen=_CHANGE_SAMPLES))
    last: _Observation | None = None
    counts: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=_FIT_SAMPLES))
    answers: int = 0  # answers counted over the run (a fit is tried every `_FIT_EVERY`)
    first_dropped: float = math.inf  # when the counts first showed ours leaving
    dropped_bound: float = math.inf  # ... and the shortest window they showed
    fits: deque[float] = field(default_factory=lambda: deque(maxlen=_FITS_AGREEING))
    fitted: bool = False  # the last fits agree: the length is taken as known
    spread: float = math.inf  # how much our send-to-count times vary, at most (see RateGovernor)
    our_part: float = 1.0  # the share of the limit we may take (`rate_limit_share`)

    @property
    def known(self) -> bool:
        return math.isfinite(self.length)

    @property
    def trusted(self) -> bool:
        """A reset said the length: our requests may be expected to leave (a bound is not enough:
        with it, only the counts free room)."""
        return self.exact or self.fitted

    @property
    def reckoned(self) -> float:
        """The window to reckon with for rates (the longest reset while unknown)."""
        return self.length if self.known else max(self.longest_reset, 1.0)

    @property
    def shortest(self) -> float:
        """The window is no shorter than this: a reset counts down within it (less the rounding)."""
        return max(self.longest_reset - 1.0, 0.0)

    def expiry(self, entry: _Counted, length: float | None = None) -> float:
        """When a request sent from now on is surely counted after `entry` has left (inf: unknown).

        One window (`length`, or the mirror's) after its place on the send axis, plus the
        spread of delays; never later than one window after its answer, by which it was
        surely counted.
        """
        if entry.gone:
            return -math.inf
        if entry.answered_by is None:
            return math.inf
        return min(entry.answered_by, entry.sent_to + self.spread) + (self.length if length is None else length)

    def foreseen_expiry(self, entry: _Counted) -> float:
        """`expiry` once the window is trusted. Before, nothing leaves until counts show it,
        except, while the longest reset and ours leaving bound the length closely, one of ours
        the last count surely held: it leaves by the upper bound's expiry. (One that may have
        left before that count may have been replaced there by another tool's request: its
        leaving frees nothing. A fit not yet trusted is no bound.)"""
        if self.trusted or entry.gone:
            return self.expiry(entry)
        closely_bounded = self.dropped_bound - self.shortest <= _CLOSE_BOUNDS
        if closely_bounded and self.last is not None and self._surely_in(entry, self.last, self.shortest):
            return self.expiry(entry, self.dropped_bound)
        return math.inf

    def _counted_before(self, entry: _Counted, seen: _Observation) -> bool:
        return entry.sent_to + self.spread < seen.sent_at or (
            entry.answered_by is not None and entry.answered_by <= seen.sent_at)

    def _surely_in(self, entry: _Counted, seen: _Observation, length: float | None = None) -> bool:
        """Counted before `seen` was, and not yet left then (if the window is `length` or more;
        by default the mirror's)."""
        slack = min(self.spread, seen.seen_at - seen.sent_at)
        # (when another tool's request was counted is only bounded: never sure it is still in)
        return (entry.ours and self._counted_before(entry, seen)
                and entry.sent_from + (self.length if length is None else length) > seen.sent_at + slack)

    def _surely_out(self, entry: _Counted, seen: _Observation) -> bool:
        """Left before `seen` was counted."""
        return entry.gone or self.expiry(entry) <= seen.sent_at

    # --- learning the window's length ---

    def learn_from_reset(self, headers: RateHeaders, seen_at: float) -> None:
        """A reset with only this request counted is the window (either meaning); so is the
        same reset, of 5 s or more, on ten answers in a row spread over 2 s or more (one
        that counted down to a slot would have changed meanwhile)."""
        reset = float(math.ceil(headers.reset - 1e-9))
        if reset <= 0:
            return
        self.longest_reset = max(self.longest_reset, reset)
        self.resets.append((seen_at, reset))
        steady = (len(self.resets) == self.resets.maxlen and reset >= 5
                  and self.resets[-1][0] - self.resets[0][0] >= 2.0
                  and all(value == self.longest_reset for _, value in self.resets))
        if headers.used <= 1 or steady:
            self.exact = True
            self.length = min(self.length, reset) if self.known else reset

    def learn_from_counts(self, seen: _Observation) -> None:
        """While no reset said the window, fit its length to the counts (see `fit_window`)."""
        self.counts.append((seen.sent_at, seen.used))
        self.answers += 1
        if self.exact or not math.isfinite(self.first_dropped) or self.answers % _FIT_EVERY:
            return
        # Only counts after ours were first seen leaving: by then whatever filled the window
        # before we started has left too (while it leaves and we replace it, a short window
        # with ours leaving instead fits the counts as well). And a length is only told by
        # counts spanning well more than it.
        counts = [count for count in self.counts if count[0] >= self.first_dropped]
        if len(counts) < _FIT_EVERY:
            return
        longest = min(self.length, _LONGEST_WINDOW, (counts[-1][0] - counts[0][0]) / 1.5)
        # (Ours leaving showed a bound: with other tools sending as much as we do, about
        # twice the window. A fit far below it is an artefact of periodic traffic. The less
        # of the limit our share lets us take, the more of ours the others' requests hide
        # in the count, so the looser that bound can be: with a share of 0.4 beside a tool
        # sending half the limit, 31 s for a 10 s window.)
        shortest = max(self.longest_reset - 1, 1.0, self.dropped_bound * self.our_part / 2.5)
        found = fit_window(sorted(sent_at for sent_at, _ in self.counts), counts, shortest, longest)
        if found is not None:
            self.fits.append(found)
            self.bound(found + min(self.spread, 0.5))
            # The same length fitted again and again, as the counts move on: take it as known.
            self.fitted = len(self.fits) == self.fits.maxlen and max(self.fits) - min(self.fits) <= 0.5

    def bound(self, seconds: float) -> None:
        """The window is at most `seconds` long (never less than a reset said)."""
        if seconds < self.length:
            self.length = max(seconds, self.longest_reset - 1.0, 0.5)

    # --- reconciling with the server's count ---

    def reconcile(self, seen: _Observation) -> None:
        """Make the mirror count what the server counted when `seen` was counted.

        Fewer than the mirror surely holds: the oldest have left, and the window is no
        longer than the time since they were sent. More: requests of other tools, as many
        as the count shows beyond ours, none of them assumed to leave before the next
        answer says so (other tools keep sending; when they stop, the count shows it).
        """
        self.entries = deque(entry for entry in self.entries if entry.ours)
        sorting = self._sort(seen)
        surplus = seen.used - 1 - len(sorting.surely_in)
        if surplus < 0 and not self.exact:
            self._drop_oldest(sorting.surely_in, -surplus, seen)
        # (With the window known from a reset, fewer counted than surely in means only that
        # a delay varied more than any before: the mirror keeps them, and errs on the safe side.)
        surplus = max(surplus, 0)
        kept = 0
        for entry in sorting.maybe_expired:  # the likelier reading: gone a window after sending
            entry.gone = entry.sent_from + self.length <= seen.sent_at
            kept += not entry.gone
        likely_counted = sum(1 for entry in sorting.maybe_later if entry.sent_from <= seen.sent_at)
        others = max(0, surplus - kept - likely_counted)
        self._count_others(others, seen)
        self.forget()

    def _count_others(self, others: int, seen: _Observation) -> None:
        """Other tools' requests in the window at `seen`: kept until the next answer says."""
        if self.last is not None and self.others_in:
            self.others_in_seconds += self.others_in * max(0.0, seen.seen_at - self.last.seen_at)
        if self.last is not None:
            self.others_changes.append(others - self.others_in)
        self.others_in, self.last = others, seen
        self.entries.extend(_Counted(-math.inf, seen.sent_at, seen.seen_at) for _ in range(others))

    def _sort(self, seen: _Observation) -> _Sorting:
        sorting = _Sorting()
        for entry in self.entries:
            if entry.sequence == seen.sequence or self._surely_out(entry, seen):
                continue
            if self._surely_in(entry, seen):
                sorting.surely_in.append(entry)
            elif self._counted_before(entry, seen):
                sorting.maybe_expired.append(entry)  # counted before it, maybe left since
            elif entry.sent_from <= seen.sent_at + self.spread:
                sorting.maybe_later.append(entry)  # sent about when it was: counted before or after
        return sorting

    def _drop_oldest(self, surely_in: list[_Counted], count: int, seen: _Observation) -> None:
        """`count` of the entries believed in have left: the window is shorter than thought."""
        by_age = sorted(surely_in, key=lambda entry: entry.sent_from)
        # The `count` that left include one sent no earlier than the count-th oldest.
        slack = min(self.spread, seen.seen_at - seen.sent_at)
        self.first_dropped = min(self.first_dropped, seen.sent_at)
        self.dropped_bound = min(self.dropped_bound, seen.sent_at - by_age[count - 1].sent_from + slack)
        self.bound(self.dropped_bound)
        for entry in by_age[:count]:
            entry.gone = True

    def forget(self) -> None:
        """Drop what has left the window for every answer still to come.

        While the window is only bounded, what may still have been in the last count stays
        until the next count says: one of ours that may have left before that count may have
        been replaced there by another tool's request, and dropping it at its bound's expiry
        would free that slot a second time (a request into a full window).
        """
        in_flight = [entry.sent_from for entry in self.entries if entry.answered_by is None]
        horizon = min(in_flight, default=math.inf)
        if self.last is not None:
            horizon = min(horizon, self.last.seen_at if self.trusted else self.last.sent_at)
        self.entries = deque(entry for entry in self.entries if self.expiry(entry) > horizon)

    # --- predicting ---

    @property
    def others_seen(self) -> float:
        """Other tools' requests while we ran, about: each stays one window in the count, so
        their count summed over time, divided by the window (the one known at the end, not the
        guess of the moment: before the window is known, that guess can be a 1 s reset)."""
        return self.others_in_seconds / self.reckoned

    def others_rise(self) -> int:
        """How much other tools' count may grow from one answer to the next (1 or more).

        While they send, what they add and what leaves about balance out; this is how far
        the balance swings (its 90th percentile over recent answers), kept free for them.
        """
        if not self.others_in:
            return 0
        changes = sorted(self.others_changes)
        return max(1, changes[int(0.9 * len(changes))] if changes else 1)

    def sorted_expiries(self) -> list[float]:
        """When each request in the mirror leaves it (`foreseen_expiry`), in order.

        They change only with what the mirror holds or learns, not with the time: the
        governor keeps them from one change to the next (`ready_at` is asked very often).
        """
        return sorted(map(self.foreseen_expiry, self.entries))

    def ready_at(self, now: float, room: int, expiries: list[float] | None = None) -> float:
        """The earliest moment at which fewer than `room` requests are in the window.

        `expiries` is `sorted_expiries()` when the caller kept it. While nothing is known to
        expire, a slot is free once the last reset has passed (whichever meaning), so one
        request may probe then, once every answer is in.
        """
        if expiries is None:
            expiries = self.sorted_expiries()
        first_alive = bisect.bisect_right(expiries, now)
        excess = len(expiries) - first_alive - room + 1
        ready = now if excess <= 0 else expiries[first_alive + excess - 1]
        last = self.last
        if math.isinf(ready) and last is not None and all(entry.answered_by is not None for entry in self.entries):
            return last.seen_at + max(last.reset, 0.5)
        return ready

    def in_window(self, now: float) -> tuple[int, int]:
        """(requests counted in the window now, of them other tools'), as far as known."""
        alive = [entry for entry in self.entries if self.foreseen_expiry(entry) > now]
        return len(alive), sum(1 for entry in alive if not entry.ours)

    def find(self, sequence: int) -> _Counted | None:
        for entry in reversed(self.entries):
            if entry.sequence == sequence:
                return entry
        return None


class RateGovernor:
    """Decides when the next request of this process may be sent."""

    def __init__(
        self,
        *,
        share: float = 1.0,
        max_requests_per_minute: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < share <= 1:
            raise ValueError("share must be in (0, 1]")
        self.share = share
        self.max_requests_per_minute = max_requests_per_minute
        self._clock = clock
        self._cond = threading.Condition()
        self.mirror = AccountWindow(our_part=share)
        self._sequence = 0
        self._in_flight = 0
        self._waiting: list[float] = []  # urgencies of the requests blocked in acquire()
        self._headers_seen = False  # any answer at all has come back
        self.limit: int | None = None
        self.limit_source: str | None = None  # "headers" or "429"
        self._hold_until = 0.0  # after a 429: nobody sends before
        self._probing = False  # after a 429: one request at a time until one gets through
        self._rtts: deque[float] = deque(maxlen=_RTT_SAMPLES)
        self._sends: deque[float] = deque()  # our send times of the last minute (for the cap)
        self._announced_until = 0.0
        #: The mirror's `sorted_expiries()` and the room kept for others, until it changes.
        self._reckoning: tuple[list[float], int] | None = None
        # What the waiting cost, for the run summary.
        self.wait_seconds = 0.0
        self.waits = 0
        self.refusals = 0

    @property
    def window(self) -> float | None:
        if self.limit is None:
            return None
        return self.mirror.reckoned

    # --- the budget as currently known ---

    @property
    def cap(self) -> int | None:
        """How many of our own requests may be in one window; None while it is unknown."""
        return None if self.limit is None else max(1, math.floor(self.limit * self.share))

    def _spread(self) -> float:
        """How much the time from sending to being counted varies between our requests, at most.

        The spread of recent round trips, plus a little: it bounds how much sooner a new
        request can be counted, relative to its send time, than an old one was. While few
        answers are in, none is assumed (each answer's own time bounds its request's count).
        """
        if len(self._rtts) < 5:
            return math.inf
        return max(self._rtts) - min(self._rtts) + 0.05

    def _room(self) -> int:
        """How many requests the window may hold when ours is counted (some kept for others)."""
        assert self.limit is not None
        return max(1, self.limit - self.mirror.others_rise())

    def _reckon(self) -> tuple[list[float], int]:
        """The mirror's expiries and the room, computed again only after a send or an answer
        changed the mirror (`_changed`)."""
        if self._reckoning is None:
            self.mirror.spread = self._spread()
            self._reckoning = (self.mirror.sorted_expiries(), self._room())
        return self._reckoning

    def _changed(self) -> None:
        self._reckoning = None

    def _ready_at(self, now: float) -> float:
        """The earliest moment a request may be sent (now, if it may go right away)."""
        ready = max(now, self._hold_until)
        if self._in_flight and (not self._headers_seen or self._probing):
            return math.inf  # learn from the answer out before sending more
        if self.limit is None and self._in_flight >= UNLIMITED_IN_FLIGHT:
            return math.inf  # no limit known: a first 429 should find few on their way
        if self.limit is not None:
            expiries, room = self._reckon()
            ready = max(ready, self.mirror.ready_at(now, room, expiries))
            cap = self.cap
            if self.share < 1 and cap is not None:
                ready = max(ready, self._share_ready(now, cap))
        if self.max_requests_per_minute:
            while self._sends and self._sends[0] <= now - 60.0:
                self._sends.popleft()
            if len(self._sends) >= self.max_requests_per_minute:
                ready = max(ready, self._sends[-self.max_requests_per_minute] + 60.0)
        return ready

    def _share_ready(self, now: float, cap: int) -> float:
        """The earliest moment fewer than `cap` of our own requests are in the window.

        The share is our own limit, not the server's: ours count as leaving one window after
        they were sent as far as the window is known, even only as a bound (the room check
        keeps us from a 429). Before anything bounds the window (another tool keeps it busy
        and the resets count to one slot), `ready_at` lets one request go per reset once every
        answer is in: without answers the window would never be learnt, and the run would
        wait forever.
        """
        mirror = self.mirror
        ours = sorted(mirror.expiry(entry) for entry in mirror.entries if entry.ours)
        return mirror.ready_at(now, cap, ours)

    # --- the calls every request makes ---

    def acquire(self, urgency: float = 0.0) -> Ticket:
        """Block until a request may be sent, then count it as sent.

        Of the requests waiting, the most urgent goes first (the page walks use how much of
        their key range is left, so parallel ranges finish together: a range left alone at
        the end sends one request per round trip, whatever the budget).
        """
        started = self._clock()
        with self._cond:
            self._waiting.append(urgency)
            try:
                while True:
                    ticket = self._try_acquire_locked() if urgency >= max(self._waiting) else None
                    if ticket is not None:
                        break
                    now = self._clock()
                    ready = self._ready_at(now)
                    self._announce(now, ready)
                    self._cond.wait(timeout=None if math.isinf(ready) else max(ready - now, 0.001))
            finally:
                self._waiting.remove(urgency)
                if self._waiting:
                    self._cond.notify_all()  # the next most urgent may go
            waited = ticket.sent_at - started
            if waited > 0.001:
                self.wait_seconds += waited
                self.waits += 1
            return ticket

    def try_acquire(self) -> Ticket | None:
        """Count a request as sent if one may go right now; None otherwise (never blocks)."""
        with self._cond:
            return self._try_acquire_locked()

    def ready_at(self) -> float:
        """The clock time at which the next request may be sent (a long hold is announced)."""
        with self._cond:
            now = self._clock()
            ready = self._ready_at(now)
            self._announce(now, ready)
            return ready

    def _try_acquire_locked(self) -> Ticket | None:
        now = self._clock()
        if self._ready_at(now) > now:
            return None
        # After a quiet spell the account may have changed (a lowered limit, a tool that
        # filled the window): one request goes first, and the others follow its answer.
        if self._sends and now - self._sends[-1] >= QUIET_SECONDS:
            self._probing = True
        self._sequence += 1
        self._in_flight += 1
        self.mirror.entries.append(_Counted(now, now, None, self._sequence))
        self._changed()
        self._sends.append(now)
        return Ticket(sent_at=now, sequence=self._sequence)

    def observe(self, ticket: Ticket, headers: Mapping[str, str] | None, status: int | None,
                text: str | None = None) -> float:
        """Learn from an answer (or a failed send: headers None). Returns the 429 wait.

        For a 429 the return value is how long Ontraport asked us to wait; every sender
        is held for that long. `text` is the 429's body, read when the headers are missing.
        """
        now = self._clock()
        parsed = RateHeaders.parse(headers) if headers is not None else None
        with self._cond:
            self._in_flight -= 1
            if headers is not None:
                self._headers_seen = True
                self._rtts.append(now - ticket.sent_at)
            entry = self.mirror.find(ticket.sequence) or _Counted(ticket.sent_at, ticket.sent_at, None, ticket.sequence)
            entry.answered_by = now  # a failed send may still have been counted: held a window too
            if status == 429:
                wait = self._refused(entry, ticket, parsed, now, text)
            else:
                wait = 0.0
                self._probing = False
                if parsed is not None:
                    self._counted(ticket, parsed, now)
            self._changed()
            self._cond.notify_all()
        return wait

    def _counted(self, ticket: Ticket, headers: RateHeaders, now: float) -> None:
        self.limit, self.limit_source = headers.limit, "headers"
        self.mirror.learn_from_reset(headers, now)
        seen = _Observation(ticket.sequence, ticket.sent_at, now, headers.used, headers.reset)
        self.mirror.learn_from_counts(seen)
        self.mirror.reconcile(seen)

    def _refused(self, entry: _Counted, ticket: Ticket, headers: RateHeaders | None, now: float,
                 text: str | None) -> float:
        """A 429: hold everyone until the reset (or until the mirror has room), then probe."""
        self.refusals += 1
        entry.gone = True  # a refused request is not counted
        if headers is not None:
            self.limit, self.limit_source = headers.limit, "headers"
            wait = headers.reset
        else:
            wait = self._learn_from_refusal(ticket, now, text)
        wait = max(wait, 0.5)
        if self.limit is not None and self.mirror.trusted:
            # A lowered limit: the window may hold more than the new limit; wait it out.
            ready = self.mirror.ready_at(now, self.limit)
            wait = max(wait, ready - now) if math.isfinite(ready) else wait
        self._hold_until = max(self._hold_until, now + wait)
        self._probing = True
        return wait

    def _learn_from_refusal(self, ticket: Ticket, now: float, text: str | None) -> float:
        """No headers: the limit is what the 429 says, or how many of ours got through."""
        stated = parse_refusal(text)
        if not self.mirror.known:
            self.mirror.length = stated[1] if stated else _DOCUMENTED_WINDOW
            self.mirror.exact = True  # nothing better will come: take it as said
        window = self.mirror.length
        through = sum(1 for entry in self.mirror.entries
                      if entry.ours and not entry.gone and entry.sequence < ticket.sequence
                      and entry.sent_from > ticket.sent_at - window)
        learned = min(stated[0], max(through, 1)) if stated else max(through, 1)
        self.limit = learned if self.limit is None else min(self.limit, learned)
        self.limit_source = "429"
        return self.mirror.ready_at(now, self.limit) - now

    # --- telling the user ---

    def _announce(self, now: float, ready: float) -> None:
        """One INFO line when requests are held for more than 10 s, and why."""
        if not math.isfinite(ready) or ready - now <= ANNOUNCE_AFTER_SECONDS or now < self._announced_until:
            return  # (an infinite ready means an answer is on its way: not a hold)
        self._announced_until = ready
        logger.info("%s", self.wait_reason(now, ready))

    def wait_reason(self, now: float, ready: float) -> str:
        seconds = f"{ready - now:.0f} s"
        if now < self._hold_until:
            return f"waiting {seconds} for the rate limit: Ontraport answered 429 (too many requests)"
        used, others = self.mirror.in_window(now)
        if self.mirror.last is not None and not self.mirror.known:
            used = self.mirror.last.used
        window = self.window or 0.0
        return (f"waiting {seconds} for the rate limit: {used} of {self.limit} requests of the last "
                f"{window:g} s used, {others} of them by other tools")

    def snapshot(self) -> dict[str, float | int | str | None]:
        with self._cond:
            return {
                "limit": self.limit,
                "limit_source": self.limit_source,
                "window_seconds": self.window,
                "window_known": self.mirror.trusted,
                "cap": self.cap,
                "in_flight": self._in_flight,
                "others_requests": round(self.mirror.others_seen),
                "refusals": self.refusals,
                "wait_seconds": round(self.wait_seconds, 3),
                "waits": self.waits,
            }
