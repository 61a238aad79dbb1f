"""What the tap leaves to another integration on the same account: the governor on a simulated clock.

The sandbox's other tool (`budget.py`'s other-tool rows) sends on a fixed beat. Real
integrations send at random moments, so here the governor runs against the simulated
rolling window of `tests/unit/test_governor.py` (60 requests per 10 s, 250 +- 50 ms, 8
requests in flight, 300 s) beside a tool sending 3 requests a second (half the limit) at
random moments, alone or 6 at once, for each `rate_limit_share`. Printed per row: how many of
the other tool's requests were refused while the tap ran, the tap's own 429s, and the tap's
requests over what its share allows; min / median / max over `--seeds` seeds. The tap's 429s
after the first minute are printed apart: before it, the window's length may still be
being learnt from the counts (resets that count to one slot), after it, it should not be.

`--beat fixed` runs the sandbox's kind of tool instead (a fixed beat), `--other-starts with`
starts it with the tap instead of 30 s before (as when an integration wakes up beside a
running sync, or the sandbox's tool, which starts with the sandbox), and `--in-flight`
changes how many requests the tap keeps in flight (its default is 8; 4 is the governor's
unit tests'), so the easy and the hard case can be set side by side:

    python benchmarks/other_tools.py --seeds 5
    python benchmarks/other_tools.py --seeds 10 --beat fixed --shares 1 --in-flight 4
    python benchmarks/other_tools.py --seeds 5 --beat fixed --other-starts with
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.unit.test_governor import OtherTool, SlidingWindowServer, simulate, use  # noqa: E402

LIMIT, WINDOW, SECONDS = 60, 10.0, 300.0
SHARES = (1.0, 0.5, 0.4)
#: 429s from this moment on are printed apart (see the module's text).
LATE_FROM = 60.0
#: When the other tool starts, against the tap's start at 0 (`--other-starts`).
OTHER_STARTS = {"before": -30.0, "with": 0.0}


@dataclass(frozen=True)
class Row:
    share: float
    meaning: str
    burst: int
    at_random: bool
    in_flight: int
    other_starts: float


@dataclass(frozen=True)
class Outcome:
    others_refused: float  # share of the other tool's requests
    ours_refused: int
    ours_refused_late: int  # of them, from `LATE_FROM` on
    of_share: float  # our served requests over what our share allows


def one_run(row: Row, seed: int) -> Outcome:
    server = SlidingWindowServer(LIMIT, WINDOW, reset_meaning=row.meaning)
    simulate(server, latency=0.25, jitter=0.05, workers=row.in_flight, duration=SECONDS, share=row.share,
             seed=seed, other=OtherTool(rate=3.0, burst=row.burst, start=row.other_starts, at_random=row.at_random))
    late = sum(1 for moment in server.refused_at if moment >= LATE_FROM)
    return Outcome(server.others_refused_share, server.ours_rejected, late, use(server, 0, SECONDS) / row.share)


def spread(values: list[float], fmt: str) -> str:
    return " / ".join(format(v, fmt) for v in (min(values), statistics.median_low(values), max(values)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="runs per row, one seed each (default 5)")
    parser.add_argument("--beat", choices=("random", "fixed"), default="random",
                        help="when the other tool sends: at random moments (default) or on a fixed beat")
    parser.add_argument("--in-flight", type=int, default=8, help="the tap's requests in flight (default 8)")
    parser.add_argument("--other-starts", choices=tuple(OTHER_STARTS), default="before",
                        help="the other tool starts 30 s before the tap (default) or with it")
    parser.add_argument("--shares", default=",".join(f"{share:g}" for share in SHARES),
                        help="comma-separated rate_limit_share values (default 1,0.5,0.4)")
    options = parser.parse_args()
    shares = [float(value) for value in options.shares.split(",")]
    print(f"command: python benchmarks/other_tools.py --seeds {options.seeds} --beat {options.beat} "
          f"--in-flight {options.in_flight} --shares {options.shares} --other-starts {options.other_starts}")
    print(f"other tool: 3 requests/s {'at random moments' if options.beat == 'random' else 'on a fixed beat'}, "
          f"from {'30 s before the tap' if options.other_starts == 'before' else 'the tap start'}; "
          f"{options.in_flight} in flight; min / median / max over seeds\n")
    print("| share | reset | other tool sends | its requests refused | tap's 429s "
          f"| of them from {LATE_FROM:g} s | tap's requests / its share |")
    print("|--:|:--|:--|--:|--:|--:|--:|")
    for share in shares:
        for meaning in ("slot", "window"):
            for burst in (1, 6):
                row = Row(share, meaning, burst, options.beat == "random", options.in_flight,
                          OTHER_STARTS[options.other_starts])
                runs = [one_run(row, seed) for seed in range(1, options.seeds + 1)]
                print(f"| {share:g} | {meaning} | {'one at a time' if burst == 1 else f'{burst} at once'} "
                      f"| {spread([100 * r.others_refused for r in runs], '.0f')} % "
                      f"| {spread([r.ours_refused for r in runs], 'd')} "
                      f"| {spread([r.ours_refused_late for r in runs], 'd')} "
                      f"| {spread([r.of_share for r in runs], '.2f')} |", flush=True)


if __name__ == "__main__":
    main()
