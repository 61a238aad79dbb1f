"""Ontraport's rolling rate limit: N requests per W seconds per account (reference section 6).

A sliding log of the times of the requests counted in the window. Every answer carries
x-rate-limit-limit, x-rate-limit-remaining (after counting this request) and
x-rate-limit-reset (whole seconds, rounded up, until the oldest counted request leaves
the window; the full window when none is counted).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque


class RollingWindow:
    def __init__(self, limit: int | None, window: float, clock=time.monotonic):
        self.limit = limit or 0
        self.window = float(window)
        self.clock = clock
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    def configure(self, limit: int | None, window: float) -> None:
        with self._lock:
            self.limit, self.window = limit or 0, float(window)
            self._times.clear()

    def _expire(self, now: float) -> None:
        while self._times and self._times[0] <= now - self.window:
            self._times.popleft()

    def _headers(self, now: float, remaining: int) -> dict[str, str]:
        left = self._times[0] + self.window - now if self._times else self.window
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
            now = self.clock()
            self._expire(now)
            if len(self._times) >= self.limit:
                return False, self._headers(now, 0)
            self._times.append(now)
            return True, self._headers(now, self.limit - len(self._times))

    def peek(self) -> dict[str, str]:
        """The headers as they stand, without counting anything."""
        if not self.enabled:
            return {}
        with self._lock:
            now = self.clock()
            self._expire(now)
            return self._headers(now, self.limit - len(self._times))

    def refusal(self) -> str:
        """Body of a 429 (the real body is UNCONFIRMED; this wording follows the doc's table)."""
        seconds = f"{self.window:g}"
        return (f"Too Many Requests - You have exceeded your maximum rate limit of "
                f"{self.limit} requests per {seconds} seconds")
