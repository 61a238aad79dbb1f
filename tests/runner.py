"""Running the tap and reading what it says, for the tests, the benchmarks and scripts/dev.py.

* `SingerOutput.parse` / `SingerOutput.read`: the Singer messages a run wrote to stdout, read
  the way a target reads them.
* `run_in_process`: one sync inside this process (the test can look at the tap object after).
* `run_cli` / `start_cli`: the `tap-ontraport` command line as a real process, run to the end
  or started so the test can read its output and kill it. These go through a fork server
  (`tests/fork_server.py`: the SDK imported once, a real child process forked per run) when
  this platform can fork, else through a fresh interpreter; `TAP_COMMAND` is the command.
* `read_summary`: the run summary from the tap's stderr, per stream.

Top-level imports are standard library only: `scripts/dev.py` (run by any python3, before
any venv exists) and the benchmarks' bare child processes import this module.
"""

from __future__ import annotations

import atexit
import io
import json
import os
import re
import select
import socket
import subprocess
import sys
import tempfile
import threading
from collections import defaultdict
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
#: The tap's command line as a user runs it from a checkout (the console script runs the same).
TAP_COMMAND = [sys.executable, "-m", "tap_ontraport"]
#: Set to 0 to run every command line in a fresh interpreter instead of a forked one.
FORK_SERVER_SWITCH = "TESTS_FORK_SERVER"  # not TAP_ONTRAPORT_*: the tap would read it as a setting


# --- Singer output ----------------------------------------------------------------------


@dataclass
class SingerOutput:
    schemas: dict[str, dict] = field(default_factory=dict)
    records: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    states: list[dict] = field(default_factory=list)
    activate_versions: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    messages: list[dict] = field(default_factory=list)
    tap: object = None  # the tap that produced it, when run in-process

    @property
    def state(self) -> dict | None:
        return self.states[-1] if self.states else None

    def count(self, kind: str) -> int:
        """Messages of one type ("RECORD", "STATE", ...)."""
        return sum(1 for message in self.messages if message["type"] == kind)

    @classmethod
    def parse(cls, text: str) -> SingerOutput:
        output = cls()
        decode = _message_decoder()
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                message = decode(line)
            except ValueError:
                break  # a line cut by a kill: what a target would also ignore
            output._add(message)
        return output

    @classmethod
    def read(cls, path: Path) -> SingerOutput:
        """The messages of a captured stdout file."""
        return cls.parse(path.read_text(encoding="utf-8"))

    def _add(self, message: dict) -> None:
        self.messages.append(message)
        kind = message["type"]
        if kind == "SCHEMA":
            self.schemas[message["stream"]] = message["schema"]
        elif kind == "RECORD":
            self.records[message["stream"]].append(message["record"])
        elif kind == "STATE":
            self.states.append(message["value"])
        elif kind == "ACTIVATE_VERSION":
            self.activate_versions[message["stream"]].append(message["version"])


def _json_message(line: str) -> Any:
    return json.loads(line, parse_float=Decimal)


def _message_decoder() -> Any:
    """line -> message, numbers as the standard library reads them with parse_float=Decimal.

    msgspec (installed with the SDK) decodes the same values about three times as fast, and
    reading the tap's output was a large share of the fast suites' CPU time; a line it refuses
    goes to the standard library, so what counts as a readable line does not change. Imported
    here, not at the top: scripts/dev.py imports this module before any venv exists.
    """
    try:
        import msgspec
    except ImportError:
        return _json_message
    fast = msgspec.json.Decoder(float_hook=Decimal).decode

    def decode(line: str) -> Any:
        try:
            return fast(line)
        except (msgspec.DecodeError, ValueError):
            return _json_message(line)

    return decode


# --- the run summary --------------------------------------------------------------------

#: A stream's line of the tap's summary (`tap_ontraport/progress.py` writes it; a unit test
#: checks this reads what it writes). "1 record" and "2 records" alike.
SUMMARY_LINE = re.compile(
    r"Summary: (?P<stream>[\w.-]+): (?P<records>[\d,]+) records?, (?P<requests>[\d,]+) requests?, "
    r"(?P<retries>[\d,]+) retr(?:y|ies), (?P<x429>[\d,]+) x 429, (?P<waiting>[\d.]+)s waiting"
)


@dataclass(frozen=True)
class StreamSummary:
    records: int
    requests: int
    retries: int
    x429: int
    waiting: float


def read_summary(stderr: str) -> dict[str, StreamSummary]:
    """{stream: its summary line's figures} from a run's stderr (discovery included).

    The one place that knows the summary's format: tests, benchmarks and scripts read it here.
    """
    found: dict[str, StreamSummary] = {}
    for match in SUMMARY_LINE.finditer(stderr):
        found[match["stream"]] = StreamSummary(
            records=_whole(match["records"]), requests=_whole(match["requests"]),
            retries=_whole(match["retries"]), x429=_whole(match["x429"]), waiting=float(match["waiting"]),
        )
    return found


def _whole(text: str) -> int:
    return int(text.replace(",", ""))


# --- in-process runs --------------------------------------------------------------------


def run_in_process(tap_class: Any, config: dict, state: dict | None = None,
                   catalog: dict | None = None) -> SingerOutput:
    """Sync every stream (all selected unless a catalog says otherwise) and parse stdout."""
    buffer = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")  # the writer uses stdout.buffer
    with redirect_stdout(buffer):
        tap = tap_class(config=config, state=state, catalog=catalog)
        if catalog is None:
            for stream in tap.streams.values():
                stream.selected = True
        tap.sync_all()
    buffer.flush()
    output = SingerOutput.parse(buffer.buffer.getvalue().decode("utf-8"))
    output.tap = tap
    return output


def select_only(catalog: dict, stream_names: set[str] | list[str]) -> dict:
    """The catalog with exactly `stream_names` selected (all their fields)."""
    wanted = set(stream_names)
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] in wanted
    return catalog


# --- the command line as a process ------------------------------------------------------


def run_cli(*args: str, cwd: Path | str | None = None, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
    """`tap-ontraport ARGS...` to the end: exit status, stdout and stderr as text."""
    process = start_cli(*args, cwd=cwd, env=env)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    return subprocess.CompletedProcess([*TAP_COMMAND, *args], process.returncode, stdout, stderr)


def start_cli(*args: str, cwd: Path | str | None = None, env: dict[str, str] | None = None,
              stdout: int = subprocess.PIPE, stderr: int = subprocess.PIPE) -> Any:
    """`tap-ontraport ARGS...` started: a `subprocess.Popen` or an object with its interface
    (pid, stdout, stderr, poll, wait, communicate, send_signal, terminate, kill), text mode."""
    env = dict(os.environ if env is None else env)
    cwd = str(cwd or os.getcwd())
    server = _fork_server(env)
    if server is None:
        return subprocess.Popen([*TAP_COMMAND, *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                stdout=stdout, stderr=stderr, text=True)
    return server.start(["tap-ontraport", *args], cwd=cwd, env=env, stdout=stdout, stderr=stderr)


class ForkedProcess:
    """A tap process forked by the fork server, seen through `subprocess.Popen`'s interface."""

    def __init__(self, connection: socket.socket, args: list[str], stdout: IO[str] | None,
                 stderr: IO[str] | None) -> None:
        self.args = args
        self.stdout, self.stderr = stdout, stderr
        self.returncode: int | None = None
        self._connection = connection
        self._received = b""
        self.pid = self._answer("pid")

    def _answer(self, key: str) -> int:
        """The server's next answer line (blocking, under the socket's timeout)."""
        while b"\n" not in self._received:
            more = self._connection.recv(4096)
            if not more:
                raise RuntimeError("the fork server closed the connection without an answer; see its stderr")
            self._received += more
        line, self._received = self._received.split(b"\n", 1)
        return int(json.loads(line)[key])

    def poll(self) -> int | None:
        if self.returncode is None and (b"\n" in self._received
                                        or select.select([self._connection], [], [], 0)[0]):
            self.wait()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self._connection.settimeout(timeout)
            try:
                status = self._answer("status")
            except TimeoutError:
                raise subprocess.TimeoutExpired(self.args, timeout or 0) from None
            self.returncode = os.waitstatus_to_exitcode(status)
            self._connection.close()
        return self.returncode

    def communicate(self, timeout: float | None = None) -> tuple[str | None, str | None]:
        """Both streams read to their end (in threads, so neither pipe fills), then the status."""
        results: dict[str, str] = {}
        readers = [threading.Thread(target=lambda n=name, s=stream: results.__setitem__(n, s.read()), daemon=True)
                   for name, stream in (("stdout", self.stdout), ("stderr", self.stderr)) if stream is not None]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join(timeout)
            if reader.is_alive():
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
        self.wait(timeout)
        for stream in (self.stdout, self.stderr):
            if stream is not None:
                stream.close()
        return results.get("stdout"), results.get("stderr")

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(15)

    def kill(self) -> None:
        self.send_signal(9)


class ForkServer:
    """The `tests/fork_server.py` process this process started (one per test worker)."""

    def __init__(self) -> None:
        self._folder = tempfile.mkdtemp(prefix="tap-fork-")
        self.socket_path = os.path.join(self._folder, "server.sock")
        self.python_settings = _python_settings(os.environ)
        self.process = subprocess.Popen([sys.executable, "-m", "tests.fork_server", self.socket_path], cwd=ROOT,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        ready = self.process.stdout.readline().strip()
        if ready != "ready":
            self.stop()
            raise RuntimeError(f"the fork server did not start (it said {ready!r})")
        atexit.register(self.stop)

    def start(self, argv: list[str], *, cwd: str, env: dict[str, str], stdout: int, stderr: int) -> ForkedProcess:
        ours, theirs = [], []
        readers: list[IO[str] | None] = []
        for wanted in (stdout, stderr):
            if wanted == subprocess.PIPE:
                read_end, write_end = os.pipe()
                readers.append(open(read_end, encoding="utf-8", errors="replace"))  # noqa: SIM115
                theirs.append(write_end)
                ours.append(write_end)
            else:
                readers.append(None)
                theirs.append(os.open(os.devnull, os.O_WRONLY) if wanted == subprocess.DEVNULL else wanted)
                if wanted == subprocess.DEVNULL:
                    ours.append(theirs[-1])
        stdin = os.open(os.devnull, os.O_RDONLY)
        ours.append(stdin)
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            connection.connect(self.socket_path)
            request = json.dumps({"argv": argv, "env": env, "cwd": cwd}).encode() + b"\n"
            socket.send_fds(connection, [request], [stdin, *theirs])
        finally:
            for fd in ours:  # the child has its own copies now
                os.close(fd)
        return ForkedProcess(connection, argv, readers[0], readers[1])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.process.stdout:
            self.process.stdout.close()
        for leftover in (self.socket_path, self._folder):
            try:
                os.unlink(leftover) if leftover == self.socket_path else os.rmdir(leftover)
            except OSError:
                pass


_SERVER: list[ForkServer] = []  # started on first use, in each process that runs the tap


def stop_fork_server() -> None:
    """Stop this process's fork server, if it started one (it also stops at exit)."""
    while _SERVER:
        _SERVER.pop().stop()


def _python_settings(env: dict[str, str] | os._Environ) -> dict[str, str]:
    """The variables the interpreter reads once at start-up: a forked run cannot change them."""
    return {name: value for name, value in env.items() if name.startswith("PYTHON")}


def _fork_server(env: dict[str, str]) -> ForkServer | None:
    """This process's fork server, if a forked run can honour `env` (else None: a fresh interpreter)."""
    if not hasattr(os, "fork") or not hasattr(socket, "send_fds") or os.environ.get(FORK_SERVER_SWITCH) == "0":
        return None
    if not _SERVER or _SERVER[0].process.poll() is not None:
        _SERVER[:] = [ForkServer()]
    server = _SERVER[0]
    return server if _python_settings(env) == server.python_settings else None
