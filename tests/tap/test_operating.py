"""Operating the tap day to day: every early failure is one line, logs stay short, the summary adds up.

Each test runs the command line as a user would (a subprocess) and reads its stderr.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import socket
import subprocess
from pathlib import Path

import pytest
import yaml

from ontraport_sandbox import Fault
from tap_ontraport.client import FIRST_CONTACT_RETRIES, OntraportAuthenticator, OntraportClient
from tap_ontraport.errors import RetriesExhaustedError, UnreachableError
from tap_ontraport.governor import RateGovernor
from tap_ontraport.progress import SUMMARY_PATTERN
from tests.runner import SingerOutput, run_cli
from tests.tap.conftest import catalog_for, sandbox_config

ROOT = Path(__file__).resolve().parents[2]
CLOSED = "http://127.0.0.1:9/1"  # no request is ever meant to leave in these cases


def tap(tmp_path: Path, *args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return run_cli(*args, cwd=tmp_path, env=env, timeout=timeout)


def write(tmp_path: Path, name: str, content: str | dict) -> str:
    (tmp_path / name).write_text(content if isinstance(content, str) else json.dumps(content))
    return name


def error_lines(stderr: str) -> list[str]:
    return [line.split("| ")[-1] for line in stderr.splitlines() if "| ERROR" in line]


def assert_one_line_failure(result: subprocess.CompletedProcess, *fragments: str) -> str:
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    errors = error_lines(result.stderr)
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


GOOD = {"app_id": "app-1234", "api_key": "key-5678", "api_url": CLOSED}


# --- files and settings: one line, exit 1, before any request ---

@pytest.mark.parametrize(
    ("option", "content", "fragments"),
    [
        ("--config", "{not json", ["config file 'input.json' is not valid JSON", "line 1 column 2"]),
        ("--config", "", ["config file 'input.json' is empty"]),
        ("--config", "[1, 2]", ["config file 'input.json' holds a JSON array", "must hold a JSON object"]),
        ("--config", None, ["config file 'input.json' does not exist"]),
        ("--state", "nope", ["state file 'input.json' is not valid JSON"]),
        ("--state", None, ["state file 'input.json' does not exist"]),
        ("--state", '"a string"', ["state file 'input.json' holds a JSON string"]),
        ("--state", '{"bookmarks": []}', ["state file 'input.json'", "`bookmarks` must be an object"]),
        ("--catalog", "{}", ["catalog file 'input.json' has no `streams` list", "--discover"]),
        ("--catalog", '{"streams": [7]}', ["catalog file 'input.json': stream entry 1 is not an object"]),
        ("--catalog", "{", ["catalog file 'input.json' is not valid JSON"]),
    ],
)
def test_a_bad_input_file_is_one_line_naming_the_file(tmp_path, option, content, fragments):
    if content is not None:
        write(tmp_path, "input.json", content)
    args = ["--config", write(tmp_path, "config.json", GOOD)] if option != "--config" else []
    result = tap(tmp_path, *args, option, "input.json")
    assert_one_line_failure(result, *fragments)
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_misspelt_setting_names_the_closest_one(tmp_path):
    config = {"app_id": "app-1234", "apikey": "key-5678", "colour": "blue", "api_url": CLOSED}
    for mode in ([], ["--discover"]):
        result = tap(tmp_path, "--config", write(tmp_path, "config.json", config), *mode)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        errors = error_lines(result.stderr)
        assert errors == [
            "`apikey` is not a setting of tap-ontraport: did you mean `api_key`?",
            "`colour` is not a setting of tap-ontraport; `tap-ontraport --about` lists them.",
        ], result.stderr
        assert "is missing" not in result.stderr  # the "did you mean" line says it


def test_a_misspelt_variable_names_the_closest_one_and_never_its_value(tmp_path):
    env = {**os.environ, "TAP_ONTRAPORT_APP_ID": "app-1234", "TAP_ONTRAPORT_APIKEY": "key-5678-secret",
           "TAP_ONTRAPORT_COLOUR": "blue", "TAP_ONTRAPORT_API_URL": CLOSED,
           "TAP_ONTRAPORT_LOGLEVEL": "INFO", "TAP_ONTRAPORT__ACME_APP_ID": "app-9"}  # read elsewhere
    for mode in ([], ["--discover"]):
        result = tap(tmp_path, "--config", "ENV", *mode, env=env)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert error_lines(result.stderr) == [
            "`TAP_ONTRAPORT_APIKEY` (an environment variable) is not a setting of tap-ontraport: "
            "did you mean `TAP_ONTRAPORT_API_KEY`?",
            "`TAP_ONTRAPORT_COLOUR` (an environment variable) is not a setting of tap-ontraport; "
            "`tap-ontraport --about` lists them, each read from `TAP_ONTRAPORT_<NAME>`.",
        ], result.stderr
        assert "is missing" not in result.stderr and "key-5678-secret" not in result.stderr
    # given a config file, the SDK reads no variable: none is judged
    result = tap(tmp_path, "--config", write(tmp_path, "config.json", {"app_id": "app-1234"}), env=env)
    assert error_lines(result.stderr) == [
        "`api_key` is missing: set it in the config or as TAP_ONTRAPORT_API_KEY."
    ], result.stderr


# --- an api_url that leads nowhere fails fast and says so ---

def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("where", ["refused", "dns"])
def test_an_unreachable_api_url_is_one_line_naming_it(tmp_path, where):
    host = f"127.0.0.1:{_closed_port()}" if where == "refused" else "api.ontraport.invalid"
    config = {**GOOD, "api_url": f"http://{host}/1"}
    for mode in ([], ["--discover"]):
        result = tap(tmp_path, "--config", write(tmp_path, "config.json", config), *mode, timeout=60)
        line = assert_one_line_failure(result, f"`api_url` http://{host}/1", "Check `api_url`")
        expected = f"{host}: connection refused" if where == "refused" else "api.ontraport.invalid:80: host name not found"
        assert expected in line
        for misleading in ("Stream 'discovery'", "Ontraport may be having trouble", "resumes"):
            assert misleading not in result.stderr
        assert "retry" not in result.stderr  # no "retry 1 of 8" lines that promise a long wait


def _client(url: str, **options) -> OntraportClient:
    return OntraportClient(api_url=url, authenticator=OntraportAuthenticator("sandbox", "sandbox"),
                           governor=RateGovernor(), max_backoff_seconds=0.01, **options)


def test_first_contact_gives_up_early_but_a_started_run_keeps_its_retry_budget(make_sandbox):
    unreachable = _client(f"http://127.0.0.1:{_closed_port()}/1", max_retries=8)
    with pytest.raises(UnreachableError):
        unreachable.get("/objects/meta")
    assert unreachable.stats["discovery"].requests == FIRST_CONTACT_RETRIES + 1

    sandbox = make_sandbox()
    client = _client(sandbox.url, max_retries=5)
    client.get("/Tags", {"range": 1}, label="tags")
    sandbox.stop()  # the API goes away after the run has started talking to it
    with pytest.raises(RetriesExhaustedError, match=r"Stream 'tags': GET /Tags still failing after 5 retries"):
        client.get("/Tags", label="tags")
    assert client.stats["tags"].retries == 5


@pytest.mark.parametrize("failing", ["discovery", "stream"])
def test_the_retries_exhausted_line_says_what_failed_and_what_to_do(make_sandbox, tmp_path, failing):
    path = "/objects/meta" if failing == "discovery" else "/Tags"
    sandbox = make_sandbox(sizes={0: 120})
    args = ["--config", write(tmp_path, "config.json", sandbox_config(sandbox, max_retries=1))]
    if failing == "discovery":
        sandbox.fault_plan.set([Fault("503", every=1, path=path)])
        result = tap(tmp_path, *args)
        line = assert_one_line_failure(result, "Reading the account's objects: GET /objects/meta")
        assert "resumes" not in line  # nothing was read, so there is nothing to resume
    else:
        # the catalog first: discovery's own reads of /Tags would spend minutes in retries
        args += ["--catalog", write(tmp_path, "catalog.json", catalog_for(sandbox, "contacts", "tags"))]
        sandbox.fault_plan.set([Fault("503", every=1, path=path)])
        result = tap(tmp_path, *args)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        [line] = error_lines(result.stderr)
        assert line.startswith("Stream 'tags': GET /Tags?")
        assert line.endswith("then re-run: the tap resumes from its last state.")  # contacts were saved
    assert "still failing after 1 retry (HTTP 503; body: " in line and "raise `max_retries`" in line
    assert "Stream 'discovery'" not in result.stderr


def test_a_stream_failing_mid_stream_is_one_error_line_with_the_traceback_at_debug(make_sandbox, tmp_path):
    sandbox = make_sandbox(sizes={0: 400})
    config = sandbox_config(sandbox, max_retries=1, max_parallel_requests=1)
    args = ["--config", write(tmp_path, "config.json", config),
            "--catalog", write(tmp_path, "catalog.json", catalog_for(sandbox, "contacts"))]
    for level in ("INFO", "DEBUG"):
        # The run's requests: /objects/meta, two pages of contacts, then every read of /Contacts fails.
        first = sandbox.counters.total + 1
        sandbox.fault_plan.set([Fault("503", at=frozenset(range(first + 3, first + 1000)), path="/Contacts")])
        result = tap(tmp_path, *args, env={**os.environ, "TAP_ONTRAPORT_LOGLEVEL": level})
        assert result.returncode == 1
        [line] = error_lines(result.stderr)
        assert line.startswith("Stream 'contacts': GET /Contacts?") and "still failing after 1 retry" in line
        assert 0 < len(SingerOutput.parse(result.stdout).records["contacts"]) < 400  # it failed mid-stream
        sdk_line = re.search(r"\| (\w+) +\| tap-ontraport\.contacts +\| An unhandled error occurred "
                             r"while syncing 'contacts'\n(Traceback)?", result.stderr)
        if level == "INFO":
            assert sdk_line is None and "Traceback" not in result.stderr, result.stderr
        else:
            assert sdk_line and sdk_line.groups() == ("DEBUG", "Traceback"), result.stderr[-3000:]


# --- logs: short by default, the SDK's metrics on request ---

def _run_small(sandbox, tmp_path, **settings) -> subprocess.CompletedProcess:
    """A run of three streams; `result.requests` is what the sandbox answered during it."""
    config = write(tmp_path, "config.json", sandbox_config(sandbox, **settings))
    catalog = write(tmp_path, "catalog.json", catalog_for(sandbox, "contacts", "tags", "pets"))
    before = sandbox.counters.total
    result = tap(tmp_path, "--config", config, "--catalog", catalog)
    assert result.returncode == 0, result.stderr[-2000:]
    result.requests = sandbox.counters.total - before
    return result


def test_a_small_run_logs_two_lines_per_stream_plus_the_summary(make_sandbox, tmp_path):
    sandbox = make_sandbox(sizes={0: 120})
    stderr = _run_small(sandbox, tmp_path).stderr
    for chatter in ("METRIC", "Skipping parse of env var", "Skipping deselected stream", "unknown field type"):
        assert chatter not in stderr
    streams = ("contacts", "tags", "pets")
    for stream in streams:
        assert len(re.findall(rf"\| tap-ontraport\.{stream} +\|", stderr)) <= 2, stderr
    summary = [line for line in stderr.splitlines() if re.search(r"\| (Summary|Total|Rate limit|Data note):", line)]
    new_fields = [line for line in stderr.splitlines() if "not described by its meta; loaded as" in line]
    other = [line for line in stderr.splitlines() if line not in summary and line not in new_fields]
    assert len(other) <= 1 + 2 * len(streams), other  # the version line, two per stream
    # a field meta doesn't list is loaded, announced once; f1019 (an unknown type, loaded as text) needs no word
    assert [line.split("| ")[-1].split(":")[0] for line in new_fields] == ["contacts.last_note"]
    notes = [line.split("Data note: ")[1].split(":")[0] for line in summary if "Data note:" in line]
    assert notes == []  # every field of these records is loaded: nothing to note

    with_metrics = _run_small(sandbox, tmp_path, log_metrics=True).stderr
    assert len(re.findall(r"METRIC: \{", with_metrics)) >= 2 * len(streams)


def test_the_summary_sorts_streams_then_discovery_and_adds_up(make_sandbox, tmp_path):
    sandbox = make_sandbox(sizes={0: 120})
    result = _run_small(sandbox, tmp_path)
    stderr = result.stderr
    lines = list(SUMMARY_PATTERN.finditer(stderr))
    assert [m["stream"] for m in lines] == ["contacts", "pets", "tags", "discovery"]
    assert "Summary: discovery: 0 records, 1 request, 0 retries, 0 x 429" in stderr
    assert re.search(r"Summary: tags: [\d,]+ records, 1 request, 0 retries", stderr)  # 30 tags: one page
    assert not re.search(r"\b1 (records|requests|retries)\b", stderr)
    total = re.search(r"Total: ([\d,]+) records in 3 streams, ([\d,]+) requests, (\d+) retries, (\d+) x 429, "
                      r"[\d.]+s waiting, [\d.]+s elapsed", stderr)
    assert total, stderr
    assert int(total[1].replace(",", "")) == sum(int(m["records"].replace(",", "")) for m in lines)
    assert int(total[2].replace(",", "")) == sum(int(m["requests"].replace(",", "")) for m in lines) \
        == result.requests
    assert re.search(r"Rate limit: [\d,]+ requests per [\d.]+s window( \(estimated\))? \(x-rate-limit-\* headers\)", stderr)


# --- start_date through Meltano, and the demo's own state ---

def test_meltano_hands_start_date_over_as_written(tmp_path):
    settings = {s["name"]: s for s in yaml.safe_load((ROOT / "meltano.yml").read_text())
                ["plugins"]["extractors"][0]["settings"]}
    assert settings["start_date"]["kind"] == "string"  # date_iso8601 would rewrite "last tuesday"
    assert settings["log_metrics"]["kind"] == "boolean"
    env = {**os.environ, "TAP_ONTRAPORT_APP_ID": "app-1234", "TAP_ONTRAPORT_API_KEY": "key-5678",
           "TAP_ONTRAPORT_API_URL": CLOSED, "TAP_ONTRAPORT_START_DATE": "last tuesday"}
    result = tap(tmp_path, "--config", "ENV", env=env)
    assert_one_line_failure(result, "`start_date` must be an ISO 8601 date", "got 'last tuesday'")


def _dev_script():
    spec = importlib.util.spec_from_file_location("dev_script", ROOT / "scripts" / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_demo_keeps_its_own_state_id_and_output():
    dev = _dev_script()
    command = [str(part) for part in dev.demo_run_command(Path("meltano"))]
    assert command[1:] == ["run", "--full-refresh", "--state-id-suffix", "demo", "tap-ontraport", "target-jsonl"]
    assert dev.DEMO_STATE_ID == "dev:tap-ontraport-to-target-jsonl:demo"
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    jsonl = next(p for p in project["plugins"]["loaders"] if p["name"] == "target-jsonl")
    assert ROOT / jsonl["config"]["destination_path"] != dev.DEMO_OUTPUT  # a user's runs write elsewhere
