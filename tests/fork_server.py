"""A process with the tap already imported that forks a real `tap-ontraport` process per run.

Starting the tap costs about a second of CPU importing the Singer SDK; the fast suites start
it well over a hundred times. This server pays that once: for each run it forks a child
that is an ordinary process of its own, with the run's argv, environment, working folder and
the caller's stdin/stdout/stderr (passed over a Unix socket), which then runs the tap's
command line exactly as the console script does. The caller gets the child's pid (so it can
signal it) and, when the child ends, its wait status (so exit codes and deaths by a signal
read as `subprocess.Popen` reports them).

Protocol, per connection: the client sends one JSON line `{"argv", "env", "cwd"}` with three
file descriptors attached (stdin, stdout, stderr); the server answers `{"pid": N}` and later
`{"status": S}` (an `os.waitpid` status), then closes the connection.

Run as `python -m tests.fork_server SOCKET_PATH`; it prints `ready` on stdout once listening,
and exits when its parent process goes away or on SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import traceback

#: Imported once here, so each forked run starts with the SDK in memory.
from tap_ontraport.tap import TapOntraport

#: Seconds between checks that the process which started the server is still there.
PARENT_CHECK_SECONDS = 1.0


def serve(socket_path: str) -> None:
    parent = os.getppid()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(16)
    listener.settimeout(PARENT_CHECK_SECONDS)
    print("ready", flush=True)
    while os.getppid() == parent:
        _reap_finished_monitors()
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            continue
        if os.fork() == 0:  # the monitor of this one run
            listener.close()
            _monitor(connection)  # never returns
        connection.close()
    listener.close()


def _reap_finished_monitors() -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def _monitor(connection: socket.socket) -> None:
    """Fork the run's process, tell the client its pid, wait for it, send its status."""
    status = 1
    try:
        connection.settimeout(None)
        request, fds = _receive_request(connection)
        pid = os.fork()
        if pid == 0:
            connection.close()
            _become_the_tap(request, fds)  # ends with os._exit
        for fd in fds:
            os.close(fd)
        connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        _, wait_status = os.waitpid(pid, 0)
        connection.sendall(json.dumps({"status": wait_status}).encode() + b"\n")
        status = 0
    except BaseException:  # noqa: BLE001 - the client sees the connection close without a status
        traceback.print_exc()
    finally:
        os._exit(status)


def _receive_request(connection: socket.socket) -> tuple[dict, list[int]]:
    data, fds, _, _ = socket.recv_fds(connection, 1 << 20, 3)
    while not data.endswith(b"\n"):
        more = connection.recv(1 << 20)
        if not more:
            raise ConnectionError("the client went away before its request was complete")
        data += more
    if len(fds) != 3:
        raise ValueError(f"expected 3 file descriptors (stdin, stdout, stderr), got {len(fds)}")
    return json.loads(data), fds


def _become_the_tap(request: dict, fds: list[int]) -> None:
    """In the forked child: take the caller's streams, argv, environment and folder, run the tap."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    for signum in (signal.SIGTERM, signal.SIGCHLD):
        signal.signal(signum, signal.SIG_DFL)  # the server's own handling is not the tap's
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = list(request["argv"])
    sys.path[0] = request["cwd"]  # what `python -m tap_ontraport` run from that folder would see
    os._exit(_interpreter_exit(_run_cli()))


def _run_cli() -> int:
    """The tap's command line, ended the way the interpreter ends a script."""
    try:
        TapOntraport.cli()  # a click command: it ends with SystemExit
    except SystemExit as done:
        return _exit_code(done.code)
    except KeyboardInterrupt:
        # An unhandled Ctrl-C: the traceback, then death by SIGINT (as the interpreter does).
        traceback.print_exc()
        sys.stderr.flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    except BaseException:  # noqa: BLE001 - handed to the tap's exception hook, as in a real run
        sys.excepthook(*sys.exc_info())
        return 1
    return 0


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _interpreter_exit(code: int) -> int:
    """What the interpreter does after the script: join threads, run atexit, flush the streams."""
    import atexit
    import threading

    threading._shutdown()  # type: ignore[attr-defined]  # joins non-daemon threads, as at exit
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or 120  # the interpreter's status when stdout cannot be flushed at exit
    return code


def main() -> None:
    socket_path = sys.argv[1]
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    try:
        serve(socket_path)
    finally:
        _reap_finished_monitors()  # so their CPU time is counted in this process's children
        if os.path.exists(socket_path) and os.getpid() == SERVER_PID:
            os.unlink(socket_path)


SERVER_PID = os.getpid()

if __name__ == "__main__":
    main()
