"""The compatibility check's request budget: at most 3 requests per object and 100 in all.

Sandbox: the default account (seed 1: 31 objects), the default rate limit (180 per 60 s, so
the x-rate-limit headers are real), no latency; once without a variant, once per behaviour
variant, and once with every variant at once. `tap-ontraport-check --config ... --format json`
runs as a child process, `--runs` times per condition (a fresh sandbox each time).

Requests are counted by the sandbox (its request log), per object (path, plus `objectID` on
the generic endpoints; `/objects/meta` is the account's, not an object's), and compared with
the count the report states. Target: every run spends at most 100 requests in all and at most
3 on any object, and the report's count equals the sandbox's.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import Counter

import _common as c

REQUEST_LIMIT, PER_OBJECT_LIMIT = 100, 3
META_PATH = "/1/objects/meta"


def check_executable() -> str:
    return c.tap_executable().replace("tap-ontraport", "tap-ontraport-check")


def per_object(log: list) -> Counter:
    """Requests per object from the sandbox's log (the meta call left out)."""
    counts: Counter = Counter()
    for entry in log:
        if entry.path == META_PATH:
            continue
        object_id = entry.params.get("objectID")
        counts[f"{entry.path}?objectID={object_id}" if object_id else entry.path] += 1
    return counts


def one_run(folder, variants: list[str], seed: int) -> dict:
    with c.sandbox(seed=seed, rate_limit=180, variants=variants) as sb:
        config = c.write_config(folder, sb)
        out = folder / "report.json"
        run = c.run_measured([check_executable(), "--config", str(config), "--format", "json"],
                             stdout_path=out)
        log = list(sb.counters.log)
    report = json.loads(out.read_text()) if run.returncode == 0 else {}
    objects = per_object(log)
    return {"returncode": run.returncode, "wall": run.wall, "served": len(log),
            "stated": report.get("requests_spent"), "max_per_object": max(objects.values(), default=0),
            "objects": len(objects), "stderr": run.stderr}


def main() -> int:
    from ontraport_sandbox.variants import VARIANTS

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="runs per condition (default 3)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    c.header("tap-ontraport-check: requests spent per run", "check_budget.py",
             [f"--runs={args.runs}", f"--seed={args.seed}"])
    conditions = [("(none)", []), *((name, [name]) for name in VARIANTS), ("(all variants)", list(VARIANTS))]
    rows, all_ok = [], True
    with c.workdir() as folder:
        for label, variants in conditions:
            runs = [one_run(folder, variants, args.seed) for _ in range(args.runs)]
            for failed in (r for r in runs if r["returncode"] != 0):
                print(f"WARNING: {label}: the check exited {failed['returncode']}: {failed['stderr'][-300:]}")
            served = [r["served"] for r in runs]
            ok = all(r["returncode"] == 0 and r["served"] <= REQUEST_LIMIT and r["stated"] == r["served"]
                     and r["max_per_object"] <= PER_OBJECT_LIMIT for r in runs)
            all_ok &= ok
            walls = [r["wall"] for r in runs]
            rows.append([label, f"{min(served)}-{max(served)}", max(r["max_per_object"] for r in runs),
                         runs[0]["objects"], "yes" if all(r["stated"] == r["served"] for r in runs) else "NO",
                         statistics.median(walls), f"{min(walls):.2f}-{max(walls):.2f}", c.verdict(ok)])
    c.print_table(["variant", "requests (min-max)", "max per object", "objects read", "report = sandbox",
                   "wall s (median)", "wall s (min-max)", "target"], rows,
                  title=f"{args.runs} runs per condition; target: <= {REQUEST_LIMIT} requests, "
                        f"<= {PER_OBJECT_LIMIT} per object, the report's count = the sandbox's")
    print(f"overall: {c.verdict(all_ok)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
