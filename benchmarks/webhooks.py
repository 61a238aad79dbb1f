"""Webhook receiver load: sustained deliveries per second and latency to a durable 200.

The receiver (`ontraport-webhooks serve`) runs as a child process, on SQLite (WAL,
synchronous=FULL, in a temporary directory) and on PostgreSQL (a local server with fsync and
synchronous commits on, started from the machine's binaries like the end-to-end suite's, or
`--postgres-url`). The senders are `--concurrency` keep-alive connections from this process
(aiohttp), each posting the next delivery as soon as the last one is answered, for
`--seconds` after a one-second warm-up. Every body is a contact's full delivery in Ontraport's
form encoding (about 3 KB, from the sandbox's generated account) with its own timestamp, so
none is a repeat. Latency: from the request sent to its 200, which the receiver answers only
after COMMIT. Target: at least 500 deliveries/s on SQLite (median of the runs).

The senders share the machine with the receiver, so on 2 CPUs they take CPU from it; the CPU
the receiver process used per delivery (Linux /proc) is printed too, a figure that moves less
with the machine's load than the rate does.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import PYTHON, header, print_table, reproduce, verdict  # noqa: E402

TOKEN = "benchmark-token-0123456789abcdef"
TARGET_PER_SECOND = 500
_LISTENING = re.compile(r"listening on (http://\S+)")


def delivery_bodies(count: int) -> list[str]:
    """Contact deliveries as the sandbox sends them; the timestamp is filled in per request."""
    from ontraport_sandbox.account import Account
    from ontraport_sandbox.webhooks import form_encode

    account = Account(seed=1, sizes={0: count})
    bodies = []
    for record_id in account.ids(0)[:count]:
        payload = {"webhook_id": "1", "object_type_id": "0", "event": {"type": "sub_tag", "tag_id": "4"},
                   "data": account.get(0, record_id), "timestamp": "{stamp}"}
        bodies.append(form_encode(payload).decode().replace("%7Bstamp%7D", "{stamp}"))
    return bodies


def start_receiver(store: str) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "ONTRAPORT_WEBHOOKS_TOKENS": TOKEN}
    process = subprocess.Popen([PYTHON, "-m", "ontraport_webhooks", "serve", "--store", store, "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    assert process.stdout is not None
    for line in process.stdout:
        found = _LISTENING.search(line)
        if found:
            return process, found.group(1)
    raise SystemExit("the receiver did not start")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def load(url: str, bodies: list[str], concurrency: int, seconds: float, pid: int) -> dict:
    import aiohttp

    latencies: list[float] = []
    failures = 0
    counter = iter(range(10**12))
    warm_until = time.monotonic() + 1.0
    stop_at = warm_until + seconds
    headers = {"Content-Type": "application/x-www-form-urlencoded"}

    async def sender(session: aiohttp.ClientSession) -> None:
        nonlocal failures
        while True:
            n = next(counter)
            body = bodies[n % len(bodies)].replace("{stamp}", str(1_700_000_000 + n))
            sent = time.monotonic()
            if sent >= stop_at:
                return
            async with session.post(f"{url}/hooks/{TOKEN}", data=body, headers=headers) as answer:
                await answer.read()
                ok = answer.status == 200
            if sent >= warm_until:
                if ok:
                    latencies.append(time.monotonic() - sent)
                else:
                    failures += 1

    async def measure_cpu() -> tuple[float, float]:
        await asyncio.sleep(max(0.0, warm_until - time.monotonic()))
        start = cpu_seconds(pid), time.process_time()
        await asyncio.sleep(max(0.0, stop_at - time.monotonic()))
        return cpu_seconds(pid) - start[0], time.process_time() - start[1]

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        receiver_cpu, sender_cpu = (await asyncio.gather(measure_cpu(),
                                                         *(sender(session) for _ in range(concurrency))))[0]
        async with session.get(f"{url}/health") as answer:
            health = await answer.json()
    latencies.sort()
    return {
        "per_second": len(latencies) / seconds,
        "p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else float("nan"),
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)] if latencies else float("nan"),
        "failures": failures,
        "per_commit": health["events_committed"] / max(1, health["commits"]),
        "receiver_cpu_ms": 1000 * receiver_cpu / max(1, len(latencies)),
        "sender_cpu_ms": 1000 * sender_cpu / max(1, len(latencies)),
    }


def one_run(store: str, bodies: list[str], concurrency: int, seconds: float) -> dict:
    process, url = start_receiver(store)
    try:
        return asyncio.run(load(url, bodies, concurrency, seconds, process.pid))
    finally:
        process.terminate()
        process.wait(30)


def summarize(name: str, runs: list[dict]) -> list[list]:
    rows = []
    for key, label in (("per_second", "deliveries/s"), ("p50_ms", "p50 ms"), ("p99_ms", "p99 ms"),
                       ("per_commit", "events per commit"), ("receiver_cpu_ms", "receiver CPU ms/delivery"),
                       ("sender_cpu_ms", "senders' CPU ms/delivery")):
        values = [run[key] for run in runs]
        rows.append([f"{name} {label}", min(values), statistics.median(values), max(values)])
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--stores", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--postgres-url", help="an existing server (else one is started with fsync on)")
    args = parser.parse_args()
    argv = [f"--runs={args.runs}", f"--seconds={args.seconds:g}", f"--concurrency={args.concurrency}",
            f"--stores={args.stores}"]
    header("Webhook receiver: sustained deliveries/s and latency to a durable 200", "webhooks.py", argv)
    bodies = delivery_bodies(200)
    print(f"{args.concurrency} concurrent senders, {args.seconds:g} s per run after 1 s warm-up, "
          f"bodies of {min(map(len, bodies))}-{max(map(len, bodies))} bytes\n")
    rows, results = [], {}
    for store_kind in args.stores.split(","):
        runs = []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="webhooks-bench-") as folder:
                store, stop = store_location(store_kind, Path(folder), args.postgres_url)
                try:
                    runs.append(one_run(store, bodies, args.concurrency, args.seconds))
                finally:
                    stop()
            failed = sum(run["failures"] for run in runs)
            if failed:
                print(f"warning: {failed} deliveries were not answered 200 ({store_kind})")
        results[store_kind] = runs
        rows += summarize(store_kind, runs)
    print_table(["figure", "min", "median", "max"], rows)
    if "sqlite" in results:
        median = statistics.median(run["per_second"] for run in results["sqlite"])
        cpu = statistics.median(run["receiver_cpu_ms"] for run in results["sqlite"])
        print(f"\n{verdict(median >= TARGET_PER_SECOND)}: SQLite median {median:.0f} deliveries/s "
              f"(target >= {TARGET_PER_SECOND}); the receiver's CPU per delivery, {cpu:.2f} ms, would allow "
              f"{1000 / cpu:.0f}/s on one CPU of its own")
    print(f"\nreproduce: {reproduce('webhooks.py', argv)}")
    return 0


def store_location(kind: str, folder: Path, postgres_url: str | None):  # noqa: ANN201
    """The store for one run and a function that removes it afterwards."""
    if kind == "sqlite":
        return str(folder / "events.sqlite"), lambda: None
    if kind != "postgres":
        raise SystemExit(f"unknown store {kind!r}: sqlite or postgres")
    if postgres_url:
        return postgres_url, lambda: _drop_table(postgres_url)
    from tests.e2e.postgres import LocalPostgres

    server = LocalPostgres(durable=True)
    return server.start().url, server.stop


def _drop_table(url: str) -> None:
    import psycopg

    from ontraport_webhooks.store import TABLE

    with psycopg.connect(url, autocommit=True) as db:
        db.execute(f"DROP TABLE IF EXISTS {TABLE}")


if __name__ == "__main__":
    sys.exit(main())
