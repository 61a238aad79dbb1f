"""The run's structured summary: one JSON record beside the readable lines, same facts."""

from __future__ import annotations

import json
import logging
from collections import Counter

from ontraport_sandbox import Sandbox
from tap_ontraport.client import DISCOVERY, RequestStats
from tap_ontraport.progress import RUN_SUMMARY_EVENT, SUMMARY_PATTERN, run_summary
from tap_ontraport.tap import TapOntraport
from tests.runner import run_in_process as run_tap


def test_the_summary_record_adds_streams_and_discovery_up():
    stats = {
        "tags": RequestStats(requests=3, retries=1, rate_limited=2, wait_seconds=1.25, faults=Counter({"HTTP 500": 1})),
        DISCOVERY: RequestStats(requests=4),
    }
    summary = run_summary({"tags": 120, "contacts": 0}, stats, elapsed=2.5, rate_limit={"limit": 180},
                          skipped={"offers": "skipped (HTTP 403)"})
    assert summary["event"] == RUN_SUMMARY_EVENT
    assert summary["streams"]["tags"] == {"records": 120, "requests": 3, "retries": 1, "rate_limited": 2,
                                          "wait_seconds": 1.25, "faults": {"HTTP 500": 1}}
    assert summary["streams"]["contacts"]["requests"] == 0
    assert summary["total"] == {"records": 120, "requests": 7, "retries": 1, "rate_limited": 2, "streams": 2,
                                "elapsed_seconds": 2.5}
    assert summary["rate_limit"] == {"limit": 180} and summary["skipped"] == {"offers": "skipped (HTTP 403)"}
    json.dumps(summary)  # JSON-ready as it is


def test_a_run_logs_one_summary_record_that_matches_the_readable_lines(caplog):
    sandbox = Sandbox(rate_limit=100_000, sizes={0: 120}).start()
    try:
        config = {"app_id": sandbox.app_id, "api_key": sandbox.api_key, "api_url": sandbox.url,
                  "progress_interval_seconds": 0}
        with caplog.at_level(logging.INFO, logger="tap-ontraport"):
            output = run_tap(TapOntraport, config)
    finally:
        sandbox.stop()
    messages = [r.getMessage() for r in caplog.records]
    records = [r for r in caplog.records if hasattr(r, RUN_SUMMARY_EVENT)]
    assert len(records) == 1
    summary = json.loads(records[0].getMessage().removeprefix("Summary: "))
    assert summary == getattr(records[0], RUN_SUMMARY_EVENT)
    readable = {m["stream"]: m for m in (SUMMARY_PATTERN.search(text) for text in messages) if m}
    assert set(summary["streams"]) == set(readable) - {DISCOVERY}
    for name, line in readable.items():
        facts = summary["discovery"] if name == DISCOVERY else summary["streams"][name]
        assert facts["requests"] == int(line["requests"].replace(",", "")), name
        if name != DISCOVERY:
            assert facts["records"] == len(output.records.get(name, [])) == int(line["records"].replace(",", ""))
    assert summary["total"]["records"] == sum(len(rows) for rows in output.records.values())
