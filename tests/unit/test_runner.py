"""The shared runner: its summary reader reads what the tap writes, and a forked run of the
command line behaves as a fresh `python -m tap_ontraport` does (argv, folder, environment,
streams, exit status, signals)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from decimal import Decimal

import pytest

from tap_ontraport.client import DISCOVERY, RequestStats
from tap_ontraport.progress import SUMMARY_PATTERN, summary_lines
from tests import runner


def test_the_summary_reader_reads_what_the_tap_writes():
    stats = {"contacts": RequestStats(requests=1_203, retries=1, rate_limited=2, wait_seconds=3.25),
             "tags": RequestStats(requests=1), DISCOVERY: RequestStats(requests=1)}
    records = {"contacts": 60_000, "tags": 1}
    stderr = "\n".join(f"2026-01-01 00:00:00,000 | INFO | tap-ontraport | Summary: {line}"
                       for line in summary_lines(records, stats))
    assert runner.read_summary(stderr) == {
        "contacts": runner.StreamSummary(records=60_000, requests=1_203, retries=1, x429=2, waiting=3.2),
        "tags": runner.StreamSummary(records=1, requests=1, retries=0, x429=0, waiting=0.0),
        DISCOVERY: runner.StreamSummary(records=0, requests=1, retries=0, x429=0, waiting=0.0),
    }
    assert runner.SUMMARY_LINE.pattern == SUMMARY_PATTERN.pattern  # one format, read in one place


def test_the_singer_reader_stops_at_a_line_cut_by_a_kill():
    lines = [
        {"type": "SCHEMA", "stream": "tags", "schema": {}, "key_properties": ["tag_id"]},
        {"type": "RECORD", "stream": "tags", "record": {"tag_id": 1, "score": 1.5}},
        {"type": "STATE", "value": {"bookmarks": {"tags": {"replication_key_value": 1}}}},
    ]
    text = "\n".join(json.dumps(line) for line in lines) + '\n{"type": "RECORD", "stre'
    output = runner.SingerOutput.parse(text)
    assert output.records["tags"] == [{"tag_id": 1, "score": Decimal("1.5")}]
    assert output.state == lines[2]["value"] and output.count("RECORD") == 1 and len(output.messages) == 3


def test_the_singer_reader_reads_values_as_the_standard_library_does():
    # The reader decodes with msgspec when it can: the values (types included) must be those of
    # json.loads(parse_float=Decimal), and a line only the standard library reads is still read.
    lines = [
        '{"type": "RECORD", "stream": "s", "record": {"a": 1.50, "b": 123456789012345678901234567890, '
        '"c": -0.0, "d": 1e400, "e": "\\ud83c\\udf89 \\u00e9", "f": [1, 2.0, null, true], "g": -7, "a": 3}}',
        '{"type": "RECORD", "stream": "s", "record": {"lone": "\\ud800", "nan": NaN}}',
    ]
    output = runner.SingerOutput.parse("\n".join(lines))
    expected = [json.loads(line, parse_float=Decimal) for line in lines]
    assert output.messages == expected
    for got, want in zip(output.messages, expected):
        assert [type(v) for v in got["record"].values()] == [type(v) for v in want["record"].values()]
        assert list(got["record"]) == list(want["record"])  # key order too


@pytest.fixture(params=["forked", "fresh interpreter"])
def how(request, monkeypatch):
    if request.param == "fresh interpreter":
        monkeypatch.setenv(runner.FORK_SERVER_SWITCH, "0")
    return request.param


def test_a_run_has_its_own_folder_environment_and_exit_status(tmp_path, how):
    (tmp_path / "config.json").write_text(json.dumps({"app_id": "app-1"}))
    result = runner.run_cli("--config", "config.json", cwd=tmp_path)  # relative to the run's folder
    assert result.returncode == 1 and result.stdout == ""
    assert "`api_key` is missing" in result.stderr and "Traceback" not in result.stderr
    from_env = runner.run_cli("--config", "ENV", env={**os.environ, "TAP_ONTRAPORT_APP_ID": "app-1"})
    assert from_env.returncode == 1 and "`api_key` is missing" in from_env.stderr
    assert "set it in the config or as TAP_ONTRAPORT_API_KEY" in from_env.stderr  # app_id was read
    about = runner.run_cli("--about", "--format", "json")
    assert about.returncode == 0 and json.loads(about.stdout)["name"] == "tap-ontraport"


def test_a_forked_run_is_a_process_of_its_own_that_a_signal_ends(tmp_path, how):
    # `--config ENV` with an api_url nobody answers: the run waits on its connection.
    with _silent_port() as port:
        env = {**os.environ, "TAP_ONTRAPORT_APP_ID": "app-1", "TAP_ONTRAPORT_API_KEY": "key-1",
               "TAP_ONTRAPORT_API_URL": f"http://127.0.0.1:{port}/1", "TAP_ONTRAPORT_REQUEST_TIMEOUT": "60"}
        process = runner.start_cli("--config", "ENV", "--discover", env=env, cwd=tmp_path)
        assert process.pid != os.getpid() and process.poll() is None
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
        process.communicate()
    with pytest.raises(ProcessLookupError):
        os.kill(process.pid, 0)  # gone, and reaped


class _silent_port:
    """A listening socket that never accepts: connections hang until the client gives up."""

    def __enter__(self) -> int:
        import socket

        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        return self.listener.getsockname()[1]

    def __exit__(self, *exc: object) -> None:
        self.listener.close()


def test_a_fresh_interpreter_is_used_when_the_python_settings_differ(monkeypatch):
    env = {**os.environ, "PYTHONWARNINGS": "error::DeprecationWarning:nowhere"}
    process = runner.start_cli("--about", env=env)
    assert isinstance(process, subprocess.Popen)
    process.communicate(timeout=60)
    assert process.returncode == 0
