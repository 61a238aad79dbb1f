"""Requests per record: a full sync of the default sandbox account, then a no-change rerun.

Sandbox: the default account (seed 1: 3,893 records in 31 objects), no latency, a rate
limit too high to bind (the x-rate-limit headers are still sent, as by Ontraport). Every
stream selected. Requests are counted by the sandbox, per stream (path + objectID).

Run 1 (no state). Target: per stream, requests within 5% of ceil(records / 50), plus one
`/objects/meta` call in total.
Run 2 (the final STATE of run 1, nothing changed in between). Target: one collection
request per incremental stream plus the meta call; full-table streams are read again in
full (ceil(records / 50), shown for completeness).
"""

from __future__ import annotations

import argparse
import json
import math
import sys

import _common as c

META = "(meta)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate-limit", type=int, default=100_000, help="per 60 s window (0: no limit, no headers)")
    args = parser.parse_args()
    c.header("requests per record: full sync, then a no-change incremental run", "requests_per_record.py",
             [f"--seed={args.seed}", f"--rate-limit={args.rate_limit}"])

    with c.workdir() as folder:
        catalog = c.discover_catalog(folder, None, seed=args.seed)
        methods = c.replication_methods(catalog)
        with c.sandbox(seed=args.seed, rate_limit=args.rate_limit) as sb:
            config = c.write_config(folder, sb)
            first = c.run_tap(config, catalog=catalog, stdout_path=folder / "run1.jsonl")
            first_requests = c.stream_requests(sb)
            first_out = c.parse_singer(folder / "run1.jsonl")
            state = folder / "state.json"
            state.write_text(json.dumps(first_out.last_state or {}))
            sb.counters.reset()
            second = c.run_tap(config, catalog=catalog, state=state, stdout_path=folder / "run2.jsonl")
            second_requests = c.stream_requests(sb)
            second_out = c.parse_singer(folder / "run2.jsonl")

    streams = sorted(set(methods) | set(first_out.records))
    first_said = c.parse_summary(first.stderr)
    second_said = c.parse_summary(second.stderr)

    # --- run 1 ---
    rows, misses = [], []
    total_pages = 0
    for name in streams:
        records = first_out.records.get(name, 0)
        requests = first_requests.get(name, 0)
        tap_count = int(first_said.get(name, {}).get("requests", 0))
        if name == "fields":  # built from the meta answer: no request of its own
            rows.append([name, short(methods.get(name)), records, requests, "-", "-", tap_count, "n/a (from meta)"])
            continue
        pages = math.ceil(records / c.PAGE)
        total_pages += pages
        ok = abs(requests - pages) <= 0.05 * pages
        if not ok:
            misses.append(name)
        rows.append([name, short(methods.get(name)), records, requests, pages, requests - pages, tap_count,
                     c.verdict(ok)])
    others = {k: v for k, v in first_requests.items() if k not in streams and k not in (META, c.SAMPLE)}
    meta_calls = first_requests.get(META, 0)
    total = sum(first_requests.values())
    print(f"run 1: full sync, tap exit {first.returncode}, wall {first.wall:.1f}s, "
          f"{sum(first_out.records.values()):,} records, {first_out.states} STATE messages")
    c.print_table(["stream", "method", "records", "requests", "ceil(rec/50)", "extra", "tap says", "target"], rows)
    samples = first_requests.get(c.SAMPLE, 0)
    print(f"  meta calls: {meta_calls}; discovery samples (range=1, objects a catalog wants incremental "
          f"but whose meta lacks dlm): {samples}; requests to anything else: {dict(others) or 'none'}")
    print(f"  total: {total} requests for {total_pages} pages of records + 1 meta call = {total_pages + 1}"
          f" (+ {samples} samples)")
    print()

    # --- run 2 ---
    rows2 = []
    incremental = [name for name in streams if methods.get(name) == "INCREMENTAL"]
    full = [name for name in streams if methods.get(name) != "INCREMENTAL" and name != "fields"]
    inc_misses = []
    for name in streams:
        if name == "fields":
            continue
        requests = second_requests.get(name, 0)
        records = second_out.records.get(name, 0)
        if name in incremental:
            expected, ok = 1, requests <= 1
            if not ok:
                inc_misses.append(name)
            rows2.append([name, "INC", records, requests, expected, c.verdict(ok)])
        else:
            expected = math.ceil(first_out.records.get(name, 0) / c.PAGE)
            rows2.append([name, "FULL", records, requests, expected, "(full re-read)"])
    total2 = sum(second_requests.values())
    inc_total = sum(second_requests.get(name, 0) for name in incremental)
    full_total = sum(second_requests.get(name, 0) for name in full)
    print(f"run 2: same account, state of run 1, tap exit {second.returncode}, wall {second.wall:.1f}s, "
          f"{sum(second_out.records.values()):,} records re-emitted")
    c.print_table(["stream", "method", "records", "requests", "expected", "target"], rows2)
    print(f"  meta calls: {second_requests.get(META, 0)}; discovery samples: {second_requests.get(c.SAMPLE, 0)}; "
          f"incremental streams: {len(incremental)} streams, {inc_total} requests; full-table streams: "
          f"{len(full)} streams, {full_total} requests; total {total2}")
    cross = [name for name in streams if name != "fields"
             and int(second_said.get(name, {}).get("requests", -1)) != second_requests.get(name, 0)]
    if cross:
        print(f"  note: the tap's own Summary counts differ from the sandbox's for: {', '.join(cross)}")
    print()

    print("targets:")
    print(f"  {c.verdict(not misses)} run 1: every stream within 5% of ceil(records/50)"
          + (f" (misses: {', '.join(misses)})" if misses else ""))
    print(f"  {c.verdict(meta_calls == 1)} run 1: one meta call in total ({meta_calls})")
    ok_total = abs(total - samples - (total_pages + 1)) <= 0.05 * (total_pages + 1)
    print(f"  {c.verdict(ok_total)} run 1: total {total} within 5% of {total_pages} pages + 1 meta")
    print(f"  {c.verdict(not inc_misses)} run 2: one collection request per incremental stream "
          f"({inc_total} for {len(incremental)} streams"
          + (f"; more on: {', '.join(inc_misses)}" if inc_misses else "") + ")")
    print(f"  {c.verdict(second_requests.get(META, 0) == 1)} run 2: one meta call ({second_requests.get(META, 0)})")
    ok_exit = first.returncode == 0 == second.returncode
    print(f"  {c.verdict(ok_exit)} both runs exited 0")
    return 0


def short(method: str | None) -> str:
    return {"INCREMENTAL": "INC", "FULL_TABLE": "FULL"}.get(method or "", method or "?")


if __name__ == "__main__":
    sys.exit(main())
