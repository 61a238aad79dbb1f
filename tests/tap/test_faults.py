"""The API's bad days, the user's mistakes, and secrets that must never show.

Faults are injected by the sandbox over real sockets; the tap must ride out transient ones
without losing a record, stop on permanent ones with one clear sentence, and never print
the App ID or API key, whatever happens.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from ontraport_sandbox import Fault
from tap_ontraport.errors import SettingsError
from tap_ontraport.progress import SUMMARY_PATTERN
from tap_ontraport.tap import TapOntraport
from tests import runner
from tests.runner import SingerOutput
from tests.samples_server import SamplesServer
from tests.tap.conftest import FAST_LIMIT, catalog_for, sandbox_config, sync

CONTACT = 0


def run_cli(tmp_path, config: dict, *extra: str, catalog: dict | None = None, timeout: float = 300):
    (tmp_path / "config.json").write_text(json.dumps(config))
    args = ["--config", str(tmp_path / "config.json"), *extra]
    if catalog is not None:
        (tmp_path / "catalog.json").write_text(json.dumps(catalog))
        args += ["--catalog", str(tmp_path / "catalog.json")]
    return runner.run_cli(*args, timeout=timeout)


def contact_ids(output: SingerOutput) -> set[int]:
    return {record["id"] for record in output.records.get("contacts", [])}


def faults_after_discovery(sandbox, *faults: Fault) -> None:
    """Arm `faults` now, their `at` numbers counted from the run's first page: discovery (meta,
    and one record of each object whose meta lacks dlm) has already spent some request numbers,
    and the run itself reads meta first (a run given a catalog samples nothing)."""
    spent = sandbox.counters.total + 1
    sandbox.fault_plan.set([replace(f, at=frozenset(n + spent for n in f.at)) for f in faults])


# --- transient faults: retried, nothing lost ---

@pytest.mark.parametrize("kind", ["500", "502", "503", "504", "429", "reset", "hang", "truncated", "html", "busy"])
def test_each_transient_fault_is_retried_and_nothing_is_lost(make_sandbox, quick_retries, kind):
    fired = 3
    sandbox = make_sandbox(sizes={CONTACT: 400})
    catalog = catalog_for(sandbox, "contacts")
    faults_after_discovery(sandbox, Fault(kind, at=frozenset({1, 3, 4}), hang_seconds=30, reset_seconds=1))
    output = sync(sandbox, catalog=catalog, request_timeout=1)
    assert contact_ids(output) == set(sandbox.account.ids(CONTACT))
    stats = output.tap.client.stats["contacts"]
    if kind != "hang":  # a held request is counted when it is finally answered, after we left
        assert sandbox.counters.faults[kind] == fired
    if kind == "429":
        assert stats.rate_limited == fired and stats.retries == 0
    else:
        assert stats.retries == fired


def test_a_mix_of_random_faults_and_a_429_burst(make_sandbox, tmp_path):
    faults = [
        Fault("429", at=frozenset(range(19, 29)), reset_seconds=1),  # ten 429s in a row
        Fault("500", probability=0.02),
        Fault("502", probability=0.01),
        Fault("reset", probability=0.01),
        Fault("truncated", probability=0.01),
    ]
    sandbox = make_sandbox(sizes={CONTACT: 3_000}, seed=3)
    catalog = catalog_for(sandbox, "contacts", "tags", "pets")
    faults_after_discovery(sandbox, *faults)
    result = run_cli(tmp_path, sandbox_config(sandbox), catalog=catalog)
    assert result.returncode == 0, result.stderr[-2000:]
    output = SingerOutput.parse(result.stdout)
    assert contact_ids(output) == set(sandbox.account.ids(CONTACT))
    assert {r["id"] for r in output.records["tags"]} == set(sandbox.account.ids(14))
    assert {r["id"] for r in output.records["pets"]} == set(sandbox.account.ids(10000))
    injected = sum(sandbox.counters.faults.values())
    summary = [(m["stream"], m["retries"], m["x429"]) for m in SUMMARY_PATTERN.finditer(result.stderr)]
    retries = sum(int(r) for _, r, _ in summary)
    limited = sum(int(n) for _, _, n in summary)
    assert limited == sandbox.counters.faults["429"] == 10
    assert retries + limited == injected
    # each kind of wait is logged once, not once per 429
    assert result.stderr.count("Ontraport rate limit reached") == 1


def test_retry_budget_runs_out_with_a_message_that_names_the_request(make_sandbox, tmp_path):
    sandbox = make_sandbox()
    catalog = catalog_for(sandbox, "tags")  # discovery first: its retries would take minutes
    sandbox.fault_plan.set([Fault("503", every=1, path="/Tags")])
    result = run_cli(tmp_path, sandbox_config(sandbox, max_retries=2), catalog=catalog)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    line = next(line for line in result.stderr.splitlines() if "still failing" in line)
    assert "Stream 'tags'" in line and "GET /Tags?" in line and "HTTP 503" in line and "after 2 retries" in line
    assert "Service" in line or "503" in line  # a short excerpt of the body


def test_a_hung_request_never_hangs_the_run(make_sandbox, quick_retries):
    sandbox = make_sandbox(sizes={CONTACT: 120})
    catalog = catalog_for(sandbox, "contacts")
    faults_after_discovery(sandbox, Fault("hang", at=frozenset({1}), hang_seconds=600))
    started = time.monotonic()
    output = sync(sandbox, catalog=catalog, request_timeout=2)
    assert time.monotonic() - started < 30
    assert contact_ids(output) == set(sandbox.account.ids(CONTACT))


# --- permanent faults: fail fast and clearly ---

def test_bad_credentials_stop_at_the_first_request(make_sandbox, tmp_path):
    sandbox = make_sandbox()
    config = sandbox_config(sandbox, api_key="not-the-key")
    result = run_cli(tmp_path, config)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "Ontraport rejected the App ID / API key (HTTP 401)" in result.stderr
    assert sandbox.counters.total == 1
    discover = run_cli(tmp_path, config, "--discover")
    assert discover.returncode != 0 and "Ontraport rejected" in discover.stderr and not discover.stdout.strip()
    assert "Traceback" not in discover.stderr


def test_a_forbidden_object_is_skipped_with_one_warning(make_sandbox, tmp_path):
    sandbox = make_sandbox(forbidden=[46])
    result = run_cli(tmp_path, sandbox_config(sandbox), catalog=catalog_for(sandbox, "transactions", "contacts"))
    assert result.returncode == 0
    warnings = [line for line in result.stderr.splitlines() if "Skipping stream 'transactions'" in line]
    assert len(warnings) == 1 and "HTTP 403" in warnings[0] and "objectID 46" in warnings[0]
    output = SingerOutput.parse(result.stdout)
    assert contact_ids(output) == set(sandbox.account.ids(CONTACT))
    assert not output.records.get("transactions")


def test_an_object_the_api_does_not_serve_is_skipped(tmp_path):
    with SamplesServer(extra_objects={"52": "Order"}) as server:
        config = {"app_id": "sample-app", "api_key": "sample-key", "api_url": server.url}
        result = run_cli(tmp_path, config)
    assert result.returncode == 0
    assert "Skipping stream 'orders' (objectID 52)" in result.stderr and "HTTP 404" in result.stderr
    assert SingerOutput.parse(result.stdout).records["contacts"]


def test_a_refused_request_skips_its_stream_and_names_the_request(tmp_path):
    with SamplesServer(extra_objects={"65": "Offer"}, statuses={"/1/Offers": (400, "Invalid condition")}) as server:
        config = {"app_id": "sample-app", "api_key": "sample-key", "api_url": server.url}
        result = run_cli(tmp_path, config)
    assert result.returncode == 0  # one object's trouble never stops the others
    assert "Traceback" not in result.stderr
    warnings = [line for line in result.stderr.splitlines() if "Skipping stream 'offers'" in line]
    assert len(warnings) == 1 and "GET /Offers?" in warnings[0] and "HTTP 400" in warnings[0]
    assert "Invalid condition" in warnings[0]
    assert SingerOutput.parse(result.stdout).records["contacts"]


# --- bad settings: one clear line each, before any request ---

@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"app_id": None}, "`app_id` is missing"),
        ({"api_key": ""}, "`api_key` is empty"),
        ({"start_date": "last tuesday"}, "`start_date` must be an ISO 8601 date"),
        ({"api_url": "ftp://example.com/1"}, "`api_url` must be an http(s) URL"),
        ({"api_url": "api.ontraport.com"}, "`api_url` must be an http(s) URL"),
        ({"max_parallel_requests": 0}, "`max_parallel_requests` must be between 1 and 16"),
        ({"rate_limit_share": 1.5}, "`rate_limit_share` must be between 0.01 and 1"),
        ({"lookback_seconds": -5}, "`lookback_seconds` must be between 0"),
        ({"request_timeout": "fast"}, "`request_timeout` must be a number"),
        ({"max_retries": 1000}, "`max_retries` must be between 0 and 50"),
    ],
)
def test_bad_settings_get_one_clear_line_and_no_request(default_sandbox, change, message):
    # In-process: the message is what the exception hook prints, a line per problem (the
    # command line's printing of it is checked by the test below).
    sandbox = default_sandbox
    config = sandbox_config(sandbox)
    for name, value in change.items():
        if value is None:
            config.pop(name)
        else:
            config[name] = value
    before = sandbox.counters.total
    with pytest.raises(SettingsError) as raised:
        TapOntraport(config=config)
    [line] = str(raised.value).splitlines()  # one problem, one line
    assert message in line
    assert sandbox.counters.total == before  # no request


def test_several_bad_settings_are_all_reported(make_sandbox, tmp_path):
    sandbox = make_sandbox()
    config = sandbox_config(sandbox, start_date="nope", max_retries=-1, api_url="nowhere")
    result = run_cli(tmp_path, config)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "| ERROR" in line]
    assert len(errors) == 3, errors
    for fragment, error in zip(("`api_url`", "`start_date`", "`max_retries`"), errors, strict=True):
        assert fragment in error
    assert sandbox.counters.total == 0


# --- odd data never stops the run ---

def test_odd_values_are_nulled_counted_and_reported(make_sandbox, tmp_path):
    sandbox = make_sandbox(odd_values=True)
    result = run_cli(tmp_path, sandbox_config(sandbox), catalog=catalog_for(sandbox, "contacts"))
    assert result.returncode == 0
    assert contact_ids(SingerOutput.parse(result.stdout)) == set(sandbox.account.ids(CONTACT))
    notes = [line for line in result.stderr.splitlines() if "Data note: contacts." in line]
    assert any("could not be read as numeric" in line for line in notes)
    assert any("could not be read as timestamp" in line for line in notes)
    # a field meta doesn't describe is loaded (one notice when first seen), not a data note
    assert not any("not described by its meta" in line for line in notes)
    assert sum("contacts.last_note: field sent by the API but not described by its meta" in line
               for line in result.stderr.splitlines()) == 1


# --- secrets never reach any output ---

APP_ID, API_KEY = "APPID-7f3a91c2e4", "KEY-5d8e2b6f0c9a1"


def test_secrets_never_appear_in_any_output(tmp_path):
    sandbox_process = subprocess.Popen(
        [sys.executable, "-m", "ontraport_sandbox", "--port", "0", "--verbose", "--app-id", APP_ID,
         "--api-key", API_KEY, "--rate-limit", str(FAST_LIMIT), "--fault", "500:at=3|9", "--fault", "reset:at=5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert sandbox_process.stdout is not None
        banner = sandbox_process.stdout.readline()
        url = re.search(r"(http://\S+/1)", banner).group(1)
        good = {"app_id": APP_ID, "api_key": API_KEY, "api_url": url}
        outputs = [
            run_cli(tmp_path, good),  # a full run, with faults retried
            run_cli(tmp_path, good, "--discover"),
            run_cli(tmp_path, good, "--about"),
            run_cli(tmp_path, good, "--about", "--format", "json"),
            run_cli(tmp_path, {**good, "api_key": API_KEY + "x"}),  # rejected key
            run_cli(tmp_path, {**good, "api_url": url[: -len("/1")] + "/v2"}),  # 404 on meta
            run_cli(tmp_path, {**good, "start_date": "bad"}),
            run_cli(tmp_path, {**good, "api_url": "http://127.0.0.1:9/1", "max_retries": 0}),  # refused
        ]
        assert outputs[0].returncode == 0 and '"type":"RECORD"' in outputs[0].stdout.replace(" ", "")
        assert outputs[4].returncode != 0 and outputs[6].returncode != 0 and outputs[7].returncode != 0
        assert "check `api_url`" in outputs[5].stderr and outputs[5].returncode != 0
    finally:
        sandbox_process.terminate()
        sandbox_log = sandbox_process.communicate(timeout=30)[1]
    assert "GET /1/Contacts" in sandbox_log  # the request log did run
    texts = [o.stdout for o in outputs] + [o.stderr for o in outputs] + [sandbox_log]
    for text in texts:
        assert APP_ID not in text and API_KEY not in text


def test_fractional_settings_from_a_config_file_are_accepted(make_sandbox, tmp_path):
    # JSON config files are read with Decimal numbers: 0.5 must still be a number to us
    sandbox = make_sandbox(sizes={CONTACT: 60})
    config = sandbox_config(sandbox, rate_limit_share=0.5, request_timeout=2.5, progress_interval_seconds=0.5)
    result = run_cli(tmp_path, config, catalog=catalog_for(sandbox, "contacts"))
    assert result.returncode == 0, result.stderr[-1000:]
    assert "our cap 50000" in result.stderr  # half of the sandbox's 100,000 per window


def test_settings_from_environment_variables(make_sandbox, tmp_path):
    sandbox = make_sandbox(sizes={CONTACT: 60})
    env = {
        **os.environ,
        "TAP_ONTRAPORT_APP_ID": sandbox.app_id,
        "TAP_ONTRAPORT_API_KEY": sandbox.api_key,
        "TAP_ONTRAPORT_API_URL": sandbox.url,
        "TAP_ONTRAPORT_RATE_LIMIT_SHARE": "0.25",
        "TAP_ONTRAPORT_MAX_PARALLEL_REQUESTS": "2",
        "TAP_ONTRAPORT_DETECT_DELETIONS": "true",
    }
    (tmp_path / "catalog.json").write_text(json.dumps(catalog_for(sandbox, "contacts")))
    result = runner.run_cli("--config", "ENV", "--catalog", str(tmp_path / "catalog.json"), env=env)
    assert result.returncode == 0, result.stderr[-1000:]
    assert "our cap 25000" in result.stderr
    assert "config from env variable" not in result.stderr  # the SDK's line per variable: DEBUG only
    assert contact_ids(SingerOutput.parse(result.stdout)) == set(sandbox.account.ids(CONTACT))
    bad = runner.run_cli("--config", "ENV", "--discover", env={**env, "TAP_ONTRAPORT_MAX_RETRIES": "many"}, timeout=60)
    assert bad.returncode != 0 and "TAP_ONTRAPORT_MAX_RETRIES is not a whole number" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_long_streams_log_progress_and_a_summary(make_sandbox, tmp_path):
    sandbox = make_sandbox(sizes={CONTACT: 2_000}, latency=0.05)
    config = sandbox_config(sandbox, progress_interval_seconds=0.3, max_parallel_requests=1)
    result = run_cli(tmp_path, config, catalog=catalog_for(sandbox, "contacts"))
    assert result.returncode == 0
    progress = re.findall(r"contacts: ([\d,]+) records of 2,000 \(\d+%\), ([\d,]+) requests \([\d.]+/s\), "
                          r"about \d+:\d\d:\d\d left", result.stderr)
    assert len(progress) >= 2
    assert [int(n.replace(",", "")) for n, _ in progress] == sorted(int(n.replace(",", "")) for n, _ in progress)
    assert "Summary: contacts: 2,000 records, 40 requests, 0 retries, 0 x 429" in result.stderr


def test_connection_test_is_quiet_and_succeeds(make_sandbox, tmp_path):
    # `tap-ontraport --test` (what `meltano config test` runs) reads one record per stream
    sandbox = make_sandbox()
    result = run_cli(tmp_path, sandbox_config(sandbox), "--test")
    assert result.returncode == 0
    assert "ERROR" not in result.stderr
    output = SingerOutput.parse(result.stdout)
    assert all(len(records) == 1 for records in output.records.values())
    assert len(output.records) == len(sandbox.account.object_ids()) + 1  # and `fields`
