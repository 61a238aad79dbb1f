"""The rate-limit scenarios: both reset meanings, headers off, limit changes, a 429 storm,
a window pre-filled by other tools, and another integration on the same account."""

from __future__ import annotations

import time

import pytest

from ontraport_sandbox import OtherTool, RateScenario, Sandbox
from ontraport_sandbox.cli import build_parser, rate_scenario
from ontraport_sandbox.ratelimit import RollingWindow

from .conftest import Client


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def window(limit=3, seconds=10.0, **scenario) -> tuple[RollingWindow, FakeClock]:
    clock = FakeClock()
    limiter = RollingWindow(limit, seconds, clock=clock, scenario=RateScenario(**scenario))
    limiter.begin()
    return limiter, clock


@pytest.mark.parametrize(("meaning", "resets"), [("slot", ["10", "8", "6"]), ("window", ["10", "10", "10"])])
def test_both_meanings_of_the_reset(meaning, resets):
    limiter, clock = window(reset_meaning=meaning)
    seen = []
    for _ in range(3):
        seen.append(limiter.acquire()[1]["x-rate-limit-reset"])
        clock.now += 2
    assert seen == resets
    allowed, headers = limiter.acquire()
    assert not allowed and headers["x-rate-limit-reset"] == ("4" if meaning == "slot" else "8")


def test_headers_off_still_enforces_the_limit():
    limiter, _ = window(headers=False)
    answers = [limiter.acquire() for _ in range(4)]
    assert [allowed for allowed, _ in answers] == [True, True, True, False]
    assert all(headers == {} for _, headers in answers)


def test_the_limit_changes_at_its_moment():
    limiter, clock = window(limit=2, changes=((5.0, 4),))
    assert [limiter.acquire()[0] for _ in range(3)] == [True, True, False]
    clock.now += 5
    allowed, headers = limiter.acquire()
    assert allowed and headers["x-rate-limit-limit"] == "4" and headers["x-rate-limit-remaining"] == "1"


def test_a_lowered_limit_refuses_until_the_window_drains():
    limiter, clock = window(limit=4, changes=((1.0, 2),))
    assert all(limiter.acquire()[0] for _ in range(4))
    clock.now += 1
    allowed, headers = limiter.acquire()
    assert not allowed and headers["x-rate-limit-limit"] == "2"


def test_a_storm_refuses_everything_for_its_length_and_counts_nothing():
    limiter, clock = window(limit=100, storm=(2.0, 3.0))
    assert limiter.acquire()[0]
    clock.now += 2
    refused = [limiter.acquire() for _ in range(5)]
    assert all(not allowed for allowed, _ in refused)
    assert all(h["x-rate-limit-remaining"] == "0" and h["x-rate-limit-reset"] == "1" for _, h in refused)
    clock.now += 3
    allowed, headers = limiter.acquire()
    assert allowed and headers["x-rate-limit-remaining"] == "98"  # the storm's refusals never counted


def test_prefill_puts_other_tools_requests_in_the_window():
    limiter, clock = window(limit=60, prefill=55)
    allowed, headers = limiter.acquire()
    assert allowed and headers["x-rate-limit-remaining"] == "4"
    assert headers["x-rate-limit-reset"] == "5"  # the oldest of them came half a window ago


def test_another_tool_is_counted_in_the_same_window():
    scenario = RateScenario(other=OtherTool(share=0.5))
    with Sandbox(rate_limit=20, rate_window=2, rate_scenario=scenario) as sb:
        time.sleep(1.0)
        client, others = Client(sb), sb.limiter.other_counts.served
        # The other tool keeps sending: read its count on both sides of our request, and ask
        # again (counted too) when one of its requests landed in between.
        ours = 0
        while True:
            served = len(others)
            used = 20 - int(client.get("/Contacts/getInfo").headers["x-rate-limit-remaining"])
            ours += 1
            if len(others) == served or ours == 5:
                break
    assert 4 <= served <= 7  # 5 per second: half of 20 per 2 s
    assert used == served + ours
    assert sb.counters.total == ours  # the other tool's requests are not in our request log


def test_the_journal_keeps_every_judgement_and_whose_it_was():
    limiter, clock = window(limit=3, prefill=1)
    clock.now += 1
    limiter.acquire()
    clock.now += 1
    limiter.acquire_for_other_tool()
    clock.now += 1
    limiter.acquire()  # refused: the prefill, ours and the other tool's fill the window
    clock.now += 5  # the prefill (half a window before the start) has left
    limiter.acquire()
    seen = [(j.moment, j.other_tool, j.allowed, j.in_window, j.others_in_window, j.reset) for j in limiter.journal]
    assert seen == [(1.0, False, True, 2, 1, 4), (2.0, True, True, 3, 2, 3),
                    (3.0, False, False, 3, 2, 2), (8.0, False, True, 3, 1, 3)]


def test_another_tool_in_bursts():
    tool = OtherTool.parse("0.5:burst=5")
    assert tool == OtherTool(share=0.5, burst=5)
    with Sandbox(rate_limit=20, rate_window=2, rate_scenario=RateScenario(other=tool)) as sb:
        time.sleep(0.5)
        assert len(sb.limiter.other_counts.served) == 5  # one burst, the next due after 1 s


@pytest.mark.parametrize("bad", [{"reset_meaning": "sometimes"}, {"changes": ((5, 0),)}, {"prefill": -1}])
def test_bad_scenarios_are_refused_with_a_reason(bad):
    with pytest.raises(ValueError):
        RateScenario(**bad)


def test_cli_builds_the_scenario():
    args = build_parser().parse_args(["--reset-meaning", "window", "--no-rate-headers", "--rate-change", "30:120",
                                      "--storm", "10:60", "--prefill", "50", "--other-tool", "0.5:burst=6"])
    assert rate_scenario(args) == RateScenario(reset_meaning="window", headers=False, changes=((30.0, 120),),
                                               storm=(10.0, 60.0), prefill=50, other=OtherTool(0.5, 6))
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--other-tool", "2"])
