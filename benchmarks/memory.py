"""Memory: peak RSS of the tap process at 10,000 and 100,000 contacts (flat = streaming).

Sandbox: no latency, no rate limit, a fresh one per size, in a thread of this process. The
tap (contacts only, stdout to /dev/null) runs as a child of a small launcher process, so its
ru_maxrss is its own (see _common._LAUNCHER: a child spawned straight from this process
would inherit this process's peak, sandbox included).
Target: peak RSS at the largest size within 20% of the one at the smallest.
"""

from __future__ import annotations

import argparse
import sys

import _common as c


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated contact counts, smallest first")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    c.header("memory: peak RSS of the tap by number of contacts", "memory.py", [f"--sizes={args.sizes}"])

    baseline = c.run_measured([c.tap_executable(), "--about", "--format=json"])
    rows = []
    with c.workdir() as folder:
        catalog = c.discover_catalog(folder, {"contacts"})
        for size in sizes:
            done = c.sync_contacts(folder, catalog, size, rate_limit=0)
            rows.append((size, done.run, done.records))

    first = rows[0][1].maxrss_mb
    c.print_table(
        ["contacts", "records emitted", "peak RSS MB", "vs smallest", "wall s", "CPU s", "exit"],
        [[size, records, run.maxrss_mb, f"{run.maxrss_mb / first:.2f}x", run.wall, run.cpu, run.returncode]
         for size, run, records in rows],
    )
    print(f"(for scale: `tap-ontraport --about`, imports only, peaks at {baseline.maxrss_mb:.1f} MB)")
    if len(rows) > 1:
        (small, small_run, _), (large, large_run, _) = rows[0], rows[-1]
        growth = (large_run.maxrss_mb - small_run.maxrss_mb) / (large - small) * 1000
        print(f"growth: {growth * 1024:.1f} KB per 1,000 extra records")
    print()
    print("targets:")
    last = rows[-1][1].maxrss_mb
    print(f"  {c.verdict(last <= first * 1.2)} peak RSS at {rows[-1][0]:,} ({last:.1f} MB) within 20% of the one "
          f"at {rows[0][0]:,} ({first:.1f} MB): {last / first:.2f}x")
    ok = all(records == size and run.returncode == 0 for size, run, records in rows)
    print(f"  {c.verdict(ok)} every run emitted all its records and exited 0")
    return 0


if __name__ == "__main__":
    sys.exit(main())
