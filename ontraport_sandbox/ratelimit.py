"""Ontraport's rolling rate limit: N requests per W seconds per account (reference section 6).

A sliding log of the times of the requests counted in the window. Every answer carries
x-rate-limit-limit, x-rate-limit-remaining (after counting this request) and
x-rate-limit-reset, whole seconds rounded up. Ontraport does not say what the reset means
in a rolling window, so both readings are served (`reset_meaning`):

* "slot" (default): until the oldest counted request leaves, i.e. one slot frees;
* "window": until the newest leaves, i.e. the whole window has cleared.

Either way it is the full window when nothing is counted. What a real account meets is
scripted in a `RateScenario` (all moments in seconds after the sandbox started):

* `changes`: the limit becomes L at moment T (a plan raised or lowered mid-run);
* `storm`: every request answered 429 (remaining 0, reset 1) for a while, not counted;
* `headers=False`: the limit holds, but no x-rate-limit-* header is sent (a proxy strips them);
* `prefill`: requests of other tools already in the window at start;
* `other`: another integration on the same account (`OtherTool`), counted in the same window.

Every request the window judges is also kept in `journal` (`Judgement`: when, whose, allowed
or not, and what the window held after it), so a benchmark can show what the window looked
like around each 429 (`benchmarks/rate_timeline.py`).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

RESET_MEANINGS = ("slot", "window")


@dataclass(frozen=True)
class OtherTool:
    """Another integration sending `share` of the limit, `burst` requests at a time."""

    share: float
    burst: int = 1

    def __post_init__(self) -> None:
        if not 0 < self.share < 1:
            raise ValueError("the other tool's share must be between 0 and 1 (exclusive)")
        if self.burst < 1:
            raise ValueError("the other tool's burst must be at least 1")

    @classmethod
    def parse(cls, text: str) -> OtherTool:
        """SHARE[:burst=N], e.g. "0.5" or "0.5:burst=6"."""
        share, _, rest = text.partition(":")
        burst = 1
        for item in filter(None, rest.split(",")):
            name, sep, value = item.partition("=")
            if name.strip() != "burst" or not sep:
                raise ValueError(f"other-tool option {item!r}: only burst=N is known")
            burst = int(value)
        return cls(share=float(share), burst=burst)


@dataclass(frozen=True)
class RateScenario:
    reset_meaning: str = "slot"
    headers: bool = True
    changes: tuple[tuple[float, int], ...] = ()  # (moment, new limit), in order
    storm: tuple[float, float] | None = None  # (start moment, seconds)
    prefill: int = 0
    other: OtherTool | None = None

    def __post_init__(self) -> None:
        if self.reset_meaning not in RESET_MEANINGS:
            raise ValueError(f"reset_meaning must be one of {RESET_MEANINGS}, got {self.reset_meaning!r}")
        object.__setattr__(self, "changes", tuple(sorted((float(at), int(limit)) for at, limit in self.changes)))
        if any(limit <= 0 for _, limit in self.changes):
            raise ValueError("a changed limit must be a positive number of requests")
        if self.prefill < 0:
            raise ValueError("prefill must be zero or more requests")


#: Judgements kept (the oldest are dropped beyond it: a long-running sandbox stays bounded).
JOURNAL_LENGTH = 200_000


@dataclass(frozen=True)
class Judgement:
    """One request as the window judged it; `moment` in seconds after `begin()`."""

    moment: float
    other_tool: bool  # sent by the scripted other integration (else by a client of the API)
    allowed: bool
    in_window: int  # requests counted in the window after this one
    others_in_window: int  # of them, the other integration's and the prefill's
    reset: int | None  # the x-rate-limit-reset answered (None without headers)


@dataclass
class OtherToolCounts:
    """What the other integration got: times of its counted requests, and its refusals."""

    served: list[float] = field(default_factory=list)
    refused: int = 0


class RollingWindow:
    def __init__(self, limit: int | None, window: float, clock=time.monotonic,
                 scenario: RateScenario | None = None):
        self.limit = limit or 0
        self.window = float(window)
        self.clock = clock
        self.scenario = scenario or RateScenario()
        self.other_counts = OtherToolCounts()
        self.journal: deque[Judgement] = deque(maxlen=JOURNAL_LENGTH)
        self._times: deque[tuple[float, bool]] = deque()  # (when counted, the other tools'?)
        self._others_in = 0  # of `_times`, the other tools' (the prefill's and the other integration's)
        self._lock = threading.Lock()
        self._started: float | None = None
        self._changes = list(self.scenario.changes)

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    def configure(self, limit: int | None, window: float) -> None:
        with self._lock:
            self.limit, self.window = limit or 0, float(window)
            self._times.clear()
            self._others_in = 0

    def begin(self) -> None:
        """The scenario's clock starts now; the prefill lands in the half window before it."""
        with self._lock:
            self._started = now = self.clock()
            count = min(self.scenario.prefill, self.limit)
            for n in range(count):
                self._times.append((now - self.window / 2 + n * (self.window / 2) / max(count, 1), True))
            self._others_in += count

    @property
    def started_at(self) -> float | None:
        """The clock time the scenario's moments count from (None before `begin()`)."""
        return self._started

    def moment(self, now: float) -> float:
        """Seconds since `begin()` (0 before it)."""
        return 0.0 if self._started is None else now - self._started

    def _apply_changes(self, now: float) -> None:
        while self._changes and self.moment(now) >= self._changes[0][0]:
            self.limit = self._changes.pop(0)[1]

    def _stormy(self, now: float) -> bool:
        storm = self.scenario.storm
        return storm is not None and storm[0] <= self.moment(now) < storm[0] + storm[1]

    def _expire(self, now: float) -> None:
        while self._times and self._times[0][0] <= now - self.window:
            self._others_in -= self._times.popleft()[1]

    def _headers(self, now: float, remaining: int) -> dict[str, str]:
        if not self.scenario.headers:
            return {}
        if not self._times:
            left = self.window
        elif self.scenario.reset_meaning == "slot":
            left = self._times[0][0] + self.window - now
        else:
            left = self._times[-1][0] + self.window - now
        return {
            "x-rate-limit-limit": str(self.limit),
            "x-rate-limit-remaining": str(max(0, remaining)),
            "x-rate-limit-reset": str(max(1, math.ceil(left - 1e-9))),
        }

    def acquire(self) -> tuple[bool, dict[str, str]]:
        """Count a request if the window has room: (allowed, headers). No headers when disabled."""
        if not self.enabled:
            return True, {}
        with self._lock:
            return self._judged(self.clock(), other_tool=False)

    def _judged(self, now: float, *, other_tool: bool) -> tuple[bool, dict[str, str]]:
        allowed, headers = self._acquire(now, other_tool)
        reset = headers.get("x-rate-limit-reset")
        self.journal.append(Judgement(self.moment(now), other_tool, allowed, len(self._times),
                                      self._others_in, None if reset is None else int(reset)))
        return allowed, headers

    def _acquire(self, now: float, other_tool: bool) -> tuple[bool, dict[str, str]]:
        self._apply_changes(now)
        self._expire(now)
        if self._stormy(now):
            headers = self._headers(now, 0)
            return False, dict(headers, **{"x-rate-limit-reset": "1"}) if headers else {}
        if len(self._times) >= self.limit:
            return False, self._headers(now, 0)
        self._times.append((now, other_tool))
        self._others_in += other_tool
        return True, self._headers(now, self.limit - len(self._times))

    def acquire_for_other_tool(self) -> bool:
        """One request of the other integration, counted in the same window; counted and
        recorded in `other_counts` at once, so a reader never sees one without the other."""
        with self._lock:
            now = self.clock()
            allowed = self._judged(now, other_tool=True)[0] if self.enabled else True
            if allowed:
                self.other_counts.served.append(now)
            else:
                self.other_counts.refused += 1
        return allowed

    def peek(self) -> dict[str, str]:
        """The headers as they stand, without counting anything."""
        if not self.enabled:
            return {}
        with self._lock:
            now = self.clock()
            self._apply_changes(now)
            self._expire(now)
            return self._headers(now, self.limit - len(self._times))

    def refusal(self) -> str:
        """Body of a 429 (the real body is UNCONFIRMED; this wording follows the doc's table)."""
        seconds = f"{self.window:g}"
        return (f"Too Many Requests - You have exceeded your maximum rate limit of "
                f"{self.limit} requests per {seconds} seconds")


class OtherToolTraffic:
    """A thread that sends the other integration's requests until stopped."""

    def __init__(self, limiter: RollingWindow, tool: OtherTool, stopping: threading.Event):
        self.limiter, self.tool, self._stopping = limiter, tool, stopping
        self._thread = threading.Thread(target=self._run, name="ontraport-sandbox-other-tool", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        period = self.tool.burst * self.limiter.window / (self.tool.share * max(self.limiter.limit, 1))
        next_at = time.monotonic()
        while not self._stopping.is_set():
            for _ in range(self.tool.burst):
                self.limiter.acquire_for_other_tool()
            next_at += period
            if self._stopping.wait(max(0.0, next_at - time.monotonic())):
                return


def parse_changes(texts: Iterable[str]) -> tuple[tuple[float, int], ...]:
    """["30:120", ...] -> ((30.0, 120), ...): at that many seconds, the limit becomes L."""
    changes = []
    for text in texts:
        at, sep, limit = text.partition(":")
        if not sep:
            raise ValueError(f"a rate change is SECONDS:LIMIT, got {text!r}")
        changes.append((float(at), int(limit)))
    return tuple(changes)
