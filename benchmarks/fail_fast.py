"""Fail fast: seconds from start to exit of `tap-ontraport --discover` when `api_url` leads nowhere.

Conditions: a closed port on 127.0.0.1 (connection refused) and a host name that cannot
resolve (`.invalid`, RFC 2606). Each is run `--runs` times; the table shows the median,
the fastest and the slowest wall time, and for scale the same command's `--about`
(start-up only), and the seconds the tap's HTTP client alone takes to give up. The failing runs must end with one ERROR line that names `api_url`.
Target: every run exits within about 10 s (PASS below 12 s).
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys

import _common as c

TARGET_SECONDS = 12.0


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def client_seconds(api_url: str) -> float:
    """Seconds the tap's HTTP client takes to give up on `api_url` (no process start-up)."""
    import time

    from tap_ontraport.client import OntraportAuthenticator, OntraportClient
    from tap_ontraport.errors import UnreachableError
    from tap_ontraport.governor import RateGovernor

    client = OntraportClient(api_url=api_url, authenticator=OntraportAuthenticator("bench-app", "bench-key"),
                             governor=RateGovernor())
    started = time.monotonic()
    try:
        client.get("/objects/meta")
    except UnreachableError:
        return time.monotonic() - started
    raise SystemExit(f"{api_url} answered: it was meant to be unreachable")


def one_run(folder, api_url: str) -> tuple[float, bool]:
    """Wall seconds of one discovery against `api_url`, and whether it ended with the one clear line."""
    config = folder / "config.json"
    config.write_text(json.dumps({"app_id": "bench-app", "api_key": "bench-key", "api_url": api_url}))
    run = c.run_measured([c.tap_executable(), "--config", str(config), "--discover"])
    errors = [line for line in run.stderr.splitlines() if "ERROR" in line]
    clear = run.returncode == 1 and len(errors) == 1 and "`api_url`" in errors[0] and "Traceback" not in run.stderr
    return run.wall, clear


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="runs per condition (default 3)")
    args = parser.parse_args()
    c.header("fail fast: an api_url that leads nowhere", "fail_fast.py", [f"--runs={args.runs}"])
    conditions = {
        "connection refused": lambda: f"http://127.0.0.1:{closed_port()}/1",
        "host name not found": lambda: "http://api.ontraport.invalid/1",
    }
    startup = [c.run_measured([c.tap_executable(), "--about"]).wall for _ in range(args.runs)]
    rows = [["start-up only (--about)", args.runs, statistics.median(startup), min(startup), max(startup),
             "", "", "", ""]]
    ok = True
    with c.workdir() as folder:
        for name, url in conditions.items():
            results = [one_run(folder, url()) for _ in range(args.runs)]
            walls = [wall for wall, _ in results]
            inside = [client_seconds(url()) for _ in range(args.runs)]
            clear = all(flag for _, flag in results)
            passed = clear and max(walls) < TARGET_SECONDS
            ok &= passed
            rows.append([name, args.runs, statistics.median(walls), min(walls), max(walls),
                         statistics.median(inside), max(inside), "yes" if clear else "NO", c.verdict(passed)])
    c.print_table(["condition", "runs", "median s", "min s", "max s", "client median s", "client max s",
                   "one clear line", f"< {TARGET_SECONDS:g} s"], rows)
    print("(median/min/max: the whole command, process start-up included; client: the tap's HTTP client alone)")
    print("PASS" if ok else "MISS", "- every failing run exits with one line naming api_url, within about 10 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
