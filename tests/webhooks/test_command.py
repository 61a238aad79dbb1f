"""The real commands: `serve` killed mid-traffic loses no acknowledged delivery; the subscription commands."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
import requests

from ontraport_sandbox import Sandbox
from tests.webhooks.conftest import FORM_BODY, TOKEN
from tests.webhooks.senders import FORM, Senders


def test_sigkill_during_deliveries_loses_no_acknowledged_one(receiver_command):
    running = receiver_command()
    senders = Senders(running.hook()).start()
    senders.wait_for(300, seconds=30)
    running.process.send_signal(signal.SIGKILL)  # no shutdown, no flush: only what was committed survives
    running.process.wait(10)
    senders.stop()
    acknowledged = senders.acknowledged
    stored = {str(row["event_timestamp"]) for row in running.stored()}
    assert len(acknowledged) >= 300
    missing = [marker for marker in acknowledged if marker not in stored]
    assert missing == [], f"{len(missing)} of {len(acknowledged)} acknowledged deliveries were lost"


def test_serve_refuses_to_start_without_a_token(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "ONTRAPORT_WEBHOOKS_TOKENS"}
    result = subprocess.run([sys.executable, "-m", "ontraport_webhooks", "serve", "--store", str(tmp_path / "e.sqlite")],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 1 and result.stderr.count("\n") == 1 and "ONTRAPORT_WEBHOOKS_TOKENS" in result.stderr


def test_serve_on_sigterm_commits_and_exits(receiver_command):
    running = receiver_command()
    assert requests.post(running.hook(), data=FORM_BODY, headers=FORM, timeout=10).status_code == 200
    running.process.terminate()
    assert running.process.wait(30) == 0
    assert len(running.stored()) == 1


@pytest.fixture
def api_sandbox():
    with Sandbox(rate_limit=0, app_id="app-0123456789", api_key="key-secret-0123456789") as sandbox:
        yield sandbox


def webhooks_cli(sandbox: Sandbox, *args: str, tmp_path) -> subprocess.CompletedProcess:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"app_id": sandbox.app_id, "api_key": sandbox.api_key, "api_url": sandbox.url}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_ONTRAPORT_")}
    return subprocess.run([sys.executable, "-m", "ontraport_webhooks", *args, "--config", str(config)],
                          capture_output=True, text=True, env=env, timeout=120)


def test_subscribe_list_unsubscribe_never_print_a_secret(api_sandbox, tmp_path):
    url = f"https://hooks.example.com/hooks/{TOKEN}"
    made = webhooks_cli(api_sandbox, "subscribe", "--event", "sub_tag(4)", "--url", url, "--format", "notify",
                        tmp_path=tmp_path)
    assert made.returncode == 0, made.stderr
    [subscription] = api_sandbox.webhooks.subscriptions()
    assert (subscription.event, subscription.url, subscription.format) == ("sub_tag(4)", url, "notify")
    assert f"id {subscription.id}" in made.stdout
    listed = webhooks_cli(api_sandbox, "list", tmp_path=tmp_path)
    assert listed.returncode == 0 and "sub_tag(4)" in listed.stdout and "https://hooks.example.com/hooks/test…" in listed.stdout
    gone = webhooks_cli(api_sandbox, "unsubscribe", str(subscription.id), tmp_path=tmp_path)
    assert gone.returncode == 0 and "Deleted" in gone.stdout and api_sandbox.webhooks.subscriptions() == []
    for result in (made, listed, gone):
        printed = result.stdout + result.stderr
        assert TOKEN not in printed and api_sandbox.api_key not in printed and api_sandbox.app_id not in printed


def test_subscription_errors_are_one_line(api_sandbox, tmp_path):
    wrong = webhooks_cli(api_sandbox, "subscribe", "--event", "tag_added(4)", "--url", "https://x/hooks/y",
                         tmp_path=tmp_path)
    assert wrong.returncode == 1 and wrong.stderr.count("\n") == 1 and "not one of Ontraport's events" in wrong.stderr
    missing = webhooks_cli(api_sandbox, "unsubscribe", "999999", tmp_path=tmp_path)
    assert missing.returncode == 1 and "HTTP 404" in missing.stderr and missing.stderr.count("\n") == 1
    api_sandbox._credentials = (b"other", b"other")
    refused = webhooks_cli(api_sandbox, "list", tmp_path=tmp_path)
    assert refused.returncode == 1 and "HTTP 401" in refused.stderr and api_sandbox.api_key not in refused.stderr
