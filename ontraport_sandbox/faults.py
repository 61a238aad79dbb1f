"""Injected failures: which request gets which fault.

A Fault fires on the request numbers in ``at`` (1-based, every request the server
receives counts), on every ``every``-th request, or at random with ``probability``;
``count`` caps how often it fires and ``path`` restricts it to paths containing a
substring. The random draw depends only on (seed, fault, request number), so a run with
the same seed and the same request sequence meets the same faults.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from .generate import Dice

#: Kinds answered in place of the API (before auth and rate limiting, not counted in the
#: window), and kinds that wrap a normal answer.
REPLACING = ("500", "502", "503", "504", "429", "reset", "html", "busy")
WRAPPING = ("hang", "truncated")
KINDS = REPLACING + WRAPPING


def _request_numbers(at: Iterable[int] | int) -> frozenset[int]:
    if isinstance(at, int):
        return frozenset((at,))
    return frozenset(int(n) for n in at)


@dataclass(frozen=True)
class Fault:
    kind: str
    probability: float = 0.0
    at: frozenset[int] = field(default=frozenset())
    every: int = 0
    count: int | None = None
    path: str | None = None
    reset_seconds: float = 1
    hang_seconds: float = 3600

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {', '.join(KINDS)}")
        object.__setattr__(self, "at", _request_numbers(self.at))
        if not 0 <= self.probability <= 1:
            raise ValueError("fault probability must be within 0..1")

    @classmethod
    def parse(cls, text: str) -> Fault:
        """KIND[:opt=value[,opt=value...]]; opts probability|p, at (1-5|7|9), every, count,
        path, reset (seconds, 429), hang (seconds). E.g. ``429:at=10-19,reset=2``."""
        kind, _, rest = text.strip().partition(":")
        options: dict = {}
        for item in filter(None, (p.strip() for p in rest.split(","))):
            name, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"fault option {item!r} is not name=value")
            name = name.strip().lower()
            if name in ("probability", "p"):
                options["probability"] = float(value)
            elif name == "at":
                options["at"] = _parse_numbers(value)
            elif name in ("every", "count"):
                options[name] = int(value)
            elif name == "path":
                options["path"] = value
            elif name in ("reset", "reset_seconds"):
                options["reset_seconds"] = float(value)
            elif name in ("hang", "hang_seconds"):
                options["hang_seconds"] = float(value)
            else:
                raise ValueError(f"unknown fault option {name!r}")
        return cls(kind.strip().lower(), **options)


def _parse_numbers(text: str) -> frozenset[int]:
    """'1-5|7|9' -> {1, 2, 3, 4, 5, 7, 9}."""
    numbers: set[int] = set()
    for part in filter(None, (p.strip() for p in text.split("|"))):
        low, sep, high = part.partition("-")
        numbers.update(range(int(low), int(high) + 1) if sep else (int(low),))
    return frozenset(numbers)


class FaultPlan:
    """The faults in force and how often each has fired."""

    def __init__(self, faults: Iterable[Fault], seed: int):
        self.seed = seed
        self._lock = threading.Lock()
        self.set(faults)

    def set(self, faults: Iterable[Fault]) -> None:
        with self._lock:
            self.faults = tuple(faults)
            self._fired = [0] * len(self.faults)

    def pick(self, request_number: int, path: str) -> Fault | None:
        """The first fault that fires on this request, counting it as fired."""
        with self._lock:
            for index, fault in enumerate(self.faults):
                if fault.count is not None and self._fired[index] >= fault.count:
                    continue
                if fault.path is not None and fault.path not in path:
                    continue
                if (request_number in fault.at
                        or (fault.every and request_number % fault.every == 0)
                        or (fault.probability and Dice(self.seed, index, request_number).chance(fault.probability))):
                    self._fired[index] += 1
                    return fault
        return None
