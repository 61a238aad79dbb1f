"""Budget use: how much of Ontraport's rate limit the tap turns into requests.

Sandbox: 60 requests per 10 s rolling window, every answer delayed 450 ms +- 100 ms,
10,000 contacts; only `contacts` selected. One run per share (a fresh sandbox each).

Budget use = achieved request rate on /Contacts (intervals between its first and last
arrival: (n - 1) / span) divided by the allowed rate (limit / window = 6/s).
Targets: default share -> use >= 0.90 with zero 429s; share 0.5 -> use 0.50 +- 0.05.
"""

from __future__ import annotations

import argparse
import math
import sys

import _common as c


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--rate-limit", type=int, default=60, help="requests per window")
    parser.add_argument("--rate-window", type=float, default=10.0, help="seconds")
    parser.add_argument("--latency", type=float, default=0.45)
    parser.add_argument("--jitter", type=float, default=0.1)
    parser.add_argument("--shares", default="default,0.5",
                        help="comma-separated rate_limit_share values; 'default' leaves the setting out")
    parser.add_argument("--max-parallel", type=int, default=None,
                        help="max_parallel_requests (default: the tap's default)")
    args = parser.parse_args()
    argv = [f"--contacts={args.contacts}", f"--rate-limit={args.rate_limit}", f"--rate-window={args.rate_window:g}",
            f"--latency={args.latency:g}", f"--jitter={args.jitter:g}", f"--shares={args.shares}"]
    if args.max_parallel is not None:
        argv.append(f"--max-parallel={args.max_parallel}")
    c.header("budget use under the rate limit", "budget.py", argv)

    allowed = args.rate_limit / args.rate_window
    pages = math.ceil(args.contacts / c.PAGE)
    print(f"sandbox: {args.rate_limit} requests per {args.rate_window:g}s (allowed {allowed:g}/s), "
          f"latency {args.latency * 1000:.0f} ms +- {args.jitter * 1000:.0f} ms, {args.contacts:,} contacts "
          f"({pages} pages of {c.PAGE}: at least {pages / allowed:.1f}s at the allowed rate)")
    print()

    results = []
    notes = []
    with c.workdir() as folder:
        catalog = c.discover_catalog(folder, {"contacts"})
        for share_text in args.shares.split(","):
            share = None if share_text.strip() == "default" else float(share_text)
            settings = {} if share is None else {"rate_limit_share": share}
            if args.max_parallel is not None:
                settings["max_parallel_requests"] = args.max_parallel
            done = c.sync_contacts(folder, catalog, args.contacts, settings=settings, rate_limit=args.rate_limit,
                                   rate_window=args.rate_window, latency=args.latency, jitter=args.jitter)
            run, sb, records = done.run, done.sb, done.records
            contacts = c.requests_on(sb, "/Contacts")
            everything = [entry.time for entry in list(sb.counters.log)]
            served_429 = c.served_429(sb)
            peak = sb.counters.peak_concurrency
            times = sorted(entry.time for entry in contacts)
            span = times[-1] - times[0] if len(times) > 1 else 0.0
            rate = (len(times) - 1) / span if span > 0 else 0.0
            use = rate / allowed
            gaps = [b - a for a, b in zip(times, times[1:])]
            label = "default (1.0)" if share is None else f"{share:g}"
            target_share = 1.0 if share is None else share
            results.append({
                "label": label, "share": target_share, "use": use, "rate": rate, "requests": len(times),
                "x429": served_429, "records": records, "wall": run.wall, "span": span,
                "per_min": records / run.wall * 60 if run.wall else 0.0,
                "peak": peak, "window_max": c.max_in_window(everything, args.rate_window),
                "first": times[0] - min(everything) if times else 0.0,
                "pauses": sum(1 for gap in gaps if gap > 1.0), "longest": max(gaps, default=0.0),
                "ok_records": records == args.contacts and run.returncode == 0,
            })
            governor = c.log_lines(run.stderr, "Rate limit:")
            notes.append(f"share {label}: tap says: {governor[-1] if governor else '(no rate-limit line)'}")
            for line in c.log_lines(run.stderr, "Summary:"):
                notes.append(f"share {label}: tap says: {line}")

    c.print_table(
        ["share", "budget use", "req/s", "contacts req", "429s served", "records", "records/min", "wall s",
         "contacts span s"],
        [[r["label"], r["use"], r["rate"], r["requests"], r["x429"], r["records"], round(r["per_min"]),
          r["wall"], r["span"]] for r in results],
    )
    print()
    c.print_table(
        ["share", "peak in flight", "max req in any window", "pauses > 1s", "longest gap s",
         "meta -> 1st contacts s"],
        [[r["label"], r["peak"], r["window_max"], r["pauses"], r["longest"], r["first"]] for r in results],
        title="pacing detail (all from the sandbox's request log):",
    )
    short = [r["label"] for r in results if r["span"] < 3 * args.rate_window]
    if short:
        print(f"(caution for {', '.join(short)}: the contacts span covers fewer than 3 windows, so one burst "
              "of a full window inflates the rate; use more contacts)")
    print()
    for note in notes:
        print(note)
    print()
    print("targets:")
    for r in results:
        if r["share"] >= 1.0:
            ok = r["use"] >= 0.90 and r["x429"] == 0
            print(f"  {c.verdict(ok)} share {r['label']}: budget use {r['use']:.3f} >= 0.90 and "
                  f"{r['x429']} x 429 == 0")
        else:
            low, high = r["share"] - 0.05, r["share"] + 0.05
            ok = low <= r["use"] <= high and r["x429"] == 0
            print(f"  {c.verdict(ok)} share {r['label']}: budget use {r['use']:.3f} within "
                  f"[{low:.2f}, {high:.2f}] and {r['x429']} x 429 == 0")
        print(f"  {c.verdict(r['ok_records'])} share {r['label']}: all {args.contacts:,} contacts emitted "
              f"(got {r['records']:,}), tap exit 0")
    return 0


if __name__ == "__main__":
    sys.exit(main())
