"""The account-wide request budget, driven by Ontraport's x-rate-limit-* headers.

Ontraport counts requests per account in a rolling window and answers every request with
`x-rate-limit-limit` (requests per window), `x-rate-limit-remaining` and
`x-rate-limit-reset` (seconds until the window frees). One `RateGovernor` per process
gates every request of every stream:

* It learns the limit and the window length from the headers (no built-in 180 or 60):
  the window is the longest reset ever reported, which is what a fresh window reports.
* It keeps a log of its own send times and sends only while fewer than its cap were sent
  within one window (plus a margin for the network delay before Ontraport counts a
  request). The cap is `rate_limit_share` of the limit, less what other tools on the
  same account were seen using, so paced requests fill the budget without ever
  overrunning it.
* When Ontraport says the window is full (remaining 0, or a 429), every sender waits
  until the reset the headers give.
* `max_requests_per_minute` is an absolute ceiling on our own rate, on top of the share.

Nothing here sleeps in the caller's place except `acquire()`, so the waiting is in one
spot and shows up in the statistics.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

LIMIT_HEADER = "x-rate-limit-limit"
REMAINING_HEADER = "x-rate-limit-remaining"
RESET_HEADER = "x-rate-limit-reset"

#: How many recent round trips the network margin is computed from.
_RTT_SAMPLES = 20
#: How many recent estimates of other tools' usage are kept (their median is used).
_OTHERS_SAMPLES = 5


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
        self._sent: deque[float] = deque()  # our own send times, oldest first
        self._refused: set[float] = set()  # send times of our requests answered 429
        self._sequence = 0
        self._in_flight = 0
        self._headers_seen = False  # any answer at all has come back
        self.limit: int | None = None
        self.window: float | None = None
        self._full_until = 0.0  # Ontraport said the window is full until then
        self._rtts: deque[float] = deque(maxlen=_RTT_SAMPLES)
        self._others: deque[int] = deque(maxlen=_OTHERS_SAMPLES)
        self._window_exact = False  # seen alone in a window: its reset was the window itself
        self._window_bounds: deque[float] = deque(maxlen=_OTHERS_SAMPLES)
        # Requests given up after 429s: each of ours refused lowers the cap by one; each
        # window without a refusal gives one back.
        self._penalty = 0
        self._penalty_since = 0.0
        # What the waiting cost, for the run summary.
        self.wait_seconds = 0.0
        self.waits = 0

    # --- the budget as currently known ---

    @property
    def margin(self) -> float:
        """Seconds by which Ontraport's count of a request may lag our send time, at most.

        A constant delay only shifts Ontraport's window against ours; what can push one
        request too many into its window is how much the delay varies. That is bounded by
        the spread of recent round trips (plus a little), capped at a tenth of the window
        so one slow outlier cannot waste much of the budget.
        """
        if len(self._rtts) < 2:
            return min(0.5, (self.window or 10.0) / 10)
        spread = max(self._rtts) - min(self._rtts)
        return min(spread + 0.1, (self.window or 10.0) / 10)

    @property
    def cap(self) -> int | None:
        """How many of our requests may be in one window; None while it is unknown."""
        if self.limit is None:
            return None
        others = sorted(self._others)[len(self._others) // 2] if self._others else 0
        # Other tools send in bursts: keep their typical swing (about its square root) free
        # too, and always one request more, so that "remaining 0" means someone else.
        room = self.limit - others - math.ceil(math.sqrt(others)) - 1
        return max(1, min(math.floor(self.limit * self.share), room) - self._penalty)

    def _count_since(self, start: float) -> int:
        count = 0
        for sent_at in reversed(self._sent):
            if sent_at <= start:
                break
            count += 1
        return count

    def _ready_at(self, now: float) -> float:
        """The earliest moment a request may be sent (now, if it may go right away)."""
        ready = max(now, self._full_until)
        if not self._headers_seen and self._in_flight:
            return math.inf  # learn the budget from the first answer before sending more
        for count, period in self._limits():
            if self._count_since(now - period) >= count:
                ready = max(ready, self._sent[-count] + period)
        return ready

    def _limits(self) -> list[tuple[int, float]]:
        """Each rule as (at most `count` of our requests, in any `period` seconds)."""
        limits: list[tuple[int, float]] = []
        cap, window = self.cap, self.window
        if cap is not None and window is not None:
            # No spreading within the window: Ontraport counts a rolling window, so a burst
            # under the cap takes nothing from other tools that the cap doesn't already
            # leave them, and a small sync should finish at once.
            limits.append((cap, window + self.margin))
        if self.max_requests_per_minute:
            limits.append((self.max_requests_per_minute, 60.0))
        return limits

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
        """The clock time at which the next request may be sent."""
        with self._cond:
            return self._ready_at(self._clock())

    def _try_acquire_locked(self) -> Ticket | None:
        now = self._clock()
        if self._ready_at(now) > now:
            return None
        self._sequence += 1
        self._in_flight += 1
        self._sent.append(now)
        horizon = now - max(60.0, (self.window or 0) + self.margin) - 1
        while self._sent and self._sent[0] < horizon:
            self._refused.discard(self._sent.popleft())
        return Ticket(sent_at=now, sequence=self._sequence)

    def observe(self, ticket: Ticket, headers: Mapping[str, str] | None, status: int | None) -> float:
        """Learn from an answer (or a failed send: headers None). Returns the 429 wait.

        For a 429 the return value is how long Ontraport asked us to wait; every sender
        is held for that long.
        """
        now = self._clock()
        parsed = RateHeaders.parse(headers) if headers is not None else None
        wait = 0.0
        with self._cond:
            self._in_flight -= 1
            if headers is not None:
                self._headers_seen = True
                self._rtts.append(now - ticket.sent_at)
            if parsed is not None:
                self._learn(ticket, parsed, now, refused=status == 429)
            if self._penalty and self.window and now - self._penalty_since > self.window:
                self._penalty -= 1
                self._penalty_since = now
            if status == 429:
                self._refused.add(ticket.sent_at)
                self._penalty += 1
                self._penalty_since = now
                wait = parsed.reset if parsed is not None else 1.0
                wait = max(wait, 0.5)
                self._full_until = max(self._full_until, now + wait)
            self._cond.notify_all()
        return wait

    def _learn(self, ticket: Ticket, headers: RateHeaders, now: float, *, refused: bool) -> None:
        self.limit = headers.limit
        if headers.reset > 0 and not self._window_exact:
            self._learn_window(ticket, headers, refused=refused)
        if headers.remaining <= 0:
            self._full_until = max(self._full_until, now + headers.reset)
        if self.window and not refused:
            # Everything counted in Ontraport's window that isn't ours belongs to another
            # tool on the same account; leave that much room. A 429's headers only say
            # the window was full at that instant, which the pause already handles.
            ours = self._count_counted(ticket.sent_at - self.window, ticket.sent_at)
            used = headers.limit - headers.remaining
            self._others.append(max(0, used - ours))

    def _learn_window(self, ticket: Ticket, headers: RateHeaders, *, refused: bool) -> None:
        """The window's length, from when Ontraport says its oldest request expires.

        With only this request in the window, the reset *is* the window: exact. Otherwise
        the oldest request may be another tool's (or an earlier run's), and the reset is
        shorter than the window; once we have sent as many requests as the window holds,
        the oldest can be no older than the last of those, which bounds the window from
        above. Too short a window would send too fast; too long only costs a little speed.
        """
        reset = float(math.ceil(headers.reset))
        in_window = headers.limit - headers.remaining  # this request included
        if in_window <= 1 and not refused:
            self.window, self._window_exact = reset, True
            return
        self.window = max(self.window or 0.0, reset)
        ours = [sent for sent in self._sent if sent <= ticket.sent_at and sent not in self._refused]
        if not refused and 1 < in_window <= len(ours):
            self._window_bounds.append(ticket.sent_at + reset - ours[-in_window])
            self.window = max(self.window, sorted(self._window_bounds)[len(self._window_bounds) // 2])

    def _count_counted(self, start: float, end: float) -> int:
        """Our requests sent in (start, end] that Ontraport counted (not refused)."""
        return sum(1 for sent_at in self._sent if start < sent_at <= end and sent_at not in self._refused)

    def snapshot(self) -> dict[str, float | int | None]:
        with self._cond:
            return {
                "limit": self.limit,
                "window_seconds": self.window,
                "cap": self.cap,
                "in_flight": self._in_flight,
                "wait_seconds": round(self.wait_seconds, 3),
                "waits": self.waits,
            }
