"""Wall and CPU seconds of test files, each run alone, and of the fast suites as `dev.py test-fast` runs them.

Each file runs in its own pytest process, one worker, `--runs` times; the table prints
min/median/max wall seconds per file and the median CPU seconds (user + system of pytest
and every process it waited for: workers, sandboxes, tap runs). CPU seconds divided by the
number of CPUs is the least wall time the machine could take. `--suite` also times the fast
suites with the arguments `scripts/dev.py test-fast` gives pytest (both come from dev.py, so the
two cannot drift apart) against the issue's target of 2 minutes on the project's 2-CPU machine. Figures
move with whatever else the machine runs: the header prints the load average at start.

    python benchmarks/test_times.py tests/tap/test_resume.py tests/tap/test_deletions.py --runs 2
    python benchmarks/test_times.py --suite --runs 1
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _dev_module():
    """scripts/dev.py (not a package: loaded from its path; it imports only the standard library)."""
    spec = importlib.util.spec_from_file_location("dev", ROOT / "scripts" / "dev.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_DEV = _dev_module()
FAST_SUITES: list[str] = list(_DEV.FAST_SUITES)
#: time_pytest passes -q itself (twice, pytest would not print the closing line read below)
FAST_PYTEST_ARGS: list[str] = [arg for arg in _DEV.FAST_PYTEST_ARGS if arg != "-q"]
SUITE_TARGET_SECONDS = 120.0


@dataclass(frozen=True)
class Timing:
    label: str
    seconds: list[float]
    cpu_seconds: list[float]
    outcome: str  # pytest's closing line of the last run, e.g. "8 passed in 146.69s"

    def row(self) -> str:
        low, middle, high = min(self.seconds), statistics.median(self.seconds), max(self.seconds)
        return (f"| {self.label} | {len(self.seconds)} | {low:.1f} | {middle:.1f} | {high:.1f} "
                f"| {statistics.median(self.cpu_seconds):.1f} | {self.outcome} |")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_pytest(label: str, args: list[str], runs: int) -> Timing:
    seconds, cpu_seconds, outcome = [], [], ""
    for _ in range(runs):
        started, cpu_before = time.monotonic(), _children_cpu()
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                                cwd=ROOT, capture_output=True, text=True)
        seconds.append(time.monotonic() - started)
        cpu_seconds.append(_children_cpu() - cpu_before)
        closing = [line for line in result.stdout.splitlines() if re.search(r"\d+ (passed|failed|error)", line)]
        outcome = closing[-1].strip("= ") if closing else f"exit {result.returncode}"
    return Timing(label, seconds, cpu_seconds, outcome)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", help="test files, each timed alone with one worker")
    parser.add_argument("--runs", type=int, default=2, help="runs of each (default 2)")
    parser.add_argument("--suite", action="store_true", help="also time the fast suites with -n auto")
    options = parser.parse_args()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} CPUs")
    print(f"command: python benchmarks/test_times.py {' '.join(sys.argv[1:])}\n")
    print("| what | runs | min s | median s | max s | median CPU s | last run |")
    print("|:--|--:|--:|--:|--:|--:|:--|")
    for path in options.files:
        print(time_pytest(path, [path], options.runs).row(), flush=True)
    if options.suite:
        suite = time_pytest(f"fast suites, {' '.join(FAST_PYTEST_ARGS)}", [*FAST_PYTEST_ARGS, *FAST_SUITES],
                            options.runs)
        print(suite.row())
        floor = statistics.median(suite.cpu_seconds) / (os.cpu_count() or 1)
        print(f"\nCPU floor: {floor:.0f} s of wall on {os.cpu_count()} CPUs (median CPU seconds / CPUs)")
        verdict = "PASS" if statistics.median(suite.seconds) <= SUITE_TARGET_SECONDS else "MISS"
        print(f"\nfast suites under {SUITE_TARGET_SECONDS:.0f} s (median): {verdict}")


if __name__ == "__main__":
    main()
