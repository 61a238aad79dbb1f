"""What the account's window held around each 429: one `budget.py` row, run once, as a timeline.

`budget.py` says how many 429s a row drew; this says when and in what window. The row runs
as in `budget.py` (the same sandbox scenario, the same catalog, one tap child), and the
sandbox's journal of every request its window judged (`RollingWindow.journal`) is printed:

* one line per `--step` seconds: the tap's requests served and refused, the other
  integration's served and refused, and the window's count at the end of the step (of it,
  the other integration's and the prefill's);
* for each 429 the tap drew, every judgement of the `--context` seconds before it.

Example: `python benchmarks/rate_timeline.py --condition other-steady --meaning slot`.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterable
from dataclasses import dataclass

import _common as c
import budget

from ontraport_sandbox.ratelimit import Judgement


@dataclass
class Step:
    """The judgements of one step of the timeline, added up."""

    tap_served: int = 0
    tap_refused: int = 0
    other_served: int = 0
    other_refused: int = 0
    in_window: int | None = None  # after the step's last judgement
    others_in_window: int | None = None

    def add(self, judgement: Judgement) -> None:
        if judgement.other_tool:
            self.other_served += judgement.allowed
            self.other_refused += not judgement.allowed
        else:
            self.tap_served += judgement.allowed
            self.tap_refused += not judgement.allowed
        self.in_window, self.others_in_window = judgement.in_window, judgement.others_in_window


def run(condition: budget.Condition, meaning: str) -> tuple[list[Judgement], str]:
    """The sandbox's journal of one run of the row, and the tap's `Rate limit:` line."""
    with c.workdir() as folder:
        catalog = c.discover_catalog(folder, {"tags"}) if condition.streams == "tags" else c.discover_catalog(folder)
        with budget.condition_sandbox(condition, meaning) as sb:
            config = c.write_config(folder, sb)
            tap = c.run_tap(config, catalog=catalog)
        lines = c.log_lines(tap.stderr, "Rate limit:")
        return list(sb.limiter.journal), lines[-1] if lines else ""


def steps(journal: Iterable[Judgement], step: float) -> dict[int, Step]:
    by_step: dict[int, Step] = {}
    for judgement in journal:
        by_step.setdefault(math.floor(judgement.moment / step), Step()).add(judgement)
    return by_step


def print_timeline(journal: list[Judgement], step: float) -> None:
    print("| from s | tap served | tap 429 | other served | other refused | in window | of them others' |")
    print("|--:|--:|--:|--:|--:|--:|--:|")
    for index, totals in sorted(steps(journal, step).items()):
        print(f"| {index * step:g} | {totals.tap_served} | {totals.tap_refused} | {totals.other_served} "
              f"| {totals.other_refused} | {totals.in_window} | {totals.others_in_window} |")


def print_refusals(journal: list[Judgement], context: float) -> None:
    refused = [judgement for judgement in journal if not judgement.other_tool and not judgement.allowed]
    for refusal in refused:
        print(f"\nthe tap's 429 at {refusal.moment:.3f} s, and the {context:g} s before it:")
        for judgement in journal:
            if refusal.moment - context <= judgement.moment <= refusal.moment:
                whose = "other" if judgement.other_tool else "tap"
                verdict = "served" if judgement.allowed else "429"
                print(f"  {judgement.moment:9.3f}  {whose:5}  {verdict:6}  in window {judgement.in_window:3d} "
                      f"(others' {judgement.others_in_window:3d})  reset {judgement.reset}")


def main() -> int:
    # (the CPU-load row is the long row beside CPU burners: its window is the long row's)
    conditions = {condition.name: condition for condition in budget.table_rows(quick=True) if not condition.cpu_load}
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--condition", choices=sorted(conditions), default="other-steady",
                        help="a row of budget.py (its --quick form; default other-steady)")
    parser.add_argument("--meaning", choices=budget.MEANINGS, default="slot", help="the reset's meaning (default slot)")
    parser.add_argument("--step", type=float, default=1.0, help="seconds per timeline line (default 1)")
    parser.add_argument("--context", type=float, default=2.0, help="seconds shown before each 429 (default 2)")
    options = parser.parse_args()
    condition = conditions[options.condition]
    print(f"command: python benchmarks/rate_timeline.py --condition {condition.name} --meaning {options.meaning} "
          f"--step {options.step:g} --context {options.context:g}")
    print(f"condition: {condition.what}; seconds from the sandbox's start\n")
    journal, rate_line = run(condition, options.meaning)
    run_totals = Step()
    for judgement in journal:
        run_totals.add(judgement)
    print(f"tap: {run_totals.tap_served} served, {run_totals.tap_refused} x 429; "
          f"other tool: {run_totals.other_served} served, {run_totals.other_refused} refused")
    print(f"the tap said: {rate_line}\n")
    print_timeline(journal, options.step)
    print_refusals(journal, options.context)
    return 0


if __name__ == "__main__":
    sys.exit(main())
