"""The full and the incremental sync on every sandbox variant: every record arrives.

Each variant switches one behaviour public sources disagree about (ontraport_sandbox/
variants.py). Whichever way a real account behaves, a first run with a `start_date` reads
every record, a later run reads every change (discovering in the run, or given discovery's
catalog, as Meltano runs it), and an object the API refuses is skipped on
its own, with one warning, while every other stream is read and its state saved.
"""

from __future__ import annotations

import logging

import pytest

from ontraport_sandbox import Sandbox
from ontraport_sandbox.variants import BROKEN_OBJECT, BROKEN_OBJECT_ID, VARIANTS
from tap_ontraport.objects import OBJECTS_BY_ID
from tap_ontraport.streams import OntraportStream
from tap_ontraport.tap import TapOntraport
from tests.runner import SingerOutput, select_only
from tests.tap.conftest import sandbox_config, sync

#: Before every generated record (2019 on), so a first run must read everything.
START_DATE = "2018-06-01T00:00:00Z"
CASES = [pytest.param((name,), id=name) for name in VARIANTS] + [pytest.param(tuple(VARIANTS), id="all")]


def readable_objects(sandbox: Sandbox) -> list[int]:
    return [oid for oid in sandbox.account.object_ids() if oid != BROKEN_OBJECT_ID or BROKEN_OBJECT not in sandbox.variants]


def keys_by_object(output: SingerOutput) -> dict[int, set[int]]:
    streams = {name: s for name, s in output.tap.streams.items() if isinstance(s, OntraportStream)}
    return {
        stream.object_type.object_id: {r[stream.key] for r in output.records.get(name, []) if "_sdc_deleted_at" not in r}
        for name, stream in streams.items()
    }


def change_every_object(sandbox: Sandbox) -> dict[int, set[int]]:
    """Update two records and add one in every object; the keys a next run must emit.

    Records of append-only objects (logs, tag subscriptions) are only ever added or
    removed, so they only get a new record.
    """
    changed = {}
    for object_id in readable_objects(sandbox):
        if object_id == 99:  # custom object definitions are literal records
            continue
        ids = sandbox.account.ids(object_id)
        updated = set() if is_append_only(object_id) else {ids[0], ids[-1]}
        for record_id in updated:
            sandbox.account.update(object_id, record_id)
        changed[object_id] = updated | {sandbox.account.insert(object_id)}
    return changed


def is_append_only(object_id: int) -> bool:
    known = OBJECTS_BY_ID.get(object_id)
    return known is not None and known.append_only


def discovered_catalog(sandbox: Sandbox) -> dict:
    """Discovery's catalog, every stream selected, as Meltano passes it to each run."""
    catalog = TapOntraport(config=sandbox_config(sandbox)).catalog_dict
    return select_only(catalog, [entry["tap_stream_id"] for entry in catalog["streams"]])


@pytest.mark.parametrize("with_catalog", [False, True], ids=["discovering", "catalog"])
@pytest.mark.parametrize("variants", CASES)
def test_full_then_incremental_sync_reads_every_record(make_sandbox, variants, with_catalog, caplog):
    sandbox = make_sandbox(variants=variants, scale=0.2)
    catalog = discovered_catalog(sandbox) if with_catalog else None
    with caplog.at_level(logging.WARNING, logger="tap-ontraport"):
        first = sync(sandbox, start_date=START_DATE, catalog=catalog)
    emitted = keys_by_object(first)
    for object_id in readable_objects(sandbox):
        assert emitted[object_id] == set(sandbox.account.ids(object_id)), sandbox.account.meta_name(object_id)
    skips = [r.getMessage() for r in caplog.records if "Skipping stream" in r.getMessage()]
    if BROKEN_OBJECT in variants:
        assert len(skips) == 1 and f"(objectID {BROKEN_OBJECT_ID})" in skips[0] and "Invalid object type" in skips[0]
        assert set(first.tap.skipped_streams) == {"retired_items"}
    else:
        assert not skips and not first.tap.skipped_streams

    changed = change_every_object(sandbox)
    second = sync(sandbox, state=first.state, start_date=START_DATE, catalog=catalog)
    emitted = keys_by_object(second)
    for object_id, keys in changed.items():
        assert keys <= emitted[object_id], sandbox.account.meta_name(object_id)
    bookmarks = second.state["bookmarks"]
    for name, stream in second.tap.streams.items():
        if isinstance(stream, OntraportStream) and name not in second.tap.skipped_streams:
            assert "run" not in bookmarks.get(name, {}), name  # every stream finished its run


@pytest.mark.parametrize("variants", [("transactions-without-dlm",), ("transactions-without-dlm", "unknown-field-ignored")])
def test_transactions_without_dlm_are_read_in_full_not_filtered(make_sandbox, variants):
    sandbox = make_sandbox(variants=variants, sizes={46: 120})
    output = sync(sandbox, start_date=START_DATE)
    stream = output.tap.streams["transactions"]
    assert stream.replication_method == "FULL_TABLE"
    assert {r["id"] for r in output.records["transactions"]} == set(sandbox.account.ids(46))
    assert output.activate_versions["transactions"]


def test_tasks_with_dlm_are_incremental(make_sandbox):
    sandbox = make_sandbox(variants=("tasks-with-dlm",), sizes={1: 120})
    first = sync(sandbox)
    assert first.tap.streams["tasks"].replication_key == "dlm"
    assert first.state["bookmarks"]["tasks"]["replication_key_value"]
    assert "dlm" in first.schemas["tasks"]["properties"]
