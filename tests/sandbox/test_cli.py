"""The ontraport-sandbox command: start, serve, log without secrets, stop on SIGTERM."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from ontraport_sandbox.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
APP_ID, API_KEY = "cli-app-id-4711", "cli-api-key-0815"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _command() -> list[str]:
    script = shutil.which("ontraport-sandbox", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "ontraport_sandbox"]


def _start(*args: str) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    process = subprocess.Popen([*_command(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=REPO, env=env)
    banner = process.stdout.readline()
    if not banner:
        process.kill()
        pytest.fail(f"sandbox did not start: {process.stderr.read()}")
    return process, banner


def _stop(process: subprocess.Popen) -> tuple[int, str, str]:
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=10)
    return process.returncode, out, err


def test_serves_logs_without_secrets_and_exits_on_sigterm():
    port = _free_port()
    process, banner = _start("--port", str(port), "--app-id", APP_ID, "--api-key", API_KEY,
                             "--size", "Contact=120", "--size", "46=7", "--rate-limit", "100",
                             "--fault", "503:at=4", "--forbid", "Offer")
    try:
        base = f"http://127.0.0.1:{port}/1"
        assert banner.startswith(f"Ontraport sandbox serving {base}")
        headers = {"Api-Appid": APP_ID, "Api-Key": API_KEY}
        contacts = requests.get(f"{base}/Contacts", params={"range": 60}, headers=headers, timeout=10)
        assert contacts.status_code == 200 and len(contacts.json()["data"]) == 50
        assert contacts.headers["x-rate-limit-limit"] == "100"
        refused = requests.get(f"{base}/Contacts", params={"range": 60}, timeout=10)
        assert refused.status_code == 401 and refused.text == "Your App ID and API Key do not authenticate."
        info = requests.get(f"{base}/Transactions/getInfo", headers=headers, timeout=10).json()
        assert info["data"]["count"] == "7"
        assert requests.get(f"{base}/Contacts", headers=headers, timeout=10).status_code == 503
        assert requests.get(f"{base}/Offers", headers=headers, timeout=10).status_code == 403
        # a careless client putting the key in the query string must not leak it either
        requests.get(f"{base}/Contacts", params={"Api-Key": API_KEY, "api_appid": APP_ID}, timeout=10)
    finally:
        code, out, err = _stop(process)
    assert code == 0
    assert "stopped" in out
    log = err.strip().splitlines()
    assert len(log) == 6
    assert log[0].startswith("GET /1/Contacts?range=60 200 ")
    assert log[1].startswith("GET /1/Contacts?range=60 401 ")
    for secret in (APP_ID, API_KEY):
        assert secret not in out and secret not in err


def test_quiet_and_verbose(tmp_path):
    port = _free_port()
    process, banner = _start("--port", str(port), "--quiet", "--rate-limit", "0", "--scale", "0.1")
    try:
        requests.get(f"http://127.0.0.1:{port}/1/Contacts", headers={"Api-Appid": "sandbox", "Api-Key": "sandbox"},
                     timeout=10)
        assert "no rate limit" in banner
    finally:
        code, out, err = _stop(process)
    assert code == 0 and err == ""

    port = _free_port()
    process, _ = _start("--port", str(port), "--verbose", "--fault", "429:at=1,reset=4")
    try:
        requests.get(f"http://127.0.0.1:{port}/1/Contacts", timeout=10)
    finally:
        code, out, err = _stop(process)
    assert code == 0
    assert "Contact" in err and "fault=429" in err  # object table, then the request line


def test_sigint_also_stops_it():
    process, _ = _start("--port", str(_free_port()), "--quiet")
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=10)
    assert process.returncode == 0


def test_bad_arguments_are_refused():
    parser = build_parser()
    for bad in (["--size", "Contact"], ["--size", "Nope=3"], ["--fault", "boom"], ["--forbid", "Nope"],
                ["--quiet", "--verbose"]):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)
    args = parser.parse_args(["--size", "Contact=5", "--size", "10000=3", "--forbid", "46", "--fault", "reset:every=9"])
    assert args.size == [(0, 5), (10000, 3)] and args.forbid == [46] and args.fault[0].every == 9
    assert parser.parse_args([]).port == 8765


def test_port_in_use_is_a_clean_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        done = subprocess.run([*_command(), "--port", str(port)], capture_output=True, text=True,
                              timeout=20, cwd=REPO, env=env)
    assert done.returncode == 2 and "ontraport-sandbox:" in done.stderr
