"""Webhook events end to end: sandbox data changes -> deliveries -> `ontraport-webhooks serve` ->
its store -> `meltano run tap-ontraport target-postgres` -> the `webhook_events` table.

The table must hold exactly the events made, each once, also when a delivery is repeated and
after a second, incremental run. The receiver on the PostgreSQL store, killed with SIGKILL while
deliveries arrive, keeps every delivery it answered 200; refused deliveries (wrong token,
oversized, garbage, a slow client) store nothing while serving goes on.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from ontraport_sandbox import Sandbox
from tests.e2e.conftest import ROOT, Meltano, RunResult, clean_env, dev, run_logged
from tests.e2e.postgres import Postgres
from tests.webhooks.conftest import FORM_BODY, TOKEN, start_command
from tests.webhooks.senders import FORM, Senders

pytestmark = pytest.mark.e2e

SCHEMA = "e2e_webhooks"


def webhooks_cli(config: Path, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "ontraport_webhooks", *args, "--config", str(config)],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def sandbox():
    server = Sandbox(seed=1, rate_limit=100_000, sizes={0: 200}).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def receiver(tmp_path_factory):
    store = tmp_path_factory.mktemp("webhooks") / "events.sqlite"
    process, url = start_command(store)
    yield url, store
    process.terminate()
    process.wait(30)


def meltano_run(meltano: Meltano, e2e_dir: Path, sandbox: Sandbox, store: Path, postgres: Postgres):
    # tags and fields too: the dbt staging of tags, which tag_history joins, needs both
    env = meltano.env(e2e_dir / "webhooks-state", TAP_ONTRAPORT_API_URL=sandbox.url,
                      TAP_ONTRAPORT_WEBHOOK_STORE=str(store),
                      TAP_ONTRAPORT__SELECT='["webhook_events.*", "tags.*", "fields.*"]',
                      **postgres.target_env(SCHEMA))
    return meltano("run", "tap-ontraport", "target-postgres", env=env).check()


@dataclass
class Pipeline:
    contact: int  # tagged, then untagged, then bought
    created: int  # a new contact, tagged after the first run
    submitted: int  # the contact a form submission made
    tag: int
    form: int
    product: int
    purchase: int
    transaction: int
    first: RunResult
    second: RunResult


@pytest.fixture(scope="module")
def pipeline(sandbox, receiver, meltano, postgres, e2e_dir, tmp_path_factory) -> Pipeline:
    url, store = receiver
    postgres.drop_schema(SCHEMA)
    config = tmp_path_factory.mktemp("webhooks-cli") / "config.json"
    config.write_text(json.dumps({"app_id": sandbox.app_id, "api_key": sandbox.api_key, "api_url": sandbox.url}))
    account, hub = sandbox.account, sandbox.webhooks
    contact, tag, form, product = account.ids(0)[3], account.ids(14)[1], account.ids(122)[0], account.ids(16)[0]
    hook = f"{url}/hooks/{TOKEN}"
    for event, fmt in (("object_create(0)", None), (f"sub_tag({tag})", "json"), (f"unsub_tag({tag})", "notify"),
                       (f"object_submits_form({form})", None), (f"purchase_product({product})", None),
                       (f"transaction_created_with_product({product})", None)):
        webhooks_cli(config, "subscribe", "--event", event, "--url", hook, *(["--format", fmt] if fmt else []))
    listed = webhooks_cli(config, "list")
    assert listed.count("/hooks/test…") == 6 and TOKEN not in listed
    created = hub.create_contact({"firstname": "Ada", "lastname": "E2E", "email": "ada.e2e@example.com"})
    hub.add_tag(contact, tag)
    time.sleep(1.1)  # the removal a second later: tag_history orders by Ontraport's timestamp (seconds)
    hub.remove_tag(contact, tag)
    submitted = hub.submit_form(form, {"firstname": "Grace", "email": "grace.e2e@example.com"})
    purchase = hub.purchase(contact, product)
    transaction = hub.add_transaction(contact, product)
    assert hub.wait_idle(60)
    assert [d.status for d in hub.deliveries] == [200] * 7
    repeated = next(d for d in hub.deliveries if d.event == f"purchase_product({product})")
    again = requests.post(hook, data=repeated.body, headers={"Content-Type": repeated.content_type}, timeout=30)
    assert again.status_code == 200 and again.json()["duplicate"] is True  # Ontraport sending it twice

    first = meltano_run(meltano, e2e_dir, sandbox, store, postgres)
    hub.add_tag(created, tag)  # after the first run: only this one is new
    assert hub.wait_idle(60)
    second = meltano_run(meltano, e2e_dir, sandbox, store, postgres)
    return Pipeline(contact, created, submitted, tag, form, product, purchase, transaction, first, second)


def as_object(value):  # noqa: ANN001, ANN201
    return json.loads(value) if isinstance(value, str) else value


def test_events_made_arrive_in_the_warehouse_each_once(pipeline: Pipeline, postgres: Postgres):
    p = pipeline
    assert p.first.records.get("webhook_events") == 7 and p.second.records.get("webhook_events") == 1
    rows = postgres.query(f"SELECT seq, event_type, webhook_id, object_type_id, record_id, tag_id, form_id, "
                          f"product_id, body, raw_body FROM {SCHEMA}.webhook_events ORDER BY seq")
    made = sorted([("object_create", p.created), ("sub_tag", p.contact), ("unsub_tag", p.contact),
                   ("object_create", p.submitted), ("object_submits_form", p.submitted),
                   ("purchase_product", p.contact), ("transaction_created_with_product", p.contact),
                   ("sub_tag", p.created)])
    assert sorted((row["event_type"], row["record_id"]) for row in rows) == made
    assert len({row["seq"] for row in rows}) == 8
    by_type = {}
    for row in rows:  # the first of each type
        by_type.setdefault(row["event_type"], row)
    body = as_object(by_type["sub_tag"]["body"])
    assert by_type["sub_tag"]["tag_id"] == p.tag and body["data"]["id"] == str(p.contact) and len(body["data"]) > 50
    assert by_type["unsub_tag"]["raw_body"].count("data[") == 1  # notify: the id only
    assert by_type["object_submits_form"]["form_id"] == p.form
    assert by_type["purchase_product"]["product_id"] == p.product
    assert as_object(by_type["purchase_product"]["body"])["event"]["purchase_id"] == str(p.purchase)
    assert f"event[transaction_id]={p.transaction}" in by_type["transaction_created_with_product"]["raw_body"]


def test_tag_history_lists_tags_added_and_removed(pipeline: Pipeline, postgres: Postgres):
    dbt = dev.ensure_dbt()
    env = clean_env(DBT_POSTGRES_SCHEMA="e2e_webhooks_models", **postgres.target_env(SCHEMA))
    log = ROOT / "output" / "logs" / "e2e-webhooks-dbt.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    options = ["--project-dir", "transform", "--profiles-dir", "transform", "--vars", f"{{ontraport_schemas: [{SCHEMA}]}}"]
    # the two models alone (the tags staging's own tests need models this schema has no data for), then
    # tag_history's tests
    run_logged([dbt, "run", *options, "--select", "stg_ontraport__tags", "tag_history"], env, log, timeout=600).check()
    run_logged([dbt, "test", *options, "--select", "tag_history"], env, log, timeout=600).check()
    rows = postgres.query("SELECT account, object_type_id, record_id, tag_id, tag_name, action, happened_at "
                          "FROM e2e_webhooks_models.tag_history ORDER BY happened_at, seq")
    assert [(r["record_id"], r["tag_id"], r["action"]) for r in rows] == [
        (pipeline.contact, pipeline.tag, "added"), (pipeline.contact, pipeline.tag, "removed"),
        (pipeline.created, pipeline.tag, "added")]
    assert all(r["account"] == SCHEMA and r["object_type_id"] == 0 and r["tag_name"] for r in rows)


def test_sigkill_on_the_postgres_store_keeps_every_acknowledged_delivery(postgres):
    process, url = start_command(postgres.url)
    senders = Senders(f"{url}/hooks/{TOKEN}").start()
    try:
        senders.wait_for(300, seconds=60)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
        senders.stop()
    acknowledged = senders.acknowledged
    stored = {row["event_timestamp"] for row in postgres.query(
        "SELECT event_timestamp::text FROM ontraport_webhook_events")}
    assert len(acknowledged) >= 300
    assert [marker for marker in acknowledged if marker not in stored] == []


def test_refused_deliveries_store_nothing_and_serving_goes_on(receiver):
    url, store = receiver
    before = requests.get(f"{url}/health", timeout=10).json()
    assert requests.post(f"{url}/hooks/not-the-token-0123456789", data=FORM_BODY, headers=FORM, timeout=10).status_code == 404
    assert requests.post(f"{url}/hooks/{TOKEN}", data="x=" + "y" * 2_000_000, headers=FORM, timeout=30).status_code == 413
    assert requests.post(f"{url}/hooks/{TOKEN}", data=b"\x00\xff garbage", headers=FORM, timeout=10).status_code == 400
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as slow:
        slow.sendall(f"POST /hooks/{TOKEN} HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\nwebhook_id=1".encode())
        assert slow.recv(100).startswith(b"HTTP/1.1 408")  # after --body-timeout (10 s by default)
    after = requests.get(f"{url}/health", timeout=10).json()
    assert after["stored"] == before["stored"] and after["duplicates"] == before["duplicates"]
    for counter in ("unknown_token", "too_large", "malformed", "timed_out"):
        assert after[counter] == before[counter] + 1, counter
    fresh = FORM_BODY.replace("timestamp=1514940140", "timestamp=99")
    assert requests.post(f"{url}/hooks/{TOKEN}", data=fresh, headers=FORM, timeout=10).status_code == 200
