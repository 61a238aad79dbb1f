"""The rate governor, driven by a simulated clock against a simulated rolling window.

The simulation is an event loop over virtual time: a server that counts each request
when it arrives (after the latency, like the sandbox) in a sliding window and answers with
the x-rate-limit-* headers, a few workers that send whenever the governor lets them, and
optionally another tool on the same account, a 429 storm, a limit that changes, headers
stripped. Each condition of the rate-budget issue is one test here, with its target.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from tap_ontraport.governor import (
    UNLIMITED_IN_FLIGHT,
    AccountWindow,
    RateGovernor,
    RateHeaders,
    _Counted,
    _Observation,
    fit_window,
    parse_refusal,
)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class SlidingWindowServer:
    """A rolling window of `limit` per `window` s; `reset_meaning` "slot" or "window"."""

    limit: int
    window: float
    reset_meaning: str = "slot"
    headers: bool = True
    limit_changes: list[tuple[float, int]] = field(default_factory=list)  # (at, new limit)
    storm: tuple[float, float] | None = None  # every answer 429 in [start, end)
    log: deque = field(default_factory=deque)
    ours_served: list[float] = field(default_factory=list)
    others_served: list[float] = field(default_factory=list)
    ours_rejected: int = 0
    others_rejected: int = 0
    refused_at: list[float] = field(default_factory=list)

    def limit_at(self, now: float) -> int:
        limit = self.limit
        for at, value in self.limit_changes:
            if now >= at:
                limit = value
        return limit

    def arrive(self, now: float, *, ours: bool = True) -> tuple[int, dict[str, str], str]:
        while self.log and self.log[0] <= now - self.window:
            self.log.popleft()
        limit = self.limit_at(now)
        stormy = self.storm is not None and self.storm[0] <= now < self.storm[1]
        if stormy or len(self.log) >= limit:
            status = 429
            if ours:
                self.ours_rejected += 1
                self.refused_at.append(now)
            else:
                self.others_rejected += 1
        else:
            status = 200
            self.log.append(now)
            (self.ours_served if ours else self.others_served).append(now)
        if not self.log:
            reset = self.window
        elif self.reset_meaning == "slot":
            reset = self.log[0] + self.window - now
        else:
            reset = self.log[-1] + self.window - now
        headers = {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(max(0, limit - len(self.log))),
            "x-rate-limit-reset": str(max(1, math.ceil(reset - 1e-9))),
        } if self.headers else {}
        if stormy:
            headers = dict(headers, **{"x-rate-limit-remaining": "0", "x-rate-limit-reset": "1"}) if headers else {}
        text = f"Too Many Requests - You have exceeded your maximum rate limit of {limit} requests per {self.window:g} seconds"
        return status, headers, text if status == 429 else ""

    @property
    def others_refused_share(self) -> float:
        """The share of the other tool's requests that were refused."""
        asked = len(self.others_served) + self.others_rejected
        return self.others_rejected / asked if asked else 0.0

    def ours_between(self, start: float, end: float) -> int:
        return sum(1 for t in self.ours_served if start <= t < end)

    def others_between(self, start: float, end: float) -> int:
        return sum(1 for t in self.others_served if start <= t < end)


@dataclass
class OtherTool:
    """Another integration: `rate` requests/s, sent `burst` at a time, from `start`; on a
    fixed beat, or `at_random` moments (exponential gaps of the same mean)."""

    rate: float
    burst: int = 1
    start: float = -30.0
    stop: float = math.inf
    at_random: bool = False


def simulate(server: SlidingWindowServer, *, latency=0.45, jitter=0.1, workers=4, duration=120.0, share=1.0,
             per_minute=None, other: OtherTool | None = None, busy_before=0, stall=0.0, seed=1,
             on_answer: Callable[[RateGovernor, float, int], None] | None = None):
    """Run `workers` senders for `duration` virtual seconds; returns the governor.

    `busy_before`: that many requests of another tool in the window before we start.
    `stall`: up to that many seconds of our own scheduling delay, between being allowed to
    send and sending, and between an answer arriving and the governor hearing of it (a busy CPU).
    `on_answer(governor, now, status)` is called after the governor has heard each answer.
    """
    rng = random.Random(seed)
    other_rng = random.Random(seed + 1)  # its own, so a fixed-beat tool leaves `rng` as it was
    clock = Clock()
    governor = RateGovernor(share=share, max_requests_per_minute=per_minute, clock=clock)
    for n in range(busy_before):  # spread over the second half of the window before t=0
        server.arrive(-server.window / 2 + n * (server.window / 2) / max(busy_before, 1), ours=False)
    events: list[tuple[float, int, str, object]] = []
    order = 0

    def push(at, kind, payload=None):
        nonlocal order
        order += 1
        heapq.heappush(events, (at, order, kind, payload))

    for worker in range(workers):
        push(0.0, "try", worker)
    if other is not None:
        push(max(other.start, -server.window), "other", None)
    while events:
        at, _, kind, payload = heapq.heappop(events)
        if at > duration:
            break
        clock.now = at
        if kind == "try":
            ticket = governor.try_acquire()
            if ticket is None:
                ready = governor.ready_at()
                push(min(ready, at + 0.05) if math.isfinite(ready) else at + 0.05, "try", payload)
                continue
            delay = max(0.0, latency + rng.uniform(-jitter, jitter)) + rng.uniform(0, stall)
            push(at + delay, "arrive", (payload, ticket))
        elif kind == "arrive":
            worker, ticket = payload
            status, headers, text = server.arrive(at)
            push(at + 0.002 + rng.uniform(0, stall), "answer", (worker, ticket, status, headers, text))
        elif kind == "answer":
            worker, ticket, status, headers, text = payload
            wait = governor.observe(ticket, headers, status, text if status == 429 else None)
            if on_answer is not None:
                on_answer(governor, at, status)
            push(at + wait, "try", worker)
        elif kind == "other" and at < other.stop:
            for _ in range(other.burst):
                server.arrive(at, ours=False)
            gap = other_rng.expovariate(other.rate / other.burst) if other.at_random else other.burst / other.rate
            push(at + gap, "other", None)
    return governor


MEANINGS = ["slot", "window"]


def use(server: SlidingWindowServer, start: float, end: float) -> float:
    """Our served requests in [start, end) over what the window allowed in that time."""
    return server.ours_between(start, end) / ((end - start) * server.limit_at(end) / server.window)


@pytest.mark.parametrize("meaning", MEANINGS)
@pytest.mark.parametrize(("limit", "window", "latency", "jitter"),
                         [(60, 10, 0.25, 0.05), (60, 10, 0.45, 0.1), (180, 60, 0.25, 0.05), (180, 60, 0.45, 0.1)])
def test_a_long_stream_fills_the_budget_without_a_429(meaning, limit, window, latency, jitter):
    # 600+ pages: >= 0.95 of the allowed rate over the whole stream, 0 x 429
    duration = 700 * window / limit
    server = SlidingWindowServer(limit, window, reset_meaning=meaning)
    governor = simulate(server, latency=latency, jitter=jitter, duration=duration)
    assert server.ours_rejected == 0
    assert len(server.ours_served) >= 600
    assert use(server, 0, duration) >= 0.95
    assert governor.limit == limit and governor.window == window


def _left_to_us(server: SlidingWindowServer, start: float, end: float) -> float:
    left = (end - start) * server.limit / server.window - server.others_between(start, end)
    return server.ours_between(start, end) / left


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("burst", [1, 6])
def test_another_tool_on_the_account_is_left_its_half(burst, seed):
    # the other sends 3/s (half of 60 per 10 s), steadily or 6 at a time every 2 s, from
    # before we start; resets that say when the window clears: we take >= 0.90 of what it
    # leaves, without a single 429, and the summary's count of its requests is about right
    server = SlidingWindowServer(60, 10, reset_meaning="window")
    governor = simulate(server, latency=0.25, jitter=0.05, duration=300, other=OtherTool(rate=3.0, burst=burst),
                        seed=seed)
    assert server.ours_rejected == 0
    assert _left_to_us(server, 20.0, 300.0) >= 0.90
    assert 0.85 <= governor.snapshot()["others_requests"] / len(server.others_served) <= 1.15


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("burst", [1, 6])
def test_another_tool_and_resets_that_count_to_one_slot(burst, seed):
    # the same, but each reset says only when the oldest request leaves, and the window is
    # never empty, so no reset ever says how long it is: the counts do (`fit_window`),
    # within a minute. Until then requests go only where the counts show room, and a few
    # probes meet the other tool's requests (a known gap: 1 to 10 x 429 in the first 45 s,
    # none after); from then on >= 0.90 of what the other leaves.
    server = SlidingWindowServer(60, 10, reset_meaning="slot")
    governor = simulate(server, latency=0.25, jitter=0.05, duration=300, other=OtherTool(rate=3.0, burst=burst),
                        seed=seed)
    assert all(moment < 45 for moment in server.refused_at) and server.ours_rejected <= 10
    assert _left_to_us(server, 20.0, 300.0) >= 0.90
    assert governor.mirror.trusted and 10 <= governor.window <= 10.6


@pytest.mark.parametrize("start", [-30.0, 0.0])
@pytest.mark.parametrize("workers", [4, 8])
@pytest.mark.parametrize("burst", [1, 6])
def test_while_the_window_is_only_bounded_the_mirror_holds_what_the_server_counted(burst, workers, start):
    # resets that count to one slot, another tool keeping the window busy: until the fits
    # are trusted the window's length is only bounded. One of ours sent about a bound ago may
    # have left before the last count, its slot taken by the other tool's; dropping it at the
    # bound's expiry freed that slot twice (in one run, 55 held for a count of 59 at 12.6 s,
    # and three requests went into a full window). Until the next count, the mirror holds at
    # least what the last one said.
    short: list[tuple[float, int, int]] = []

    def check(governor: RateGovernor, now: float, status: int) -> None:
        mirror = governor.mirror
        if status == 429 or mirror.trusted or mirror.last is None:
            return
        held = sum(1 for entry in mirror.entries if mirror.foreseen_expiry(entry) > now)
        if held < mirror.last.used:
            short.append((round(now, 2), held, mirror.last.used))

    server = SlidingWindowServer(60, 10, reset_meaning="slot")
    simulate(server, latency=0.25, jitter=0.05, workers=workers, duration=90,
             other=OtherTool(rate=3.0, burst=burst, start=start), seed=2, on_answer=check)
    assert short == []


@pytest.mark.parametrize(("longest_reset", "bound", "leaves"), [
    (10.0, 10.4, True),  # the length is between 9 and 10.4 s: close enough
    (10.0, 12.0, False),  # between 9 and 12 s: too loose, only counts free room
    (2.0, 10.4, False),  # a short reset bounds nothing from below
])
def test_before_the_window_is_fitted_close_bounds_let_ours_leave(longest_reset, bound, leaves):
    # resets that count to one slot, another tool in the window: the first reset (10, with
    # few requests counted) says the window is over 9 s, ours leaving that it is at most the
    # bound. One of ours sent 2 s before the last count was surely in it and leaves by the
    # bound; one sent 9.5 s before may have left before it (its slot maybe another tool's
    # since): it frees nothing until a count says.
    window = AccountWindow(length=bound, longest_reset=longest_reset, dropped_bound=bound, spread=0.1)
    recent, old = _Counted(3.0, 3.0, 3.3, sequence=2), _Counted(-4.5, -4.5, -4.2, sequence=1)
    window.entries.extend([old, recent])
    window.last = _Observation(sequence=3, sent_at=5.0, seen_at=5.3, used=40, reset=1.0)
    assert not window.trusted
    assert window.foreseen_expiry(recent) == (pytest.approx(3.0 + 0.1 + bound) if leaves else math.inf)
    assert window.foreseen_expiry(old) == math.inf


def test_without_other_tools_none_are_imagined():
    # our own requests overtaking each other on the way must not be taken for another tool's
    # (a few are, where the delays of two of ours differ by more than any before)
    server = SlidingWindowServer(60, 10, reset_meaning="slot")
    governor = simulate(server, latency=0.45, jitter=0.1, workers=8, duration=120)
    assert governor.snapshot()["others_requests"] <= 0.02 * len(server.ours_served)


def _counts_with_a_window(window: float, other_every: float, seconds: float = 60.0):
    """Our sends (a burst, then one per 0.2 s) and the counts a rolling window gives them."""
    ours = [n * 0.01 for n in range(30)] + [1.0 + n * 0.2 for n in range(int((seconds - 1) / 0.2))]
    others = [-window + n * other_every for n in range(int((seconds + window) / other_every))]
    counted = sorted([(t, True) for t in ours] + [(t, False) for t in others])
    counts = []
    for moment, is_ours in counted:
        if is_ours:
            counts.append((moment, sum(1 for t, _ in counted if moment - window < t <= moment)))
    return ours, counts


@pytest.mark.parametrize("window", [10.0, 30.0])
def test_fit_window_finds_the_window_from_counts_alone(window):
    ours, counts = _counts_with_a_window(window, other_every=0.35, seconds=4 * window)
    found = fit_window(ours, counts, 1.0, 2.5 * window)
    assert found is not None and abs(found - window) <= 0.3


def test_fit_window_says_nothing_when_the_counts_span_less_than_the_window():
    ours, counts = _counts_with_a_window(30.0, other_every=0.35, seconds=20.0)
    assert fit_window(ours, counts, 1.0, 13.0) is None


@pytest.mark.parametrize("meaning", MEANINGS)
def test_after_a_storm_of_429s_the_budget_is_used_again_at_once(meaning):
    # 60 s of 429s, then normal: >= 0.90 of the allowed rate from the first full window after
    server = SlidingWindowServer(60, 10, reset_meaning=meaning, storm=(30.0, 90.0))
    simulate(server, latency=0.25, jitter=0.05, duration=200)
    assert use(server, 90.0, 200.0) >= 0.90
    assert server.ours_rejected <= 70  # about one probe per reset during the storm, not a flood


def test_without_headers_the_limit_is_learned_from_the_429s():
    # a proxy strips the headers, the limit still holds: < 2% answered 429, >= 0.80 of the limit
    server = SlidingWindowServer(60, 10, headers=False)
    governor = simulate(server, latency=0.25, jitter=0.05, duration=120)
    total = len(server.ours_served) + server.ours_rejected
    assert server.ours_rejected / total < 0.02
    assert use(server, 0, 120) >= 0.80
    assert governor.snapshot()["limit_source"] == "429"


def test_without_headers_or_words_a_429_still_teaches_a_limit():
    clock = Clock()
    governor = RateGovernor(clock=clock)
    for _ in range(9):  # nine get through, in rounds of what may be in flight
        ticket = governor.try_acquire()
        governor.observe(ticket, {}, 200)
    governor.observe(governor.try_acquire(), {}, 429, "slow down")
    assert governor.limit == 9 and governor.window == 60  # what got through, in Ontraport's documented minute
    assert governor.try_acquire() is None


@pytest.mark.parametrize("meaning", MEANINGS)
def test_a_raised_limit_is_used_from_the_second_window(meaning):
    # 60 -> 120 per 10 s at t=60: >= 0.95 of the new limit from the second window after
    server = SlidingWindowServer(60, 10, reset_meaning=meaning, limit_changes=[(60.0, 120)])
    simulate(server, latency=0.25, jitter=0.05, workers=8, duration=160)
    assert use(server, 70.0, 160.0) >= 0.95
    assert server.ours_rejected == 0


@pytest.mark.parametrize("meaning", MEANINGS)
def test_a_lowered_limit_costs_few_429s(meaning):
    # 120 -> 60 per 10 s at t=60, while the window is full: the first request after the
    # wait goes alone and is refused; the others learn from it. At most 2 x 429.
    server = SlidingWindowServer(120, 10, reset_meaning=meaning, limit_changes=[(60.0, 60)])
    simulate(server, latency=0.25, jitter=0.05, duration=160, workers=8)
    assert server.ours_rejected <= 2
    assert use(server, 80.0, 160.0) >= 0.90


@pytest.mark.parametrize("meaning", MEANINGS)
def test_a_run_that_starts_in_a_filled_window_is_never_refused(meaning):
    # another tool sent 55 of 60 in the last 5 s before we start
    server = SlidingWindowServer(60, 10, reset_meaning=meaning)
    simulate(server, latency=0.25, jitter=0.05, duration=120, busy_before=55)
    assert server.ours_rejected == 0
    assert use(server, 20, 120) >= 0.80


@pytest.mark.parametrize("meaning", MEANINGS)
def test_our_own_scheduling_delays_do_not_distort_the_budget(meaning):
    # a busy CPU: up to 50 ms between being allowed and sending, and before an answer is read
    quiet = SlidingWindowServer(60, 10, reset_meaning=meaning)
    simulate(quiet, latency=0.25, jitter=0.05, duration=120)
    busy = SlidingWindowServer(60, 10, reset_meaning=meaning)
    governor = simulate(busy, latency=0.25, jitter=0.05, duration=120, stall=0.05)
    assert busy.ours_rejected == 0
    assert abs(use(busy, 0, 120) - use(quiet, 0, 120)) <= 0.03
    assert governor.window == 10


@pytest.mark.parametrize("share", [0.5, 0.25])
def test_share_leaves_the_rest_of_the_budget(share):
    server = SlidingWindowServer(60, 10)
    simulate(server, latency=0.45, jitter=0.1, duration=120, share=share)
    assert server.ours_rejected == 0
    assert share - 0.05 <= use(server, 0, 120) <= share + 0.05


@pytest.mark.parametrize("meaning", MEANINGS)
def test_a_share_beside_another_tool_keeps_sending(meaning):
    # half the budget for us, another tool sending the other half from before we start: no
    # reset says the window while it keeps it busy, yet our share must not wait for our own
    # requests to be seen leaving (that wait would never end: no answers, nothing learnt)
    server = SlidingWindowServer(60, 10, reset_meaning=meaning)
    governor = simulate(server, latency=0.25, jitter=0.05, workers=8, duration=120, share=0.5,
                        other=OtherTool(rate=3.0))
    assert server.ours_rejected == 0
    assert 0.85 * 0.5 <= use(server, 0, 120) <= 0.5 + 0.05
    # the summary's count of the other tool's requests holds from the window learnt by the end
    # (taken from the guess of each moment, a 1 s reset made it ten times too many)
    assert 0.85 <= governor.snapshot()["others_requests"] / server.others_between(0, 120) <= 1.15


@pytest.mark.parametrize("meaning", MEANINGS)
@pytest.mark.parametrize("burst", [1, 6])
def test_a_share_leaves_a_tool_that_starts_with_us_its_part(burst, meaning):
    # a tool that starts with the tap finds no room kept for it: at share 1 it has 7-24% of
    # its requests refused (benchmarks/other_tools.py --other-starts with). A share of half
    # the limit leaves it whole, and the tap is never refused. (The tap then sends 0.83-0.92
    # of its share: its half and the other's fill the limit, and the room kept for the swing
    # of the others' count comes out of ours.)
    server = SlidingWindowServer(60, 10, reset_meaning=meaning)
    simulate(server, latency=0.25, jitter=0.05, workers=8, duration=150, share=0.5,
             other=OtherTool(rate=3.0, burst=burst, start=0.0))
    assert server.ours_rejected == 0
    assert server.others_refused_share <= 0.02
    assert use(server, 0, 150) >= 0.8 * 0.5


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("burst", [1, 6])
def test_a_small_share_beside_a_tool_that_starts_with_us_is_used(burst, seed):
    # a share of 0.4 beside a tool sending half the limit from our start, resets that count
    # to one slot: the first counts bound the window loosely (31 s for 10 s), and a fit
    # floor taken from that bound alone kept it there, so the tap sent 0.34-0.74 of its
    # share. The floor scales with the share: >= 0.85 of the share, the window fitted.
    # (In 1 of 10 seeds the fit comes out at 9.64 s and draws 2 x 429; not among these.)
    server = SlidingWindowServer(60, 10, reset_meaning="slot")
    governor = simulate(server, latency=0.25, jitter=0.05, workers=8, duration=300, share=0.4,
                        other=OtherTool(rate=3.0, burst=burst, start=0.0), seed=seed)
    assert server.ours_rejected == 0
    assert use(server, 0, 300) >= 0.85 * 0.4
    assert governor.mirror.trusted and 10 <= governor.window <= 10.6


def test_max_requests_per_minute_is_a_hard_ceiling():
    server = SlidingWindowServer(1000, 60)
    simulate(server, latency=0.05, jitter=0.01, duration=180, per_minute=90)
    assert 3 * 90 - 5 <= len(server.ours_served) <= 3 * 90 + 1


def test_a_small_sync_is_not_slowed_down():
    # 40 requests under a 180-per-60 s budget: no reason to wait at all
    server = SlidingWindowServer(180, 60)
    simulate(server, latency=0.1, jitter=0.02, duration=1.5)
    assert len(server.ours_served) >= 50  # 4 in flight for 1.5 s: the network is the only limit


def test_first_answer_teaches_the_budget_before_more_requests_go():
    clock = Clock()
    governor = RateGovernor(clock=clock)
    first = governor.try_acquire()
    assert first is not None
    assert governor.try_acquire() is None  # nothing known yet: one request at a time
    governor.observe(first, {"x-rate-limit-limit": "4", "x-rate-limit-remaining": "3", "x-rate-limit-reset": "10"}, 200)
    assert governor.limit == 4 and governor.window == 10  # alone in the window: the reset is the window
    assert all(governor.try_acquire() is not None for _ in range(3))
    assert governor.try_acquire() is None  # 4 per window, all used
    clock.now = 10.6
    assert governor.try_acquire() is not None


def test_429_holds_every_sender_until_the_reset_then_one_probes():
    clock = Clock()
    governor = RateGovernor(clock=clock)
    ticket = governor.try_acquire()
    wait = governor.observe(ticket, {"x-rate-limit-limit": "180", "x-rate-limit-remaining": "0", "x-rate-limit-reset": "7"}, 429)
    assert wait == 7
    assert governor.try_acquire() is None
    clock.now = 6.9
    assert governor.try_acquire() is None
    clock.now = 7.1
    probe = governor.try_acquire()
    assert probe is not None
    assert governor.try_acquire() is None  # the others wait for the probe's answer
    governor.observe(probe, {"x-rate-limit-limit": "180", "x-rate-limit-remaining": "179", "x-rate-limit-reset": "60"}, 200)
    assert governor.try_acquire() is not None


def test_no_headers_means_no_limit():
    clock = Clock()
    governor = RateGovernor(clock=clock)
    for _ in range(500):  # one after another, as fast as answers come: never held
        ticket = governor.try_acquire()
        assert ticket is not None
        governor.observe(ticket, {"Content-Type": "application/json"}, 200)


def test_without_headers_few_requests_are_on_their_way_when_the_first_429_comes():
    clock = Clock()
    governor = RateGovernor(clock=clock)
    governor.observe(governor.try_acquire(), {}, 200)
    tickets = [governor.try_acquire() for _ in range(10)]
    assert sum(ticket is not None for ticket in tickets) == UNLIMITED_IN_FLIGHT


def test_a_long_hold_is_announced_once_with_the_why(caplog):
    # our first request finds the window full, 59 of the 60 by another tool
    caplog.set_level("INFO", logger="tap-ontraport")
    clock = Clock()
    governor = RateGovernor(clock=clock)
    ticket = governor.try_acquire()
    clock.now = 0.3
    governor.observe(ticket, {"x-rate-limit-limit": "60", "x-rate-limit-remaining": "0", "x-rate-limit-reset": "30"}, 200)
    assert governor.ready_at() > 30
    assert governor.ready_at() > 30
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("waiting")]
    assert lines == ["waiting 30 s for the rate limit: 60 of 60 requests of the last 30 s used, 59 of them by other tools"]


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("Too Many Requests - You have exceeded your maximum rate limit of 60 requests per 10 seconds", (60, 10.0)),
        ("You have exceeded your maximum rate limit of 180 requests per minute", (180, 60.0)),
        ("slow down", None),
        (None, None),
    ],
)
def test_refusal_text_parsing(text, parsed):
    assert parse_refusal(text) == parsed


@pytest.mark.parametrize(
    ("headers", "parsed"),
    [
        ({"x-rate-limit-limit": "180", "x-rate-limit-remaining": "179", "x-rate-limit-reset": "23"}, RateHeaders(180, 179, 23.0)),
        ({"x-rate-limit-limit": "180", "x-rate-limit-remaining": "-1", "x-rate-limit-reset": "2"}, RateHeaders(180, 0, 2.0)),
        ({"x-rate-limit-limit": "abc", "x-rate-limit-remaining": "1", "x-rate-limit-reset": "2"}, None),
        ({"x-rate-limit-limit": "180"}, None),
        ({}, None),
    ],
)
def test_header_parsing(headers, parsed):
    assert RateHeaders.parse(headers) == parsed


def test_of_the_requests_waiting_the_most_urgent_goes_first():
    import threading

    clock = Clock()
    governor = RateGovernor(clock=clock)
    ticket = governor.try_acquire()
    governor.observe(ticket, {"x-rate-limit-limit": "1", "x-rate-limit-remaining": "0", "x-rate-limit-reset": "10"}, 200)
    got: list[str] = []

    def wait_for_a_slot(name: str, urgency: float) -> None:
        governor.acquire(urgency)
        got.append(name)

    threads = [threading.Thread(target=wait_for_a_slot, args=args, daemon=True)
               for args in (("lagging range", 500.0), ("read-ahead", -1.0), ("nearly done", 50.0))]
    for thread in threads:
        thread.start()
    while len(governor._waiting) < 3:
        threading.Event().wait(0.01)
    clock.now = 11.0  # the one slot frees: one request goes, the most urgent
    with governor._cond:
        governor._cond.notify_all()
    threading.Event().wait(0.3)
    assert got == ["lagging range"]


@pytest.mark.parametrize("meaning", MEANINGS)
def test_the_kept_reckoning_is_what_a_fresh_one_would_say(meaning):
    # `_ready_at` keeps the mirror's expiries between changes; asked between a send and its
    # answer and again after the answer, they must equal a fresh computation every time.
    server = SlidingWindowServer(60, 10, reset_meaning=meaning)
    clock = Clock()
    governor = RateGovernor(clock=clock)
    other = 0.0
    checks = 0
    while clock.now < 40:
        while other <= clock.now:  # another tool, 6 at a time every 2 s
            for _ in range(6):
                server.arrive(other, ours=False)
            other += 2.0
        ticket = governor.try_acquire()
        governor.ready_at()  # keeps a reckoning
        if ticket is not None:
            clock.now += 0.25
            status, headers, text = server.arrive(clock.now)
            governor.observe(ticket, headers, status, text or None)
            governor.ready_at()
            if governor.limit is not None:
                assert governor._reckoning == (governor.mirror.sorted_expiries(), governor._room())
                checks += 1
        clock.now += 0.05
    assert checks > 50 and server.ours_served
