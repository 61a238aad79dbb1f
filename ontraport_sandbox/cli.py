"""`ontraport-sandbox`: serve the sandbox until SIGINT/SIGTERM. Options: docs/sandbox.md."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .catalog import ACCOUNT_OBJECTS
from .faults import KINDS, Fault
from .ratelimit import RESET_MEANINGS, OtherTool, RateScenario, parse_changes
from .server import Sandbox
from .variants import VARIANTS

DEFAULT_PORT = 8765


def object_id(text: str) -> int:
    """An objectID from '0' or a meta name ('Contact', case-insensitive)."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    for spec in ACCOUNT_OBJECTS.values():
        if text.lower() in (spec.meta_name.lower(), (spec.plural or "").lower()):
            return spec.object_id
    raise argparse.ArgumentTypeError(f"unknown object {text!r} (use an objectID or a meta name)")


def size_override(text: str) -> tuple[int, int]:
    name, sep, count = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"--size takes OBJ=N, got {text!r}")
    try:
        return object_id(name), int(count)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--size {text!r}: N must be an integer") from None


def fault(text: str) -> Fault:
    try:
        return Fault.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _storm(text: str) -> tuple[float, float]:
    start, sep, seconds = text.partition(":")
    try:
        if sep:
            return float(start), float(seconds)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"--storm takes START:SECONDS, got {text!r}")


def _other_tool(text: str) -> OtherTool:
    try:
        return OtherTool.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"--other-tool {text!r}: {error}") from None


def rate_scenario(args: argparse.Namespace) -> RateScenario:
    return RateScenario(reset_meaning=args.reset_meaning, headers=not args.no_rate_headers,
                        changes=parse_changes(args.rate_change), storm=args.storm, prefill=args.prefill,
                        other=args.other_tool)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ontraport-sandbox",
        description="Serve a local imitation of the Ontraport REST API v1 (base path /1).")
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    add("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any free port)")
    add("--app-id", default="sandbox", help='the Api-Appid clients must send (default "sandbox")')
    add("--api-key", default="sandbox", help='the Api-Key clients must send (default "sandbox")')
    add("--seed", type=int, default=1, help="all data is deterministic from the seed (default 1)")
    add("--scale", type=float, default=1.0, help="multiply every default object size (default 1.0)")
    add("--size", type=size_override, action="append", default=[], metavar="OBJ=N",
        help="records of one object, OBJ an objectID or meta name (repeatable), e.g. Contact=100000")
    add("--rate-limit", type=int, default=180, metavar="N",
        help="requests per window (default 180; 0 disables limiting and the x-rate-limit-* headers)")
    add("--rate-window", type=float, default=60.0, metavar="S", help="window in seconds (default 60)")
    add("--reset-meaning", choices=RESET_MEANINGS, default="slot",
        help="what x-rate-limit-reset counts down to: one slot freeing (default) or the whole window clearing")
    add("--no-rate-headers", action="store_true",
        help="send no x-rate-limit-* headers while still enforcing the limit (a proxy that strips them)")
    add("--rate-change", action="append", default=[], metavar="T:N",
        help="at T seconds after start the limit becomes N per window (repeatable), e.g. 30:120")
    add("--storm", type=_storm, metavar="T:S", help="answer every request 429 for S seconds from T seconds after start")
    add("--prefill", type=int, default=0, metavar="N", help="N requests of other tools already in the window at start")
    add("--other-tool", type=_other_tool, metavar="SHARE[:burst=N]",
        help="another integration on the account sending SHARE of the limit, N requests at a time")
    add("--latency", type=float, default=0.0, metavar="S", help="delay every answer by S seconds")
    add("--jitter", type=float, default=0.0, metavar="S", help="... plus or minus up to S seconds")
    add("--fault", type=fault, action="append", default=[], metavar="SPEC",
        help=f"inject failures (repeatable): KIND[:probability=P][,at=1-5|7][,every=N][,count=N]"
             f"[,path=S][,reset=S][,hang=S]; KIND one of {', '.join(KINDS)}")
    add("--forbid", type=object_id, action="append", default=[], metavar="OBJ",
        help="answer 403 to every read of this object (repeatable)")
    add("--odd-values", action="store_true", help="serve a few deliberately malformed values")
    add("--variant", action="append", default=[], metavar="NAME",
        help="switch one unconfirmed API behaviour to its other side (repeatable; see --list-variants)")
    add("--list-variants", action="store_true", help="print the behaviour variants and exit")
    noise = parser.add_mutually_exclusive_group()
    noise.add_argument("--quiet", action="store_true", help="no request log")
    noise.add_argument("--verbose", action="store_true", help="request log with faults and rate-limit state")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.list_variants:
        width = max(map(len, VARIANTS))
        print("\n".join(f"{name:<{width}}  {text}" for name, text in VARIANTS.items()))
        return 0
    log = "quiet" if args.quiet else "verbose" if args.verbose else "requests"
    try:
        sandbox = Sandbox(
            seed=args.seed, scale=args.scale, sizes=dict(args.size), rate_limit=args.rate_limit,
            rate_window=args.rate_window, latency=args.latency, jitter=args.jitter,
            app_id=args.app_id, api_key=args.api_key, faults=args.fault, forbidden=args.forbid,
            odd_values=args.odd_values, host=args.host, port=args.port, log=log,
            variants=args.variant,
            rate_scenario=rate_scenario(args),
        ).start()
    except (OSError, KeyError, ValueError) as error:
        print(f"ontraport-sandbox: {error}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    records = sum(sandbox.account.count(o) for o in sandbox.account.object_ids())
    limit = (f"rate limit {args.rate_limit}/{args.rate_window:g}s" if args.rate_limit
             else "no rate limit")
    variants = f", variants {', '.join(sandbox.variants)}" if sandbox.variants else ""
    print(f"Ontraport sandbox serving {sandbox.url} (seed {args.seed}, {records} records in "
          f"{len(sandbox.account.object_ids())} objects, {limit}{variants})", flush=True)
    if log == "verbose":
        print(sandbox.describe(), file=sys.stderr, flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        sandbox.stop()
    print("Ontraport sandbox stopped", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
