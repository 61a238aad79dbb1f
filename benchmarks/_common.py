"""Helpers shared by the benchmark scripts (not a test module: nothing here asserts).

* `sandbox(...)`: the sandbox, in a thread of the benchmark process (quiet), stopped on exit.
  The tap always runs in a *child* process, so the sandbox's CPU and memory are never
  counted as the tap's.
* `write_config` / `discover_catalog`: a config file and a catalog with chosen streams selected.
* `sync_contacts`: a fresh sandbox with N contacts, one measured tap run against it.
* `run_tap` / `run_measured`: run a child from a small launcher process that waits for it
  with `os.wait4` and reports *its own* resource usage (user+sys CPU, peak RSS), its wall
  time, and its stderr.
* `parse_summary` / `parse_singer`: the tap's `Summary:` lines and its Singer output, read
  by `tests/runner.py` (the readers the tests use).
* `stream_requests`: the sandbox's request log grouped by the stream a request was for.
* `print_table`, `verdict`, `reproduce`: readable output.

Top-level imports are standard library only, so a bare child process that imports this
module pays nothing for it; the sandbox is imported where it is started.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # scripts run as `python benchmarks/NAME.py`: the checkout's packages
    sys.path.insert(0, str(REPO))

from tests.runner import SingerOutput, StreamSummary, read_summary  # noqa: E402 - standard library only

BENCHMARKS = Path(__file__).resolve().parent
PYTHON = sys.executable
PAGE = 50  # Ontraport's page size


def tap_executable() -> str:
    """The `tap-ontraport` console script of this interpreter's environment."""
    beside = Path(PYTHON).parent / "tap-ontraport"
    if beside.exists():
        return str(beside)
    found = shutil.which("tap-ontraport")
    if not found:
        raise SystemExit("tap-ontraport is not installed in this environment (pip install -e .)")
    return found


# --- the sandbox ---


@contextlib.contextmanager
def sandbox(**options: Any) -> Iterator[Any]:
    """A started sandbox (quiet log) in a thread of this process; stopped at the end."""
    from ontraport_sandbox import Sandbox

    options.setdefault("log", "quiet")
    started = time.monotonic()
    sb = Sandbox(**options).start()
    sb.startup_seconds = time.monotonic() - started
    try:
        yield sb
    finally:
        sb.stop()


@contextlib.contextmanager
def workdir(keep: bool = False) -> Iterator[Path]:
    """A scratch folder for configs, catalogs, states and captured output."""
    path = Path(tempfile.mkdtemp(prefix="tap-ontraport-bench-"))
    try:
        yield path
    finally:
        if keep:
            print(f"(kept {path})")
        else:
            shutil.rmtree(path, ignore_errors=True)


def replication_methods(catalog: Path) -> dict[str, str]:
    """{stream: INCREMENTAL | FULL_TABLE} of a catalog file."""
    streams = json.loads(catalog.read_text())["streams"]
    return {stream["tap_stream_id"]: stream.get("replication_method") or "FULL_TABLE" for stream in streams}


def write_config(folder: Path, sb: Any, name: str = "config.json", **settings: Any) -> Path:
    config = {"app_id": sb.app_id, "api_key": sb.api_key, "api_url": sb.url}
    config.update(settings)
    path = folder / name
    path.write_text(json.dumps(config, indent=2))
    return path


def discover_catalog(folder: Path, select: set[str] | None = None, seed: int = 1) -> Path:
    """A catalog from `tap-ontraport --discover`, only `select` streams selected (None: every one).

    Discovery runs against a throwaway sandbox of the same seed (same objects and fields),
    so its `/objects/meta` request never lands in the rate window of the measured one.
    """
    with sandbox(seed=seed, rate_limit=0, sizes={0: 1}) as throwaway:
        config = write_config(folder, throwaway, name="discover-config.json")
        done = subprocess.run([tap_executable(), "--config", str(config), "--discover"],
                              capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"discovery failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    catalog = json.loads(done.stdout)
    names = {stream["tap_stream_id"] for stream in catalog["streams"]}
    missing = set(select or ()) - names
    if missing:
        raise SystemExit(f"streams not in the catalog: {sorted(missing)}")
    for stream in catalog["streams"]:
        chosen = select is None or stream["tap_stream_id"] in select
        stream["selected"] = chosen
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = chosen
    path = folder / "catalog.json"
    path.write_text(json.dumps(catalog))
    return path


# --- running a child and measuring it ---


@dataclass
class ChildRun:
    """What one child process cost, from `os.wait4` (its own usage, not other children's)."""

    command: list[str]
    returncode: int
    wall: float  # seconds from spawn to exit
    user: float
    system: float
    maxrss_kb: int  # peak resident set size (Linux: KiB)
    stderr: str
    stdout_path: Path | None

    @property
    def cpu(self) -> float:
        return self.user + self.system

    @property
    def maxrss_mb(self) -> float:
        return self.maxrss_kb / 1024


#: Spawns the measured command from a small process and reports its rusage as JSON.
#: Why not spawn it from here: Linux carries the parent's peak RSS into a vfork/fork child
#: (exec keeps the old mm's high-water mark in ru_maxrss), and this process may hold a
#: sandbox with 100,000 contacts. From this launcher (about 10 MB) the child's ru_maxrss
#: is its own. CPU and wall are the child's alone too.
_LAUNCHER = """
import json, os, subprocess, sys, time
spec = json.loads(sys.argv[1])
out = open(spec["stdout"], "wb") if spec["stdout"] else subprocess.DEVNULL
err = open(spec["stderr"], "wb")
started = time.monotonic()
child = subprocess.Popen(spec["command"], stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=spec["cwd"])
_, status, usage = os.wait4(child.pid, 0)
wall = time.monotonic() - started
print(json.dumps({"returncode": os.waitstatus_to_exitcode(status), "wall": wall, "user": usage.ru_utime,
                  "system": usage.ru_stime, "maxrss_kb": usage.ru_maxrss}))
"""


def run_measured(command: list[str], *, stdout_path: Path | None = None) -> ChildRun:
    """Run `command` (stdout to `stdout_path` or /dev/null) and measure it alone (see _LAUNCHER)."""
    handle, stderr_name = tempfile.mkstemp(prefix="bench-stderr-")
    os.close(handle)
    stderr_file = Path(stderr_name)
    try:
        spec = {"command": command, "stdout": str(stdout_path) if stdout_path else None,
                "stderr": str(stderr_file), "cwd": str(REPO)}
        launched = subprocess.run([PYTHON, "-c", _LAUNCHER, json.dumps(spec)], capture_output=True, text=True,
                                  check=False)
        if launched.returncode != 0:
            raise SystemExit(f"could not run {command!r}: {launched.stderr[-2000:]}")
        usage = json.loads(launched.stdout)
        stderr = stderr_file.read_text(errors="replace")
    finally:
        stderr_file.unlink(missing_ok=True)
    return ChildRun(command=command, returncode=usage["returncode"], wall=usage["wall"], user=usage["user"],
                    system=usage["system"], maxrss_kb=usage["maxrss_kb"], stderr=stderr, stdout_path=stdout_path)


def run_tap(config: Path, *, catalog: Path | None = None, state: Path | None = None,
            stdout_path: Path | None = None, prefix: list[str] | None = None) -> ChildRun:
    """One `tap-ontraport` sync as a child process (stdout to a file, or /dev/null).

    `prefix` wraps the command (e.g. a profiler).
    """
    arguments = ["--config", str(config)]
    if catalog is not None:
        arguments += ["--catalog", str(catalog)]
    if state is not None:
        arguments += ["--state", str(state)]
    run = run_measured([*(prefix or []), tap_executable(), *arguments], stdout_path=stdout_path)
    if run.returncode != 0:
        print(f"WARNING: the tap exited {run.returncode}; last stderr lines:", file=sys.stderr)
        print("\n".join(run.stderr.splitlines()[-15:]), file=sys.stderr)
    return run


@dataclass
class ContactsSync:
    """One measured tap run that reads only `contacts` from a fresh sandbox."""

    run: ChildRun
    sb: Any  # stopped; its counters and log are still readable
    records: int  # contacts the tap reported emitting (Summary line)
    server_cpu: float  # CPU of this process, i.e. the sandbox, during the run


def sync_contacts(folder: Path, catalog: Path, contacts: int, *, settings: dict | None = None,
                  prefix: list[str] | None = None, **sandbox_options: Any) -> ContactsSync:
    """Start a sandbox with `contacts` contacts, run the tap once against it, stop it."""
    with sandbox(sizes={0: contacts}, **sandbox_options) as sb:
        config = write_config(folder, sb, **(settings or {}))
        before = time.process_time()
        run = run_tap(config, catalog=catalog, prefix=prefix)
        server_cpu = time.process_time() - before
    summary = parse_summary(run.stderr)
    records = summary["contacts"].records if "contacts" in summary else 0
    return ContactsSync(run=run, sb=sb, records=records, server_cpu=server_cpu)


# --- reading what the tap said ---

def parse_summary(stderr: str) -> dict[str, StreamSummary]:
    """{stream: its records, requests, retries, x429, waiting} from the tap's `Summary:` lines."""
    return read_summary(stderr)


def log_lines(stderr: str, needle: str) -> list[str]:
    """The tap's log lines containing `needle`, without the timestamp/level prefix."""
    return [line.split("| ")[-1].strip() for line in stderr.splitlines() if needle in line]


def parse_singer(path: Path) -> SingerOutput:
    """The Singer messages of a captured tap stdout (records per stream, STATEs, the last one)."""
    return SingerOutput.read(path)


# --- reading what the sandbox saw ---


#: What `stream_of_request` calls the tap's one-record reads (range=1): discovery's, and a
#: stream's check that its records carry the `dlm` a catalog asks for.
SAMPLE = "(one-record read)"


def stream_of_request(path: str, params: dict[str, str]) -> str:
    """The stream a collection request was for (stream names as the tap publishes them)."""
    from ontraport_sandbox.catalog import ACCOUNT_OBJECTS
    from tap_ontraport.objects import describe_object

    tail = "/" + path.rstrip("/").split("/1", 1)[-1].lstrip("/")
    if tail == "/objects/meta":
        return "(meta)"
    if params.get("range") == "1":  # one record: its fields, or whether it carries dlm
        return SAMPLE
    by_path = _paths_to_streams(describe_object, ACCOUNT_OBJECTS)
    if tail == "/objects" and params.get("objectID", "").isdigit():
        return by_path.get(("/objects", int(params["objectID"])), f"objectID {params['objectID']}")
    return by_path.get((tail, None), tail)


_PATHS_CACHE: dict = {}


def _paths_to_streams(describe_object: Any, account_objects: dict) -> dict:
    if not _PATHS_CACHE:
        for spec in account_objects.values():
            object_type = describe_object(spec.object_id, spec.meta_name)
            path = object_type.collection_path
            key = (path, spec.object_id) if path == "/objects" else (path, None)
            _PATHS_CACHE[key] = object_type.stream_name
    return _PATHS_CACHE


def stream_requests(sb: Any) -> Counter:
    """Requests the sandbox received, per stream (plus `(meta)`)."""
    return Counter(stream_of_request(entry.path, entry.params) for entry in list(sb.counters.log))


def requests_on(sb: Any, suffix: str) -> list[Any]:
    """The sandbox's log entries whose path ends with `suffix` (e.g. "/Contacts")."""
    return [entry for entry in list(sb.counters.log) if entry.path.rstrip("/").endswith(suffix)]


def served_429(sb: Any) -> int:
    """429s the sandbox served: real refusals plus injected ones."""
    return sb.counters.rate_limited + sb.counters.faults.get("429", 0)


def max_in_window(times: list[float], window: float) -> int:
    """Most arrivals inside any `window` seconds (what a rolling-window limit counts)."""
    ordered = sorted(times)
    best = low = 0
    for high, moment in enumerate(ordered):
        while ordered[low] <= moment - window:
            low += 1
        best = max(best, high - low + 1)
    return best


# --- printing ---


def print_table(headers: list[str], rows: list[list[Any]], title: str | None = None) -> None:
    """A plain aligned table (first column left, others right)."""
    cells = [[str(h) for h in headers]] + [[_fmt(value) for value in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    if title:
        print(title)
    for n, row in enumerate(cells):
        print("  " + "  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                               for i, cell in enumerate(row)))
        if n == 0:
            print("  " + "  ".join("-" * width for width in widths))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def reproduce(script: str, args: list[str]) -> str:
    """The exact command line that reproduces a run (every option spelled out)."""
    return f"cd {shlex.quote(str(REPO))} && {shlex.quote(PYTHON)} benchmarks/{script} " + " ".join(
        shlex.quote(a) for a in args)


def header(title: str, script: str, args: list[str]) -> None:
    sys.stdout.reconfigure(line_buffering=True)  # keep our lines in order with the NOTEs on stderr
    print(f"== {title} ==")
    print(f"reproduce: {reproduce(script, args)}")
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, load average {load} at start "
          "(other work on the machine skews wall and CPU figures)")
    print()
