"""The tap's `webhook_events` stream: from the store, by sequence, typed, resumable."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ontraport_sandbox import Sandbox
from ontraport_webhooks.parse import columns, parse_body
from ontraport_webhooks.store import Event, open_store
from tap_ontraport.tap import TapOntraport
from tests.runner import run_in_process as run_tap
from tests.runner import select_only
from tests.webhooks.conftest import FORM_BODY


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(rate_limit=0, sizes={0: 20}) as running:
        yield running


def config(sandbox: Sandbox, store: str) -> dict:
    return {"app_id": sandbox.app_id, "api_key": sandbox.api_key, "api_url": sandbox.url,
            "progress_interval_seconds": 0, "webhook_store": store}


def add_events(store_location: str, timestamps: range) -> None:
    store = open_store(store_location)
    events = []
    for stamp in timestamps:
        raw = FORM_BODY.replace("timestamp=1514940140", f"timestamp={stamp}")
        body = parse_body(raw.encode(), "")
        events.append(Event(datetime.now(timezone.utc), columns(body), "application/x-www-form-urlencoded", body, raw))
    store.insert_batch(events)
    store.close()


def sync(sandbox: Sandbox, store: str, state: dict | None = None):
    settings = config(sandbox, store)
    catalog = select_only(TapOntraport(config=settings).catalog_dict, ["webhook_events"])
    return run_tap(TapOntraport, settings, state=state, catalog=catalog)


def test_no_setting_no_stream(sandbox):
    settings = config(sandbox, "")
    del settings["webhook_store"]
    names = {entry["tap_stream_id"] for entry in TapOntraport(config=settings).catalog_dict["streams"]}
    assert "webhook_events" not in names and "contacts" in names


def test_events_are_read_typed_and_in_order_then_only_new_ones(sandbox, tmp_path):
    location = str(tmp_path / "events.sqlite")
    add_events(location, range(1514940140, 1514940140 + 2500))  # more than a page
    first = sync(sandbox, location)
    records = first.records["webhook_events"]
    assert [r["seq"] for r in records] == sorted(r["seq"] for r in records) and len(records) == 2500
    one = records[0]
    assert (one["event_type"], one["tag_id"], one["record_id"], one["webhook_id"], one["object_type_id"]) == (
        "sub_tag", 4, 8, 3, 0)
    assert one["event_timestamp"] == "2018-01-03T00:42:20+00:00"
    assert one["body"]["data"]["firstname"] == "Mary" and one["raw_body"].startswith("webhook_id=3&")
    schema = first.schemas["webhook_events"]
    assert schema["properties"]["body"]["type"] == "object" and schema["properties"]["seq"]["type"] == "integer"
    assert set(first.records) == {"webhook_events"}
    bookmark = first.state["bookmarks"]["webhook_events"]["replication_key_value"]
    assert bookmark == records[-1]["seq"]

    assert sync(sandbox, location, state=first.state).records["webhook_events"] == []
    add_events(location, range(1, 4))
    again = sync(sandbox, location, state=first.state).records["webhook_events"]
    assert [r["event_timestamp"] for r in again] == [
        "1970-01-01T00:00:01+00:00", "1970-01-01T00:00:02+00:00", "1970-01-01T00:00:03+00:00"]
    assert all(r["seq"] > bookmark for r in again)


def test_a_missing_store_is_one_clear_error(sandbox, tmp_path):
    with pytest.raises(Exception, match="webhook_store.*does not exist"):
        sync(sandbox, str(tmp_path / "nowhere.sqlite"))
