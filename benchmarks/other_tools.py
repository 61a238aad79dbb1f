"""What the tap leaves to another integration on the same account: the governor on a simulated clock.

The sandbox's other tool (`budget.py`'s other-tool rows) sends on a fixed beat. Real
integrations send at random moments, so here the governor runs against the simulated
rolling window of `tests/unit/test_governor.py` (60 requests per 10 s, 250 +- 50 ms, 8
requests in flight, 300 s) beside a tool sending 3 requests a second (half the limit) at
random moments, alone or 6 at once, for each `rate_limit_share`. Printed per row: how many of
the other tool's requests were refused while the tap ran, the tap's own 429s, and the tap's
requests over what its share allows; min / median / max over `--seeds` seeds.

    python benchmarks/other_tools.py --seeds 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.unit.test_governor import OtherTool, SlidingWindowServer, simulate  # noqa: E402

LIMIT, WINDOW, SECONDS = 60, 10.0, 300.0
SHARES = (1.0, 0.5, 0.4)


def one_run(meaning: str, burst: int, share: float, seed: int) -> tuple[float, int, float]:
    server = SlidingWindowServer(LIMIT, WINDOW, reset_meaning=meaning)
    simulate(server, latency=0.25, jitter=0.05, workers=8, duration=SECONDS, share=share, seed=seed,
             other=OtherTool(rate=3.0, burst=burst, at_random=True))
    asked = len(server.others_served) + server.others_rejected
    allowed = SECONDS * LIMIT / WINDOW * share
    return server.others_rejected / asked, server.ours_rejected, len(server.ours_served) / allowed


def spread(values: list[float], fmt: str) -> str:
    return " / ".join(format(v, fmt) for v in (min(values), statistics.median(values), max(values)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="runs per row, one seed each (default 5)")
    options = parser.parse_args()
    print(f"command: python benchmarks/other_tools.py --seeds {options.seeds}")
    print("other tool: 3 requests/s at random moments; min / median / max over seeds\n")
    print("| share | reset | other tool sends | its requests refused | tap's 429s | tap's requests / its share |")
    print("|--:|:--|:--|--:|--:|--:|")
    for share in SHARES:
        for meaning in ("slot", "window"):
            for burst in (1, 6):
                runs = [one_run(meaning, burst, share, seed) for seed in range(1, options.seeds + 1)]
                refused = [100 * r[0] for r in runs]
                print(f"| {share:g} | {meaning} | {'one at a time' if burst == 1 else f'{burst} at once'} "
                      f"| {spread(refused, '.0f')} % | {spread([r[1] for r in runs], 'd')} "
                      f"| {spread([r[2] for r in runs], '.2f')} |", flush=True)


if __name__ == "__main__":
    main()
