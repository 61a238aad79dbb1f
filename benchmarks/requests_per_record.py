"""Requests per record: what a daily run costs, case by case, against the sandbox.

Every case runs the tap as a child process against a local sandbox with no rate limit
(`rate_limit=0`), and counts the requests the sandbox received for the stream. The
contacts cases share one first run (a full read of N contacts, `detect_deletions` on):
its final STATE is taken as yesterday's; each repetition then starts a fresh sandbox of the
same seed (the same account), changes it as the case says, with a new random pattern per
repetition, and measures run 2 from that STATE. Every repetition also checks that the
records reported deleted are exactly the ones deleted.

"today" is what the previous release spends on the same run 2: the same incremental read,
plus a listing of every key (`ceil(keys / 50)` requests and the probe; a lower bound, it
ignores the part-filled pages of its parallel ranges); for tag subscriptions, a full
re-read (`ceil(rows / 50)`).

Cases (issue 13):
  scattered  N contacts, 1,000 updated, 100 deleted at random   run 2 <= 650 requests
  few        N contacts, 10 deleted at random                    run 2 <= 150
  block      N contacts, 500 deleted in one block                run 2 <= 60
  dense      N contacts, 1,000 and 10,000 deleted at random      sweep <= 1.05 x a listing
  tags       N tag subscriptions, 200 added, 100 removed         run 2 <= 650
  nochange   the default account, a full sync then a no-change run   <= 1 per stream + meta
  state      the known keys of 1,000,000 keys with 10,000 gaps   <= 64 KB
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

import _common as c

META = "(meta)"
CONTACT, TAG_SUBSCRIBER = 0, 138
DELETED_AT = "_sdc_deleted_at"
CASES = ("scattered", "few", "block", "dense", "tags", "nochange", "state")


@dataclass
class Verdict:
    what: str
    ok: bool
    figures: str


@dataclass
class Change:
    """What a case does to the account between run 1 and run 2."""

    updated: int = 0
    deleted: int = 0
    block: bool = False
    added: int = 0


@dataclass
class Run2:
    walk: int  # requests of the incremental read
    sweep: int  # requests of the deletion sweep (listFields=key)
    reported: list[int]  # keys the tap reported deleted
    deleted: list[int]  # keys the case deleted
    present: int  # records left
    state_bytes: int  # the stream's known keys in the final STATE
    wall: float

    @property
    def total(self) -> int:
        return self.walk + self.sweep

    @property
    def exact(self) -> bool:
        return self.reported == self.deleted


def apply_change(sb, object_id: int, change: Change, rng: random.Random) -> list[int]:
    """Update, delete and add records; the deleted keys, sorted."""
    ids = sb.account.ids(object_id)
    if change.block:
        start = rng.randrange(0, len(ids) - change.deleted)
        gone = ids[start:start + change.deleted]
    else:
        gone = rng.sample(ids, change.deleted)
    left = sorted(set(ids) - set(gone))
    for key in rng.sample(left, change.updated):
        sb.account.update(object_id, key)
    for key in gone:
        sb.account.delete(object_id, key)
    for _ in range(change.added):
        sb.account.insert(object_id)
    return sorted(gone)


def measure_run2(folder: Path, catalog: Path, state: Path, stream: str, object_id: int, path: str, key: str,
                 sizes: dict, seed: int, change: Change, pattern: int, settings: dict) -> Run2:
    with c.sandbox(seed=seed, rate_limit=0, sizes=sizes) as sb:
        deleted = apply_change(sb, object_id, change, random.Random(pattern))
        config = c.write_config(folder, sb, **settings)
        sb.counters.reset()
        out = folder / "run2.jsonl"
        run = c.run_tap(config, catalog=catalog, state=state, stdout_path=out)
        entries = c.requests_on(sb, path)
        present = sb.account.count(object_id)
    sweep = sum(1 for e in entries if e.params.get("listFields") == key)
    reported, final_state = read_output(out, stream, key)
    known = (final_state or {}).get("bookmarks", {}).get(stream, {}).get("known_keys", "")
    return Run2(walk=len(entries) - sweep, sweep=sweep, reported=reported, deleted=deleted, present=present,
                state_bytes=len(known.encode()), wall=run.wall)


def read_output(path: Path, stream: str, key: str) -> tuple[list[int], dict | None]:
    reported, state = [], None
    for line in path.read_text().splitlines():
        message = json.loads(line)
        if message.get("type") == "RECORD" and message["stream"] == stream and message["record"].get(DELETED_AT):
            reported.append(message["record"][key])
        elif message.get("type") == "STATE":
            state = message["value"]
    return sorted(reported), state


def first_run(folder: Path, stream: str, object_id: int, sizes: dict, seed: int, settings: dict) -> tuple[Path, Path]:
    """Discover, select `stream`, run once against a fresh sandbox; the catalog and final STATE."""
    sub = folder / f"{stream}-run1"
    sub.mkdir()
    catalog = c.discover_catalog(sub, {stream}, seed=seed)
    with c.sandbox(seed=seed, rate_limit=0, sizes=sizes) as sb:
        config = c.write_config(sub, sb, **settings)
        out = sub / "run1.jsonl"
        run = c.run_tap(config, catalog=catalog, stdout_path=out)
        records = sb.account.count(object_id)
    _, state = read_output(out, stream, "id")
    path = sub / "state.json"
    path.write_text(json.dumps(state or {}))
    known = (state or {}).get("bookmarks", {}).get(stream, {}).get("known_keys", "")
    print(f"run 1 ({stream}): {records:,} records, wall {run.wall:.1f}s, exit {run.returncode}, "
          f"known keys in the state: {len(known.encode()):,} bytes")
    return catalog, path


def spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:,.0f}"
    return f"median {statistics.median(values):,.0f}, min {min(values):,.0f}, max {max(values):,.0f}"


def print_runs(title: str, runs: list[Run2], today: list[int]) -> None:
    rows = [[n + 1, r.walk, r.sweep, r.total, t, f"{r.total / t:.3f}", len(r.deleted), "yes" if r.exact else "NO",
             r.state_bytes, f"{r.wall:.1f}"] for n, (r, t) in enumerate(zip(runs, today))]
    c.print_table(["rep", "read", "sweep", "run 2", "today", "ratio", "deleted", "found exactly", "state B",
                   "wall s"], rows, title=title)


def contacts_cases(args: argparse.Namespace, folder: Path, wanted: set[str]) -> list[Verdict]:
    n, sizes, settings = args.contacts, {CONTACT: args.contacts}, {"detect_deletions": True}
    catalog, state = first_run(folder, "contacts", CONTACT, sizes, args.seed, settings)
    cases = []
    if "scattered" in wanted:
        cases.append(("scattered", f"{n:,} contacts, 1,000 updated, 100 deleted at random", Change(1_000, 100), 650))
    if "few" in wanted:
        cases.append(("few", f"{n:,} contacts, 10 deleted at random", Change(0, 10), 150))
    if "block" in wanted:
        cases.append(("block", f"{n:,} contacts, 500 deleted in one block", Change(0, 500, block=True), 60))
    if "dense" in wanted:
        cases.append(("dense", f"{n:,} contacts, 1,000 deleted at random (dense)", Change(0, 1_000), None))
        cases.append(("dense", f"{n:,} contacts, 10,000 deleted at random (dense)", Change(0, 10_000), None))
    verdicts = []
    for _name, title, change, target in cases:
        runs = [measure_run2(folder, catalog, state, "contacts", CONTACT, "/Contacts", "id", sizes, args.seed,
                             change, args.seed * 1_000 + rep, settings) for rep in range(args.repeat)]
        today = [r.walk + math.ceil(r.present / c.PAGE) + 1 for r in runs]
        print()
        print_runs(f"{title} (run 2 of the contacts stream):", runs, today)
        exact = all(r.exact for r in runs)
        if target is not None:
            ok = exact and max(r.total for r in runs) <= target
            verdicts.append(Verdict(f"{title}: run 2 <= {target}", ok,
                                    f"run 2 {spread([r.total for r in runs])}; today {spread(today)}"))
        else:
            listing = [math.ceil(r.present / c.PAGE) + 1 for r in runs]
            ratios = [r.sweep / lst for r, lst in zip(runs, listing)]
            ok = exact and max(ratios) <= 1.05
            verdicts.append(Verdict(f"{title}: sweep <= 1.05 x today's listing", ok,
                                    f"sweep {spread([r.sweep for r in runs])} vs listing {spread(listing)}; "
                                    f"ratio max {max(ratios):.3f}"))
        if not exact:
            verdicts.append(Verdict(f"{title}: deletions found exactly", False, "see the table"))
    return verdicts


def tags_case(args: argparse.Namespace, folder: Path) -> list[Verdict]:
    n, sizes = args.tag_subscriptions, {TAG_SUBSCRIBER: args.tag_subscriptions}
    catalog, state = first_run(folder, "tag_subscribers", TAG_SUBSCRIBER, sizes, args.seed, {})
    change = Change(0, 100, added=200)
    runs = [measure_run2(folder, catalog, state, "tag_subscribers", TAG_SUBSCRIBER, "/TagSubscribers", "id", sizes,
                         args.seed, change, args.seed * 1_000 + rep, {}) for rep in range(args.repeat)]
    today = [math.ceil(r.present / c.PAGE) for r in runs]
    title = f"{n:,} tag subscriptions, 200 added, 100 removed"
    print()
    print_runs(f"{title} (run 2 of tag_subscribers; read = the new rows):", runs, today)
    ok = all(r.exact for r in runs) and max(r.total for r in runs) <= 650
    return [Verdict(f"{title}: run 2 <= 650", ok, f"run 2 {spread([r.total for r in runs])}; today {spread(today)}")]


def state_case() -> list[Verdict]:
    from tap_ontraport.deletions import decode_keys, encode_keys

    sizes = []
    for pattern in range(3):
        rng = random.Random(pattern)
        gaps = set(rng.sample(range(1, 1_010_001), 10_000))
        keys = [k for k in range(1, 1_010_001) if k not in gaps]
        text = encode_keys(keys)
        assert list(decode_keys(text)) == keys
        sizes.append(len(text.encode()))
    print()
    c.print_table(["gap pattern", "keys", "gaps", "state bytes"],
                  [[p + 1, 1_000_000, 10_000, size] for p, size in enumerate(sizes)],
                  title="known keys of 1,000,000 keys with 10,000 scattered gaps (encode_keys):")
    return [Verdict("state after 1,000,000 keys with 10,000 gaps <= 64 KB", max(sizes) <= 65_536,
                    f"{spread(sizes)} bytes")]


@dataclass
class NoChangePair:
    """One repetition of the nochange case: a full sync, then a run with nothing changed."""

    methods: dict[str, str]  # stream -> replication method in the catalog
    first: c.ChildRun
    second: c.ChildRun
    first_requests: dict[str, int]  # per stream, plus META and c.SAMPLE
    second_requests: dict[str, int]
    first_out: c.SingerOutput
    second_out: c.SingerOutput

    @property
    def streams(self) -> list[str]:
        """Every stream that may cost a request (`fields` is built from the meta answer)."""
        return sorted((set(self.methods) | set(self.first_out.records)) - {"fields"})

    @property
    def allowed(self) -> int:
        """The target of a no-change run: one request per stream and the meta call."""
        return len(self.streams) + 1

    @property
    def second_total(self) -> int:
        return sum(self.second_requests.values())

    def over_one(self) -> dict[str, int]:
        """The streams the no-change run read with more than one request."""
        return {name: self.second_requests.get(name, 0) for name in self.streams
                if self.second_requests.get(name, 0) > 1}

    def second_of(self, method: str) -> int:
        return sum(self.second_requests.get(name, 0) for name in self.streams if self.methods.get(name) == method)

    @property
    def meets_target(self) -> bool:
        return (self.second_total <= self.allowed and not self.over_one()
                and self.second_requests.get(META, 0) == 1 and self.first.returncode == 0 == self.second.returncode)


def run_no_change_pair(args: argparse.Namespace) -> NoChangePair:
    with c.workdir() as folder:
        catalog = c.discover_catalog(folder, None, seed=args.seed)
        methods = c.replication_methods(catalog)
        with c.sandbox(seed=args.seed, rate_limit=0) as sb:
            config = c.write_config(folder, sb)
            first = c.run_tap(config, catalog=catalog, stdout_path=folder / "run1.jsonl")
            first_requests = dict(c.stream_requests(sb))
            first_out = c.parse_singer(folder / "run1.jsonl")
            state = folder / "state.json"
            state.write_text(json.dumps(first_out.state or {}, default=float))  # numbers read as Decimal
            sb.counters.reset()
            second = c.run_tap(config, catalog=catalog, state=state, stdout_path=folder / "run2.jsonl")
            second_requests = dict(c.stream_requests(sb))
            second_out = c.parse_singer(folder / "run2.jsonl")
    return NoChangePair(methods, first, second, first_requests, second_requests, first_out, second_out)


def print_first_run(pair: NoChangePair) -> list[Verdict]:
    rows, misses, total_pages = [], [], 0
    said = c.parse_summary(pair.first.stderr)
    for name in pair.streams:
        records, requests = len(pair.first_out.records.get(name, [])), pair.first_requests.get(name, 0)
        pages = math.ceil(records / c.PAGE)
        total_pages += pages
        ok = abs(requests - pages) <= 0.05 * pages
        if not ok:
            misses.append(name)
        rows.append([name, short(pair.methods.get(name)), records, requests, pages, requests - pages,
                     said[name].requests if name in said else 0, c.verdict(ok)])
    rows.append(["fields", short(pair.methods.get("fields")), len(pair.first_out.records.get("fields", [])), 0, "-", "-",
                 0, "n/a (from meta)"])
    others = {k: v for k, v in pair.first_requests.items() if k not in pair.streams and k not in (META, c.SAMPLE)}
    meta_calls, samples = pair.first_requests.get(META, 0), pair.first_requests.get(c.SAMPLE, 0)
    total = sum(pair.first_requests.values())
    print(f"run 1: full sync, tap exit {pair.first.returncode}, wall {pair.first.wall:.1f}s, "
          f"{pair.first_out.count('RECORD'):,} records, {pair.first_out.count('STATE')} STATE messages")
    c.print_table(["stream", "method", "records", "requests", "ceil(rec/50)", "extra", "tap says", "target"], rows)
    print(f"  meta calls: {meta_calls}; one-record reads (range=1: objects the catalog wants incremental whose "
          f"meta lacks dlm, checked before an unfiltered first read): {samples}; requests to anything else: "
          f"{dict(others) or 'none'}")
    print(f"  total: {total} requests for {total_pages} pages of records + 1 meta call = {total_pages + 1}"
          f" (+ {samples} one-record reads)")
    print()
    ok_total = abs(total - samples - (total_pages + 1)) <= 0.05 * (total_pages + 1)
    return [
        Verdict("run 1: every stream within 5% of ceil(records/50)", not misses,
                f"misses: {', '.join(misses)}" if misses else "none"),
        Verdict("run 1: one meta call in total", meta_calls == 1, str(meta_calls)),
        Verdict(f"run 1: total within 5% of {total_pages} pages + 1 meta", ok_total, str(total)),
    ]


def print_second_run(pair: NoChangePair) -> None:
    said = c.parse_summary(pair.second.stderr)
    rows = []
    for name in pair.streams:
        requests = pair.second_requests.get(name, 0)
        method = short(pair.methods.get(name))
        why = "" if requests <= 1 else ("no change marker: read in full" if method == "FULL" else "?")
        rows.append([name, method, len(pair.second_out.records.get(name, [])), requests, 1, c.verdict(requests <= 1), why])
    print(f"run 2: same account, state of run 1, tap exit {pair.second.returncode}, wall {pair.second.wall:.1f}s, "
          f"{pair.second_out.count('RECORD'):,} records re-emitted")
    c.print_table(["stream", "method", "records", "requests", "target", "verdict", "why more"], rows)
    incremental = [n for n in pair.streams if pair.methods.get(n) == "INCREMENTAL"]
    full = [n for n in pair.streams if pair.methods.get(n) != "INCREMENTAL"]
    print(f"  meta calls: {pair.second_requests.get(META, 0)}; one-record reads: "
          f"{pair.second_requests.get(c.SAMPLE, 0)}; incremental streams: {len(incremental)} streams, "
          f"{pair.second_of('INCREMENTAL')} requests; full-table streams: {len(full)} streams, "
          f"{pair.second_of('FULL_TABLE')} requests; "
          f"total {pair.second_total} (target <= {pair.allowed}: {len(pair.streams)} streams + meta)")
    cross = [n for n in pair.streams if (said[n].requests if n in said else -1) != pair.second_requests.get(n, 0)]
    if cross:
        print(f"  note: the tap's own Summary counts differ from the sandbox's for: {', '.join(cross)}")
    print()


def no_change_case(args: argparse.Namespace) -> list[Verdict]:
    """The default account: a full sync, then a run with nothing changed, `--repeat` times."""
    print("== the default sandbox account: full sync, then a no-change run ==")
    pairs = [run_no_change_pair(args) for _ in range(args.repeat)]
    verdicts = print_first_run(pairs[0])
    print_second_run(pairs[0])
    rows = [[n + 1, sum(p.first_requests.values()), p.second_total, p.second_requests.get(META, 0),
             p.second_requests.get(c.SAMPLE, 0), p.second_of("INCREMENTAL"), p.second_of("FULL_TABLE"), p.allowed,
             f"{p.second.wall:.1f}", c.verdict(p.meets_target)] for n, p in enumerate(pairs)]
    c.print_table(["rep", "run 1", "run 2", "meta", "1-record", "incremental", "full table", "target", "wall s",
                   "verdict"], rows, title=f"every repetition (tables above: repetition 1 of {len(pairs)}):")
    print()
    over = pairs[0].over_one()
    incremental_over = {n: k for n, k in over.items() if pairs[0].methods.get(n) == "INCREMENTAL"}
    streams = len(pairs[0].streams)
    return verdicts + [
        Verdict(f"no-change run: <= 1 request per stream + the meta call (<= {pairs[0].allowed})",
                all(p.meets_target for p in pairs),
                f"run 2 {spread([p.second_total for p in pairs])} requests for {streams} streams + meta"
                + (f"; more than one on: {', '.join(f'{n} {k}' for n, k in over.items())}" if over else "")),
        Verdict("no-change run: 1 request per incremental (dlm or by key) stream, no one-record read",
                not incremental_over and all(p.second_requests.get(c.SAMPLE, 0) == 0 for p in pairs),
                f"{pairs[0].second_of('INCREMENTAL')} requests for "
                f"{sum(pairs[0].methods.get(n) == 'INCREMENTAL' for n in pairs[0].streams)} streams"),
        Verdict("no-change run: both runs exited 0 in every repetition",
                all(p.first.returncode == 0 == p.second.returncode for p in pairs),
                ", ".join(f"{p.first.returncode}/{p.second.returncode}" for p in pairs)),
    ]


def short(method: str | None) -> str:
    return {"INCREMENTAL": "INC", "FULL_TABLE": "FULL"}.get(method or "", method or "?")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--tag-subscriptions", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of each case (new random pattern each)")
    parser.add_argument("--case", action="append", choices=CASES, help="run only these cases (default: all)")
    args = parser.parse_args()
    wanted = set(args.case or CASES)
    options = [f"--seed={args.seed}", f"--contacts={args.contacts}", f"--tag-subscriptions={args.tag_subscriptions}",
               f"--repeat={args.repeat}"] + [f"--case={name}" for name in CASES if name in wanted and args.case]
    c.header("requests per record: what a daily run costs", "requests_per_record.py", options)
    verdicts: list[Verdict] = []
    with c.workdir() as folder:
        if wanted & {"scattered", "few", "block", "dense"}:
            verdicts += contacts_cases(args, folder, wanted)
        if "tags" in wanted:
            verdicts += tags_case(args, folder)
        if "nochange" in wanted:
            print()
            verdicts += no_change_case(args)
    if "state" in wanted:
        verdicts += state_case()
    print()
    print("targets:")
    for verdict in verdicts:
        print(f"  {c.verdict(verdict.ok)} {verdict.what}: {verdict.figures}")
    return 0  # a benchmark reports its targets; it does not fail on them


if __name__ == "__main__":
    sys.exit(main())
