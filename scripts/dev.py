#!/usr/bin/env python3
"""The project's two set-up-and-run commands (standard library only, Python >= 3.10).

    python3 scripts/dev.py demo    # sandbox -> Meltano -> target-jsonl, then a table of what was loaded
    python3 scripts/dev.py test    # .venv, the fast suites, then the end-to-end suite

Everything they need is installed under the repository on first use, each tool in its own
virtual environment (all gitignored):

    .venv/          the tap with its test extras (pytest, ...)
    .venv-meltano/  Meltano (it installs the plugins under .meltano/, one venv each)
    .venv-airflow/  Apache Airflow, for the end-to-end test of the DAG (made by that test)
    .venv-dbt/      dbt-core and dbt-postgres, for the dbt package in transform/ (made by the e2e tests,
                    or `setup --dbt`); Meltano's `dbt-postgres` utility runs this venv's `dbt`

Other subcommands: `test-fast` (the inner loop: ruff, mypy, the fast suites on every CPU) and
`test-e2e` (the two halves of `test`), `setup` (only the venvs),
`clean` (remove the venvs, .meltano/ and output/demo/). Extra arguments after `--` go to
pytest, e.g. `python3 scripts/dev.py test-e2e -- -k airflow -x`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.runner import read_summary  # noqa: E402 - standard library only, like this script

MELTANO_VERSION = "4.4.1"
AIRFLOW_VERSION = "3.3.2"
# dbt-core 1.12 does not install from the package registries alone (its parser's build
# downloads a binary); 1.11 resolves from wheels.
DBT_REQUIREMENTS = ["dbt-core~=1.11.0", "dbt-postgres~=1.11.0"]
PROJECT_VENV = ROOT / ".venv"
MELTANO_VENV = ROOT / ".venv-meltano"
AIRFLOW_VENV = ROOT / ".venv-airflow"
DBT_VENV = ROOT / ".venv-dbt"
DEMO_OUTPUT = ROOT / "output" / "demo"
#: The demo's Meltano state id is `dev:tap-ontraport-to-target-jsonl:demo`, not the id of a
#: user's own `meltano run tap-ontraport target-jsonl`: each keeps its own bookmarks.
DEMO_STATE_ID_SUFFIX = "demo"
DEMO_STATE_ID = f"dev:tap-ontraport-to-target-jsonl:{DEMO_STATE_ID_SUFFIX}"
FAST_SUITES = ["tests/unit", "tests/sandbox", "tests/tap", "tests/webhooks"]
#: The fast suites run on every CPU (pytest-xdist); each test starts its own sandbox on a free port.
#: Two workers per CPU: a test spends much of its time waiting (on sockets, retry back-offs, the
#: sandbox thread in its own process holding the interpreter), and the second worker's tests use
#: that time (on 2 CPUs, 99 s for the suites against 133 s with one worker per CPU).
#: The slowest tests are collected first (tests/conftest.py) and an idle worker takes pending tests
#: from a busy one (worksteal), so the run does not end with one worker alone on a long test.
#: (At most 16: past that, the workers' start-up and memory outweigh what they share.)
FAST_WORKERS = min(2 * (os.cpu_count() or 1), 16)
FAST_PYTEST_ARGS = ["-q", "-n", str(FAST_WORKERS), "--dist", "worksteal"]
#: Lint and type check, before the fast suites (config in pyproject.toml).
LINT_PATHS = ["tap_ontraport", "ontraport_sandbox", "ontraport_webhooks", "tests", "benchmarks", "scripts"]
TYPED_PACKAGES = ["tap_ontraport", "ontraport_sandbox", "ontraport_webhooks"]
E2E_SUITE = ["tests/e2e"]
MIN_PYTHON = (3, 10)

# Meltano: no update check, no usage stats (both cost a network round trip per command).
QUIET_MELTANO_ENV = {
    "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
    "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
    "MELTANO_DISABLE_TRACKING": "true",
}


class DevError(Exception):
    """A problem the user can fix; printed as one line, exit status 1."""


def say(message: str = "") -> None:
    print(message, flush=True)


def step(message: str) -> None:
    say(f"==> {message}")


# --- virtual environments ---------------------------------------------------------------


def venv_bin(venv: Path, name: str) -> Path:
    if os.name == "nt":
        return venv / "Scripts" / (name + (".exe" if not name.endswith(".exe") else ""))
    return venv / "bin" / name


def install_env() -> dict[str, str]:
    """Environment of every install: bytecode compiled at install, quiet copies."""
    env = dict(os.environ)
    env.setdefault("UV_COMPILE_BYTECODE", "1")
    env.setdefault("UV_LINK_MODE", "copy")  # the uv cache may be on another file system
    env.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    return env


def run(cmd: list[str | Path], *, log: Path | None = None, env: dict | None = None, cwd: Path = ROOT,
        check: bool = True, what: str | None = None) -> int:
    """Run a command from the repository; with `log`, its output goes there (shown on failure)."""
    cmd = [str(c) for c in cmd]
    if log is None:
        code = subprocess.call(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL)
    else:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            out.write(f"\n$ {' '.join(cmd)}\n".encode())
            out.flush()
            code = subprocess.call(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    if code != 0 and check:
        if log is not None:
            show_tail(log)
        raise DevError(f"{what or cmd[0]} failed (exit status {code})" + (f"; full log: {log}" if log else ""))
    return code


def show_tail(log: Path, lines: int = 40) -> None:
    try:
        text = log.read_text(errors="replace").splitlines()
    except OSError:
        return
    say(f"--- last {min(lines, len(text))} lines of {log} ---")
    for line in text[-lines:]:
        say(line)
    say("---")


def check_python() -> None:
    if sys.version_info < MIN_PYTHON:
        raise DevError(
            f"Python {'.'.join(map(str, MIN_PYTHON))} or newer is needed, this is {sys.version.split()[0]}: "
            "run this script with python3.10 or newer."
        )


def create_venv(venv: Path, log: Path) -> None:
    """A fresh venv with uv in it (uv installs ten times faster than pip)."""
    if venv.exists():
        shutil.rmtree(venv)
    base_python = getattr(sys, "_base_executable", None) or sys.executable
    code = run([base_python, "-m", "venv", venv], log=log, check=False)
    if code != 0:
        show_tail(log)
        raise DevError(
            f"could not create {venv.name} with {sys.executable} -m venv. On Debian/Ubuntu install "
            "the venv module: apt-get install python3-venv"
        )
    python = venv_bin(venv, "python")
    # uv is installed with pip into the venv itself; if that fails, pip does everything.
    run([python, "-m", "pip", "install", "--quiet", "uv"], log=log, env=install_env(), check=False)


def pip_install(venv: Path, args: list[str], log: Path, what: str) -> None:
    python = venv_bin(venv, "python")
    uv = venv_bin(venv, "uv")
    if uv.exists():
        cmd = [uv, "pip", "install", "--python", python, *args]
    else:
        cmd = [python, "-m", "pip", "install", "--quiet", *args]
    run(cmd, log=log, env=install_env(), what=what)


def ensure_venv(venv: Path, requirements: list[str], *, always_install: bool = False) -> Path:
    """Make `venv` hold `requirements`; reuse it when it was made for the same ones."""
    check_python()
    log = ROOT / "output" / "logs" / f"setup{venv.name}.log"
    stamp = venv / ".dev-requirements.json"
    # The same base interpreter whether this runs from python3 or from a venv made from it.
    wanted = {"requirements": requirements, "python": sys.version.split()[0], "base": sys.base_prefix}
    python = venv_bin(venv, "python")
    fresh = False
    try:
        current = json.loads(stamp.read_text())
    except (OSError, ValueError):
        current = None
    if current != wanted or not python.exists():
        step(f"Creating {venv.name}/ ({', '.join(requirements)}); log: {log.relative_to(ROOT)}")
        started = time.monotonic()
        create_venv(venv, log)
        pip_install(venv, requirements, log, f"installing {', '.join(requirements)} into {venv.name}")
        stamp.write_text(json.dumps(wanted))
        say(f"    done in {time.monotonic() - started:.0f}s")
        fresh = True
    if always_install and not fresh:
        pip_install(venv, requirements, log, f"installing {', '.join(requirements)} into {venv.name}")
    return python


def ensure_project_venv() -> Path:
    """.venv: the tap (editable) and its test extras; re-synced every time (cheap with uv)."""
    return ensure_venv(PROJECT_VENV, ["-e", ".[test]"], always_install=True)


def ensure_meltano() -> Path:
    """.venv-meltano with Meltano; returns the `meltano` executable."""
    ensure_venv(MELTANO_VENV, [f"meltano=={MELTANO_VERSION}"])
    return venv_bin(MELTANO_VENV, "meltano")


def ensure_airflow() -> Path:
    """.venv-airflow with Apache Airflow; returns the `airflow` executable."""
    ensure_venv(AIRFLOW_VENV, [f"apache-airflow=={AIRFLOW_VERSION}"])
    return venv_bin(AIRFLOW_VENV, "airflow")


def ensure_dbt() -> Path:
    """.venv-dbt with dbt-core and dbt-postgres; returns the `dbt` executable."""
    ensure_venv(DBT_VENV, DBT_REQUIREMENTS)
    return venv_bin(DBT_VENV, "dbt")


def meltano_env(**extra: str) -> dict[str, str]:
    env = install_env()
    env.update(QUIET_MELTANO_ENV)
    env.update(extra)
    return env


# --- the sandbox ------------------------------------------------------------------------


class SandboxProcess:
    """`python -m ontraport_sandbox --port 0` in the background (standard library only)."""

    def __init__(self, *args: str, log: Path) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        env["PYTHONUNBUFFERED"] = "1"
        # The tap's own venv (made by `meltano install`) has everything the package imports;
        # the sandbox itself needs only the standard library, so any Python >= 3.10 will do.
        tap_python = venv_bin(ROOT / ".meltano" / "extractors" / "tap-ontraport" / "venv", "python")
        python = tap_python if tap_python.exists() else Path(sys.executable)
        self._stderr = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [str(python), "-m", "ontraport_sandbox", "--port", "0", "--quiet", *args],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=self._stderr, text=True,
            stdin=subprocess.DEVNULL,
        )
        timer = threading.Timer(30, self.proc.kill)
        timer.start()
        try:
            self.banner = self.proc.stdout.readline().strip()
        finally:
            timer.cancel()
        match = re.search(r"(http://\S+/1)\b", self.banner)
        if not match:
            self.stop()
            raise DevError(f"the sandbox did not start: {self.banner or 'no banner'}; see {log}")
        self.url = match.group(1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        self._stderr.close()


# --- demo -------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    started = time.monotonic()
    meltano = ensure_meltano()
    log = DEMO_OUTPUT / "meltano.log"
    if DEMO_OUTPUT.exists():
        shutil.rmtree(DEMO_OUTPUT)
    DEMO_OUTPUT.mkdir(parents=True)
    step(f"meltano install tap-ontraport target-jsonl   (log: {log.relative_to(ROOT)})")
    run([meltano, "install", "tap-ontraport", "target-jsonl"], log=log, env=meltano_env(),
        what="meltano install")
    sandbox = SandboxProcess(*args.sandbox_args, log=DEMO_OUTPUT / "sandbox.log")
    try:
        step(f"Sandbox: {sandbox.banner}")
        env = meltano_env(
            TAP_ONTRAPORT_API_URL=sandbox.url,
            TARGET_JSONL_DESTINATION_PATH=str(DEMO_OUTPUT.relative_to(ROOT)),
        )
        cmd = demo_run_command(meltano)
        step(f"TAP_ONTRAPORT_API_URL={sandbox.url} meltano {' '.join(str(c) for c in cmd[1:])}")
        run_started = time.monotonic()
        run(cmd, log=log, env=env, what="meltano run")
        run_seconds = time.monotonic() - run_started
    finally:
        sandbox.stop()
        step("Sandbox stopped")
    print_demo_summary(log, run_seconds)
    say(f"Demo done in {time.monotonic() - started:.0f}s. Files: {DEMO_OUTPUT.relative_to(ROOT)}/*.jsonl; "
        f"Meltano log: {log.relative_to(ROOT)}")
    return 0


def demo_run_command(meltano: Path) -> list[str | Path]:
    """The demo's run: from scratch (the output folder was just emptied), under its own state id."""
    return [meltano, "run", "--full-refresh", "--state-id-suffix", DEMO_STATE_ID_SUFFIX, "tap-ontraport", "target-jsonl"]


def print_demo_summary(log: Path, run_seconds: float) -> None:
    """Rows per stream from the jsonl files (and the tap's own count, to compare)."""
    tap_counts = {stream: (summary.records, summary.requests)
                  for stream, summary in read_summary(log.read_text(errors="replace")).items()}
    rows = []
    for path in sorted(DEMO_OUTPUT.glob("*.jsonl")):
        count = 0
        columns: set[str] = set()
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    count += 1
                    columns.update(json.loads(line))
        rows.append((path.stem, count, len(columns)))
    if not rows:
        raise DevError(f"no .jsonl file was written to {DEMO_OUTPUT}; see {log}")
    say()
    say(f"Loaded by `meltano run tap-ontraport target-jsonl` in {run_seconds:.1f}s:")
    say()
    width = max(len("stream"), *(len(name) for name, _, _ in rows))
    header = f"  {'stream':<{width}}  {'rows':>6}  {'fields':>7}  {'API requests':>12}"
    say(header)
    say("  " + "-" * (len(header) - 2))
    total = 0
    for name, count, columns in rows:
        total += count
        requests = tap_counts.get(name, (None, None))[1]
        say(f"  {name:<{width}}  {count:>6,}  {columns:>7}  {'' if requests is None else requests:>12}")
    for name in sorted(set(tap_counts) - {r[0] for r in rows}):  # e.g. discovery (/objects/meta)
        say(f"  {'(' + name + ')':<{width}}  {'':>6}  {'':>7}  {tap_counts[name][1]:>12}")
    say("  " + "-" * (len(header) - 2))
    total_requests = sum(requests for _, requests in tap_counts.values())
    say(f"  {f'{len(rows)} streams':<{width}}  {total:>6,}  {'':>7}  {total_requests:>12}")
    say()
    notes = sum(1 for line in log.read_text(errors="replace").splitlines() if "Data note:" in line)
    if notes:
        say(f"The tap logged {notes} data notes (fields the API sent that its meta does not describe, "
            f"values it could not read): grep 'Data note' {log.relative_to(ROOT)}")
    say(f"Meltano saved the demo's state as {DEMO_STATE_ID}, apart from your own runs' "
        f"({venv_bin(MELTANO_VENV, 'meltano').relative_to(ROOT)} state get {DEMO_STATE_ID}).")
    mismatched = [name for name, count, _ in rows if name in tap_counts and tap_counts[name][0] != count]
    if mismatched:
        raise DevError(f"rows written differ from the tap's own count for: {', '.join(mismatched)}")


# --- tests ------------------------------------------------------------------------------


def pytest_run(python: Path, paths: list[str], extra: list[str], label: str) -> tuple[int, float]:
    step(f"{label}: pytest {' '.join(paths + extra)}")
    started = time.monotonic()
    env = dict(os.environ)
    env.update(QUIET_MELTANO_ENV)
    env.setdefault("UV_COMPILE_BYTECODE", "1")
    proc = subprocess.Popen([str(python), "-m", "pytest", *paths, *extra], cwd=ROOT, env=env,
                            stdin=subprocess.DEVNULL)
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        # Let pytest run its teardown (it stops the PostgreSQL server it started): the e2e
        # conftest turns SIGTERM into KeyboardInterrupt (SIGINT may be ignored in background jobs).
        proc.terminate()
        try:
            proc.wait(120)
        except subprocess.TimeoutExpired:
            proc.kill()
        raise
    return code, time.monotonic() - started


def lint_run(python: Path) -> tuple[int, float]:
    """ruff, then mypy on the packages; the first failure's output is what the user sees."""
    started = time.monotonic()
    for label, cmd in (("ruff", [python, "-m", "ruff", "check", *LINT_PATHS]),
                       ("mypy", [python, "-m", "mypy", *TYPED_PACKAGES])):
        step(f"{label}: {' '.join(str(c) for c in cmd[1:])}")
        code = run(cmd, check=False)
        if code != 0:
            return code, time.monotonic() - started
    return 0, time.monotonic() - started


def cmd_test(args: argparse.Namespace, *, fast: bool = True, e2e: bool = True) -> int:
    started = time.monotonic()
    python = ensure_project_venv()
    results: list[tuple[str, int, float]] = []
    if fast:
        code, seconds = lint_run(python)
        results.append(("lint and types (ruff, mypy)", code, seconds))
        code, seconds = pytest_run(python, FAST_SUITES, [*FAST_PYTEST_ARGS, *args.pytest_args], "Fast suites")
        results.append(("fast suites (" + " ".join(FAST_SUITES) + ")", code, seconds))
    if e2e:
        # The e2e tests install Meltano, its plugins and Airflow themselves (see tests/e2e/conftest.py).
        code, seconds = pytest_run(python, E2E_SUITE, ["-m", "e2e", "-v", "--durations=8", *args.pytest_args],
                                   "End-to-end suite")
        results.append(("end-to-end suite (tests/e2e)", code, seconds))
    say()
    failed = False
    for label, code, seconds in results:
        verdict = "passed" if code == 0 else f"FAILED (pytest exit status {code})"
        failed |= code != 0
        say(f"  {label}: {verdict} in {seconds:.0f}s")
    say(f"  total: {time.monotonic() - started:.0f}s")
    return 1 if failed else 0


def cmd_setup(args: argparse.Namespace) -> int:
    ensure_project_venv()
    ensure_meltano()
    if args.airflow:
        ensure_airflow()
    if args.dbt:
        ensure_dbt()
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    for path in (PROJECT_VENV, MELTANO_VENV, AIRFLOW_VENV, DBT_VENV, ROOT / ".meltano", DEMO_OUTPUT, ROOT / "output" / "logs"):
        if path.exists():
            step(f"Removing {path.relative_to(ROOT)}")
            shutil.rmtree(path)
    return 0


def _interrupt(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once is enough: let the cleanup finish
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    pytest_args: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, pytest_args = argv[:cut], argv[cut + 1:]
    parser = argparse.ArgumentParser(prog="scripts/dev.py", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="run the tap against the sandbox through Meltano into target-jsonl "
                   "(sandbox options after --, e.g. -- --scale 2)")
    sub.add_parser("test", help="the fast suites, then the end-to-end suite")
    sub.add_parser("test-fast", help="the inner loop: ruff, mypy, then pytest " + " ".join(FAST_SUITES))
    sub.add_parser("test-e2e", help="only the end-to-end suite (Meltano, PostgreSQL, Airflow)")
    setup = sub.add_parser("setup", help="only create .venv and .venv-meltano")
    setup.add_argument("--airflow", action="store_true", help="also .venv-airflow")
    setup.add_argument("--dbt", action="store_true", help="also .venv-dbt (dbt-core, dbt-postgres)")
    sub.add_parser("clean", help="remove the venvs, .meltano/ and output/demo/")
    args = parser.parse_args(argv)
    if hasattr(signal, "SIGTERM"):
        # A terminated run still stops what it started (the sandbox, pytest's PostgreSQL).
        signal.signal(signal.SIGTERM, _interrupt)
    args.pytest_args = pytest_args
    if args.command == "demo":
        args.sandbox_args = pytest_args  # after `--`: options for the sandbox
    try:
        if args.command == "demo":
            return cmd_demo(args)
        if args.command == "test":
            return cmd_test(args)
        if args.command == "test-fast":
            return cmd_test(args, e2e=False)
        if args.command == "test-e2e":
            return cmd_test(args, fast=False)
        if args.command == "setup":
            return cmd_setup(args)
        if args.command == "clean":
            return cmd_clean(args)
    except DevError as exc:
        say(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
