"""The account-wide request budget, driven by Ontraport's x-rate-limit-* headers.

Ontraport counts requests per account in a rolling window and answers every request with
`x-rate-limit-limit` (requests per window), `x-rate-limit-remaining` (what is left, counting
*every* tool on the account) and `x-rate-limit-reset` (seconds; Ontraport does not say
whether until one slot frees or until the whole window clears, so nothing here depends on
which). One `RateGovernor` per process gates every request of every stream.

The model is a mirror of the account's window (`AccountWindow`), on the axis of our own
send times (the delay between sending and being counted is about constant, so only its
spread needs a margin):

* our requests, each until `window + margin` after it was sent;
* other tools' requests, inferred: whenever the server counts more than the mirror holds,
  the difference are requests of others, placed at the latest moment they can have
  arrived (so they leave the mirror no earlier than the server's window).

Every answer reconciles the mirror with the server's count. A request goes when the mirror
says the window has room for it plus what other tools are expected to send meanwhile; when
it is full, the next send waits for the mirror's next expiry. The window's length comes
from the resets: a reset seen with only one request in the window, or the same reset (of
5 s or more) on ten answers in a row, is the window itself. Until it is known (a run that
starts in a busy window, resets that count to one slot), it is only bounded, for the
summary, and nothing is assumed to expire except what a reset promises: at least one slot
is free once it has passed, whichever meaning, so one request probes then.

A 429 holds every sender until its reset (or until the mirror has room, if longer), then
lets one request probe before the others follow, so a storm of 429s costs about one per
reset. An API that sends no headers is not limited until its first 429; the limit and
window are then learned from the 429 (its text, or how many of ours got through).
`max_requests_per_minute` and `rate_limit_share` cap our own part on top.

Nothing here sleeps in the caller's place except `acquire()`, so the waiting is in one
spot and shows up in the statistics.
"""

from __future__ import annotations

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

#: How many recent round trips the network margin is computed from.
_RTT_SAMPLES = 20
#: Recent resets kept to recognise "reset = the whole window" (the same value every time).
_RESET_SAMPLES = 10
#: Window assumed when a 429 without headers does not say it (Ontraport documents a minute).
_DOCUMENTED_WINDOW = 60.0
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


@dataclass
class _Sent:
    """One of our requests: in the window from `sent_at` until it expires or is seen gone."""

    sequence: int
    sent_at: float
    answered: bool = False
    refused: bool = False
    gone: bool = False  # the server's count says it has left the window

    @property
    def in_window(self) -> bool:
        return not (self.refused or self.gone)


@dataclass(frozen=True)
class _Observation:
    """What one answer said: `used` of `limit` counted when the request `sequence` was."""

    sequence: int
    sent_at: float  # on our send-time axis
    seen_at: float
    used: int
    limit: int
    reset: float


@dataclass
class AccountWindow:
    """The mirror of the account's rolling window, on the axis of our send times."""

    window: float | None = None  # known, or bounded from above; None while unbounded
    exact: bool = False  # the window came from a reset seen alone in it
    longest_reset: float = 0.0
    shortest_bound: float = math.inf  # the window is at most this long (see bound_window)
    steady_reset: float | None = None  # every recent answer gave this reset
    resets: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=_RESET_SAMPLES))  # (when, reset)
    margin: float = 0.5
    ours: deque[_Sent] = field(default_factory=deque)
    others: deque[float] = field(default_factory=deque)  # send-axis times of others' requests
    others_seen: int = 0  # others' requests inferred over the run
    arrivals: deque[tuple[float, int]] = field(default_factory=deque)  # (when, how many) of others'
    last: _Observation | None = None
    first_others_rate: float = 0.0

    @property
    def length(self) -> float:
        """The window to reckon with for rates and margins (the longest reset while unknown)."""
        return self.window if self.window is not None else max(self.longest_reset, 1.0)

    @property
    def trusted(self) -> bool:
        """The window's length is known (not only bounded), so expiries can be predicted."""
        return self.exact or self.steady_reset is not None

    def expiry(self, moment: float) -> float:
        """When a request counted at `moment` leaves the window (never, while unknown)."""
        return moment + self.length + self.margin if self.trusted else math.inf

    # --- learning ---

    def learn_window(self, headers: RateHeaders, seen_at: float) -> None:
        """A reset with only this request in the window is the window (either meaning)."""
        reset = float(math.ceil(headers.reset - 1e-9))
        if reset <= 0:
            return
        self.longest_reset = max(self.longest_reset, reset)
        self.resets.append((seen_at, reset))
        if headers.used <= 1:
            self.window, self.exact = reset, True
            return
        if self.window is not None and reset > self.window:
            self.window = reset  # no reset is longer than the window
        # "Until the whole window clears" gives the window on every answer: the same
        # value each time. (Windows under 5 s are not plausible for Ontraport, and a busy
        # window under the other meaning gives small, similar values.)
        if (len(self.resets) == self.resets.maxlen and self.longest_reset >= 5
                and all(value == self.longest_reset for _, value in self.resets)):
            self.steady_reset = self.longest_reset
            if not self.exact:
                self.window = self.longest_reset

    def bound_window(self, seen: _Observation) -> None:
        """The window can be no longer than the count allows.

        If the server counted `used` requests when ours at `sent_at` was, our `used`-th
        latest answered request before it had already left the window: the window is at
        most the time since (plus the margin by which send-to-count delays differ). The
        tightest bound of the run, never less than the longest reset (no reset is longer
        than the window), is the window to reckon with until a reset says it exactly. Too
        long a window only makes the mirror hold requests longer than the server does.
        """
        counted = [s.sent_at for s in self.ours if s.answered and not s.refused and s.sequence < seen.sequence]
        if seen.used >= 1 and len(counted) >= seen.used:
            self.shortest_bound = min(self.shortest_bound, seen.sent_at - counted[-seen.used] + self.margin)
        if not self.trusted and math.isfinite(self.shortest_bound):
            self.window = max(self.longest_reset, float(math.ceil(self.shortest_bound)))

    def reconcile(self, seen: _Observation) -> None:
        """Make the mirror count what the server counted when `seen` was counted.

        More than the mirror holds: requests of other tools. Fewer: the oldest entries have
        left (a rolling window always loses its oldest first), whoever sent them.
        """
        if self.last is not None and seen.sequence < self.last.sequence:
            return  # an older answer overtaken by a newer one says nothing new
        first, self.last = self.last is None, seen
        self.forget(seen.sent_at)
        # Ours still unanswered may reach the server after this one: leave them out here.
        ours = [s for s in self.ours if s.in_window and (s.answered or s.sequence == seen.sequence)
                and s.sequence <= seen.sequence and self.expiry(s.sent_at) > seen.sent_at]
        others = [t for t in self.others if t <= seen.sent_at]
        surplus = seen.used - len(ours) - len(others)
        if surplus > 0:
            self.others.extend([seen.sent_at] * surplus)
            self.others_seen += surplus
            if first:
                self.first_others_rate = surplus / max(seen.reset, 1.0)
            else:  # what filled the window before we started has no rate
                self.arrivals.append((seen.sent_at, surplus))
        for _ in range(-surplus):
            if others and (not ours or others[0] <= ours[0].sent_at):
                self.others.remove(others.pop(0))
            elif ours:
                ours.pop(0).gone = True

    def forget(self, now: float) -> None:
        """Drop what has left the window by `now` (our send log keeps a minute for the cap)."""
        while self.others and self.expiry(self.others[0]) <= now:
            self.others.popleft()
        horizon = now - max(60.0, self.length + self.margin) - 1
        while self.ours and self.ours[0].sent_at < horizon and self.expiry(self.ours[0].sent_at) <= now:
            self.ours.popleft()

    # --- predicting ---

    def others_rate(self, now: float) -> float:
        """Other tools' requests per second, seen arriving over the last window.

        While the window is not known, arrivals are seen net of unknown expiries; then
        what others had in the window at our first request, over the first reset (their
        rate if they send steadily, more if the reset is short), is the floor.
        """
        while self.arrivals and self.arrivals[0][0] <= now - self.length:
            self.arrivals.popleft()
        seen = sum(count for _, count in self.arrivals) / self.length
        return seen if self.trusted else max(seen, self.first_others_rate)

    def ours_alive(self, now: float) -> list[float]:
        """Expiry times of our requests still in the window at `now`."""
        return [self.expiry(s.sent_at) for s in self.ours if s.in_window and self.expiry(s.sent_at) > now]

    def ready_at(self, now: float, room: int) -> float:
        """The earliest moment at which fewer than `room` requests are in the window.

        While the window is unbounded nothing is known to expire; but once the last reset
        has passed a slot is free (whichever meaning), so one request may probe then.
        """
        expiries = sorted(self.ours_alive(now) + [self.expiry(t) for t in self.others if self.expiry(t) > now])
        excess = len(expiries) - room + 1
        ready = now if excess <= 0 else expiries[excess - 1]
        last = self.last
        if math.isinf(ready) and last is not None and all(s.answered for s in self.ours if s.sequence > last.sequence):
            return last.seen_at + max(last.reset, 0.5)
        return ready

    def in_window(self, now: float) -> tuple[int, int]:
        """(requests counted in the window now, of them other tools'), as far as known."""
        others = sum(1 for t in self.others if self.expiry(t) > now)
        return len(self.ours_alive(now)) + others, others


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
        self.mirror = AccountWindow()
        self._sequence = 0
        self._in_flight = 0
        self._headers_seen = False  # any answer at all has come back
        self.limit: int | None = None
        self.limit_source: str | None = None  # "headers" or "429"
        self._hold_until = 0.0  # after a 429: nobody sends before
        self._probing = False  # after a 429: one request at a time until one gets through
        self._rtts: deque[float] = deque(maxlen=_RTT_SAMPLES)
        self._announced_until = 0.0
        # What the waiting cost, for the run summary.
        self.wait_seconds = 0.0
        self.waits = 0
        self.refusals = 0

    @property
    def window(self) -> float | None:
        if self.limit is None:
            return None
        return self.mirror.window if self.mirror.window is not None else self.mirror.length

    # --- the budget as currently known ---

    def _margin(self) -> float:
        """Seconds by which Ontraport's count of a request may lag our send time, at most.

        A constant delay only shifts Ontraport's window against ours; what can push one
        request too many into its window is how much the delay varies: the spread of
        recent round trips (plus a little), capped at a tenth of the window so one slow
        outlier cannot waste much of the budget.
        """
        tenth = self.mirror.length / 10
        if len(self._rtts) < 2:
            return min(0.5, tenth)
        return min(max(self._rtts) - min(self._rtts) + 0.1, tenth)

    @property
    def cap(self) -> int | None:
        """How many of our own requests may be in one window; None while it is unknown."""
        return None if self.limit is None else max(1, math.floor(self.limit * self.share))

    def _room(self, now: float) -> int:
        """How many requests the window may hold when ours is counted.

        Other tools keep sending between the last answer and our request's arrival: about
        their rate times that gap (rounded up) stays free for them.
        """
        assert self.limit is not None
        last = self.mirror.last
        gap = (now - last.sent_at) if last is not None else 0.0
        expected = self.mirror.others_rate(now) * (max(gap, 0.0) + self._margin())
        keep = math.ceil(expected) if self.mirror.others_seen else 0
        return max(1, self.limit - keep)

    def _ready_at(self, now: float) -> float:
        """The earliest moment a request may be sent (now, if it may go right away)."""
        ready = max(now, self._hold_until)
        if self._in_flight and (not self._headers_seen or self._probing):
            return math.inf  # learn from the answer out before sending more
        if self.limit is not None:
            self.mirror.margin = self._margin()
            ready = max(ready, self.mirror.ready_at(now, self._room(now)))
            cap = self.cap
            if self.share < 1 and cap is not None:
                ours = sorted(self.mirror.ours_alive(now))
                excess = len(ours) - cap + 1
                if excess > 0:
                    ready = max(ready, ours[excess - 1])
        if self.max_requests_per_minute:
            recent = [s.sent_at for s in self.mirror.ours if s.sent_at > now - 60.0]
            if len(recent) >= self.max_requests_per_minute:
                ready = max(ready, recent[-self.max_requests_per_minute] + 60.0)
        return ready

    # --- the calls every request makes ---

    def acquire(self) -> Ticket:
        """Block until a request may be sent, then count it as sent."""
        started = self._clock()
        with self._cond:
            while True:
                ticket = self._try_acquire_locked()
                if ticket is not None:
                    break
                now = self._clock()
                ready = self._ready_at(now)
                self._announce(now, ready)
                self._cond.wait(timeout=None if math.isinf(ready) else max(ready - now, 0.001))
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
        self._sequence += 1
        self._in_flight += 1
        self.mirror.ours.append(_Sent(self._sequence, now))
        self.mirror.forget(now)
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
            sent = self._find(ticket)
            sent.answered = True
            if status == 429:
                wait = self._refused(sent, ticket, parsed, now, text)
            else:
                wait = 0.0
                self._probing = False
                if parsed is not None:
                    self._counted(ticket, parsed, now)
            self._cond.notify_all()
        return wait

    def _counted(self, ticket: Ticket, headers: RateHeaders, now: float) -> None:
        self.limit, self.limit_source = headers.limit, "headers"
        self.mirror.learn_window(headers, ticket.sent_at)
        seen = _Observation(ticket.sequence, ticket.sent_at, now, headers.used, headers.limit, headers.reset)
        self.mirror.bound_window(seen)
        self.mirror.margin = self._margin()
        self.mirror.reconcile(seen)

    def _find(self, ticket: Ticket) -> _Sent:
        for sent in reversed(self.mirror.ours):
            if sent.sequence == ticket.sequence:
                return sent
        return _Sent(ticket.sequence, ticket.sent_at)  # long forgotten: nothing to mark

    def _refused(self, sent: _Sent, ticket: Ticket, headers: RateHeaders | None, now: float, text: str | None) -> float:
        """A 429: hold everyone until the reset (or until the mirror has room), then probe."""
        self.refusals += 1
        sent.refused = True
        if headers is not None:
            self.limit, self.limit_source = headers.limit, "headers"
            wait = headers.reset
        else:
            wait = self._learn_from_refusal(ticket, now, text)
        wait = max(wait, 0.5)
        if self.limit is not None:
            self.mirror.margin = self._margin()
            # A lowered limit: the window may hold more than the new limit; wait it out.
            wait = max(wait, self.mirror.ready_at(now, self.limit) - now) if self.mirror.window else wait
        self._hold_until = max(self._hold_until, now + wait)
        self._probing = True
        return wait

    def _learn_from_refusal(self, ticket: Ticket, now: float, text: str | None) -> float:
        """No headers: the limit is what the 429 says, or how many of ours got through."""
        stated = parse_refusal(text)
        if self.mirror.window is None:
            self.mirror.window = stated[1] if stated else _DOCUMENTED_WINDOW
            self.mirror.exact = True  # nothing better will come: take it as said
        window = self.mirror.window
        through = sum(1 for s in self.mirror.ours
                      if not s.refused and s.sequence < ticket.sequence and s.sent_at > ticket.sent_at - window)
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
        if self.mirror.last is not None and not self.mirror.trusted:
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
                "others_requests": self.mirror.others_seen,
                "refusals": self.refusals,
                "wait_seconds": round(self.wait_seconds, 3),
                "waits": self.waits,
            }
