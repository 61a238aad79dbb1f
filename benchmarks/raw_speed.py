"""Raw speed: the tap's own cost per record, beside a bare loop that fetches the same pages.

Sandbox: no latency, no rate limit, 50,000 contacts, in a thread of this process (a fresh
one per run, so no run profits from another's cache). The tap (contacts only) and the bare
loop each run as a child process with stdout to /dev/null; their CPU (user + sys) and peak
RSS come from os.wait4, so the sandbox's work is never counted as theirs.

The bare loop: requests.Session with the two auth headers, GET /Contacts?range=50&sort=id
&sortDir=asc&condition=[id > k] (keyset), one json.dumps line per record, stop on a short page.
Target: tap CPU per record and wall per record within 3x of the bare loop.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from typing import Any

PAGE = 50


def bare_loop(url: str, app_id: str, api_key: str) -> None:
    """The baseline (runs in its own child process): fetch every page, print each record."""
    import json

    import requests

    session = requests.Session()
    session.headers.update({"Api-Appid": app_id, "Api-Key": api_key})
    write = sys.stdout.write
    after = records = pages = 0
    while True:
        params = {"range": PAGE, "sort": "id", "sortDir": "asc"}
        if after:
            params["condition"] = json.dumps([{"field": {"field": "id"}, "op": ">", "value": {"value": after}}],
                                             separators=(",", ":"))
        response = session.get(url + "/Contacts", params=params, timeout=60)
        response.raise_for_status()
        page = response.json()["data"]
        pages += 1
        for record in page:
            write(json.dumps(record) + "\n")
        records += len(page)
        if len(page) < PAGE:
            break
        after = max(int(record["id"]) for record in page)
    sys.stdout.flush()
    print(f"bare loop: {records} records, {pages} requests", file=sys.stderr)


@dataclass
class Measured:
    name: str
    run: Any  # _common.ChildRun
    records: int
    requests: int
    in_flight: int  # the sandbox's peak concurrency
    server_cpu: float
    startup_cpu: float

    @property
    def cpu_per_k(self) -> float:
        return self.run.cpu * 1000 / self.records if self.records else math.inf

    @property
    def wall_per_k(self) -> float:
        return self.run.wall * 1000 / self.records if self.records else math.inf

    @property
    def marginal_cpu_per_k(self) -> float:
        return (self.run.cpu - self.startup_cpu) * 1000 / self.records if self.records else math.inf


def main() -> int:
    import _common as c

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=50_000)
    parser.add_argument("--profile", default="none",
                        help="none, py-spy, cprofile or both (py-spy,cprofile): also run the tap once more per "
                             "profiler and print its top entries by cumulative time")
    parser.add_argument("--py-spy", default=None, help="path of the py-spy executable (default: on PATH)")
    parser.add_argument("--top", type=int, default=15, help="profile entries to print")
    args = parser.parse_args()
    argv = [f"--contacts={args.contacts}", f"--profile={args.profile}", f"--top={args.top}"]
    if args.py_spy:
        argv.append(f"--py-spy={args.py_spy}")
    c.header("raw speed: per-record overhead of the tap vs a bare fetch loop", "raw_speed.py", argv)
    print(f"sandbox: {args.contacts:,} contacts, no latency, no rate limit; stdout of both to /dev/null")
    print()

    with c.workdir() as folder:
        catalog = c.discover_catalog(folder, {"contacts"})

        # Fixed costs: interpreter + imports, before any record.
        startup_tap = c.run_measured([c.tap_executable(), "--about", "--format=json"])
        startup_bare = c.run_measured([c.PYTHON, "-c", "import json, requests"])

        tap = c.sync_contacts(folder, catalog, args.contacts, rate_limit=0)
        tap_row = Measured("tap", tap.run, tap.records, len(c.requests_on(tap.sb, "/Contacts")),
                           tap.sb.counters.peak_concurrency, tap.server_cpu, startup_tap.cpu)

        with c.sandbox(sizes={0: args.contacts}, rate_limit=0) as sb:
            before = time.process_time()
            bare = c.run_measured([c.PYTHON, __file__, "--bare-loop", sb.url, sb.app_id, sb.api_key])
            server_cpu = time.process_time() - before
        said = [line for line in bare.stderr.splitlines() if line.startswith("bare loop:")]
        bare_row = Measured("bare loop", bare, int(said[0].split()[2]) if said else 0,
                            len(c.requests_on(sb, "/Contacts")), sb.counters.peak_concurrency, server_cpu,
                            startup_bare.cpu)

        c.print_table(
            ["process", "records", "requests", "in flight", "wall s", "records/s", "CPU s", "CPU s/1k rec",
             "wall s/1k rec", "CPU s/1k excl. start-up", "start-up CPU s", "peak RSS MB", "sandbox CPU s"],
            [[m.name, m.records, m.requests, m.in_flight, m.run.wall, round(m.records / m.run.wall), m.run.cpu,
              m.cpu_per_k, m.wall_per_k, m.marginal_cpu_per_k, m.startup_cpu, m.run.maxrss_mb, m.server_cpu]
             for m in (tap_row, bare_row)],
        )
        cpu_ratio = tap_row.cpu_per_k / bare_row.cpu_per_k
        wall_ratio = tap_row.wall_per_k / bare_row.wall_per_k
        marginal_ratio = tap_row.marginal_cpu_per_k / bare_row.marginal_cpu_per_k
        print()
        print("start-up = `tap-ontraport --about` for the tap, `python -c 'import json, requests'` for the bare loop; "
              "sandbox CPU = this process (the sandbox thread) during the run")
        print(f"ratios tap / bare loop: CPU per record {cpu_ratio:.2f}x "
              f"(excluding start-up {marginal_ratio:.2f}x), wall per record {wall_ratio:.2f}x")
        for line in c.log_lines(tap.run.stderr, "Summary:"):
            if not line.startswith("Summary: {"):  # the readable lines, not the JSON record
                print(f"tap says: {line}")
        print()
        print("targets:")
        print(f"  {c.verdict(cpu_ratio <= 3)} CPU per record within 3x of the bare loop ({cpu_ratio:.2f}x)")
        print(f"  {c.verdict(wall_ratio <= 3)} wall per record within 3x of the bare loop ({wall_ratio:.2f}x)")
        ok = (tap_row.records == args.contacts == bare_row.records
              and tap_row.run.returncode == 0 == bare_row.run.returncode)
        print(f"  {c.verdict(ok)} both emitted all {args.contacts:,} records and exited 0 "
              f"(tap {tap_row.records:,}, bare {bare_row.records:,})")

        for profiler in [name.strip() for name in args.profile.split(",") if name.strip() not in ("", "none")]:
            print()
            profile(c, args, profiler, folder, catalog)
    return 0


def profile(c, args, profiler: str, folder, catalog) -> None:  # noqa: ANN001 - c is the _common module
    """One more tap run under a profiler; prints the top entries by cumulative time."""
    import shutil

    if profiler not in ("cprofile", "py-spy"):
        print(f"MISS unknown profiler {profiler!r} (py-spy or cprofile)")
        return
    if profiler == "cprofile":
        import pstats

        out = folder / "tap.prof"
        run = c.sync_contacts(folder, catalog, args.contacts, rate_limit=0,
                              prefix=[c.PYTHON, "-m", "cProfile", "-o", str(out)]).run
        print(f"cProfile of the tap (main thread only: the page-fetching worker threads are not seen), "
              f"wall {run.wall:.1f}s")
        stats = pstats.Stats(str(out))
        stats.strip_dirs()
        print(f"top {args.top} by cumulative time:")
        stats.sort_stats("cumulative").print_stats(args.top)
        print(f"top {args.top} by own time (tottime):")
        stats.sort_stats("tottime").print_stats(args.top)
        return
    spy = args.py_spy or shutil.which("py-spy")
    if not spy:
        print("MISS py-spy not found: pass --py-spy PATH (pip install py-spy) or use --profile=cprofile")
        return
    out = folder / "tap.collapsed"
    run = c.sync_contacts(folder, catalog, args.contacts, rate_limit=0,
                          prefix=[spy, "record", "--rate", "250", "--function", "--gil", "--format", "raw",
                                  "--output", str(out), "--"]).run
    print(f"py-spy of the tap (--gil: only samples of the thread holding the GIL, i.e. Python CPU time; "
          f"all threads; 250 samples/s), wall {run.wall:.1f}s")
    print_collapsed_top(out, args.top)


def print_collapsed_top(path, top: int) -> None:  # noqa: ANN001
    """Top functions by inclusive ("cumulative") and own samples from py-spy's collapsed stacks."""
    from collections import Counter

    inclusive: Counter = Counter()
    own: Counter = Counter()
    by_thread: Counter = Counter()
    total = 0
    for line in open(path, encoding="utf-8", errors="replace"):
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        frames = stack.split(";")
        total += samples
        by_thread[frames[0]] += samples
        for frame in set(frames[1:]):
            inclusive[frame] += samples
        own[frames[-1]] += samples
    if not total:
        print("(no samples)")
        return
    print(f"{total} samples; by root frame (<module> = main thread, Thread._bootstrap = page workers): " + ", ".join(f"{name} {100 * n / total:.0f}%" for name, n in by_thread.most_common()))
    print(f"top {top} by cumulative (inclusive) share of samples:")
    for frame, samples in inclusive.most_common(top):
        print(f"  {100 * samples / total:5.1f}%  {frame}")
    print(f"top {top} by own samples:")
    for frame, samples in own.most_common(top):
        print(f"  {100 * samples / total:5.1f}%  {frame}")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--bare-loop":
        bare_loop(*sys.argv[2:5])
        sys.exit(0)
    sys.exit(main())
