"""A full sync of the default sandbox: every object a stream, every record once, typed."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal

import jsonschema
import pytest

from tap_ontraport.objects import FIRST_CUSTOM_OBJECT_ID
from tap_ontraport.streams import OntraportStream
from tap_ontraport.tap import TapOntraport
from tests.tap.conftest import sandbox_config, sync


@pytest.fixture(scope="module")
def full_sync(default_sandbox):
    before = len(default_sandbox.counters.log)
    output = sync(default_sandbox)
    output.requests = list(default_sandbox.counters.log)[before:]  # what this one run asked
    return output


@pytest.fixture(scope="module")
def object_streams(default_sandbox) -> dict[str, int]:
    tap = TapOntraport(config=sandbox_config(default_sandbox))
    return {
        name: stream.object_type.object_id
        for name, stream in tap.streams.items()
        if isinstance(stream, OntraportStream)
    }


def test_every_sandbox_object_is_a_stream(default_sandbox, object_streams):
    assert sorted(object_streams.values()) == sorted(default_sandbox.account.object_ids())
    custom = [oid for oid in object_streams.values() if oid >= FIRST_CUSTOM_OBJECT_ID]
    assert len(custom) >= 2
    for name in ("contacts", "transactions", "purchases", "tags", "forms", "campaign_builder_items",
                 "custom_objects"):
        assert name in object_streams


def test_every_record_exactly_once(default_sandbox, full_sync, object_streams):
    for name, object_id in object_streams.items():
        key = default_sandbox.account.primary_key(object_id)
        emitted = Counter(record[key] for record in full_sync.records.get(name, []))
        duplicates = {k: n for k, n in emitted.items() if n > 1}
        assert not duplicates, f"{name}: emitted more than once: {duplicates}"
        assert set(emitted) == set(default_sandbox.account.ids(object_id)), name


def test_every_record_validates_against_its_schema(full_sync):
    checker = jsonschema.FormatChecker()
    for name, records in full_sync.records.items():
        validator = jsonschema.Draft202012Validator(full_sync.schemas[name], format_checker=checker)
        for record in records:
            plain = json.loads(json.dumps(record, default=float))
            errors = list(validator.iter_errors(plain))
            assert not errors, f"{name} {record}: {errors[0].message}"


def test_records_are_typed_for_a_warehouse(full_sync):
    schema = full_sync.schemas["contacts"]["properties"]
    contact_types = {name: spec.get("type") for name, spec in schema.items()}
    assert full_sync.schemas["contacts"]["properties"]["id"]["type"] == "integer"
    assert schema["dlm"]["format"] == "date-time"
    contacts = full_sync.records["contacts"]
    assert all(isinstance(c["id"], int) for c in contacts)
    assert all(c["dlm"] is None or c["dlm"].endswith("Z") for c in contacts)
    # every custom field type of the account arrives in its warehouse type
    by_type = {"numeric": (Decimal, int), "price": (Decimal, int), "check": (bool,),
               "parent": (int,), "list": (list,), "subscription": (list,)}
    fields = {r["field"]: r for r in full_sync.records["fields"] if r["object_id"] == 0}
    seen = set()
    for name, field in fields.items():
        expected = by_type.get(field["type"])
        if expected is None or name not in contact_types:
            continue
        values = [c[name] for c in contacts if c.get(name) is not None]
        assert values, f"no value for {name}"
        assert all(isinstance(v, expected) and not (expected == (int,) and isinstance(v, bool)) for v in values), name
        seen.add(field["type"])
    assert seen == set(by_type)
    drops = [r["field"] for r in fields.values() if r["type"] == "drop" and r["options"]]
    assert drops
    labelled = [c for c in contacts if c.get(drops[0]) not in (None, "")]
    assert labelled and all(c[drops[0] + "_label"] is not None for c in labelled)


def test_fields_stream_names_every_column(full_sync, object_streams):
    fields = full_sync.records["fields"]
    for name in object_streams:
        described = {r["field"] for r in fields if r["stream"] == name}
        labelled = {r["field"] for r in fields if r["stream"] == name and r["type"] in ("drop", "list")}
        columns = {
            column for column in full_sync.schemas[name]["properties"]
            if not any(column in (f + "_label", f + "_labels") for f in labelled)
        } - {"id", "form_id", "_sdc_deleted_at"}  # the tap's own column for removed records
        assert described - {"id", "form_id"} == columns, name
    custom = [r for r in fields if r["field"].startswith("f") and r["field"][1:].isdigit()]
    assert custom and all(r["alias"] for r in custom)


def test_one_meta_call_and_full_pages(default_sandbox, full_sync):
    log = full_sync.requests
    meta_calls = [entry for entry in log if entry[2].endswith("/objects/meta")]
    assert len(meta_calls) == 1  # discovery and every stream of the run read meta once
    # discovery reads one record of each object, once per run: its fields, its dlm
    samples = [(e.path, e.params.get("objectID")) for e in log if e.params.get("range") == "1"]
    assert len(samples) == len(set(samples)) == len(default_sandbox.account.object_ids())
    collection = [entry for entry in log if entry[3].get("range") and entry[3]["range"] != "1"]
    assert collection and all(entry[3]["range"] == "50" for entry in collection)
    # the total is asked once per stream (its first page), never per page
    counted = [entry for entry in collection if entry[3].get("count")]
    assert len(counted) == len({(e.path, e.params.get("objectID")) for e in collection})
    assert not [entry for entry in log if "getInfo" in entry.path]


def test_every_field_of_every_record_arrives(default_sandbox, full_sync, object_streams):
    """Listed by meta or not, a related-data path or a plain name: nothing is left behind."""
    tap = full_sync.tap
    for name, object_id in object_streams.items():
        related = {spec.related_path: spec.name for spec in tap.streams[name].field_specs if spec.related_path}
        key = default_sandbox.account.primary_key(object_id)
        loaded = {record[key]: record for record in full_sync.records.get(name, [])}
        for record_id in default_sandbox.account.ids(object_id)[:60]:
            raw = default_sandbox.account.get(object_id, record_id)
            for field in raw:
                column = related.get(field, field)
                assert column in loaded[record_id], (name, field)
                assert column in full_sync.schemas[name]["properties"], (name, field)
    assert "last_note" in full_sync.schemas["contacts"]["properties"]  # meta omits it


def test_custom_object_columns_all_hold_data(full_sync):
    """Real custom object rows carry their base fields; no always-null contact-like column."""
    for name in ("pets", "properties"):
        records = full_sync.records[name]
        empty = {column for column in full_sync.schemas[name]["properties"]
                 if all(record.get(column) in (None, []) for record in records)}
        assert not empty, (name, empty)
    pets = full_sync.schemas["pets"]["properties"]
    assert {"f2007", "f2005__email", "system_source", "bindex"} <= set(pets)  # f2007 <- f2005//lastname
    fields = {(r["stream"], r["field"]): r for r in full_sync.records["fields"]}
    assert fields[("pets", "f2007")]["alias"] == "Owner last name"
    assert fields[("pets", "f2007")]["related_path"] == "f2005//lastname"
    assert fields[("pets", "f2005__email")]["related_path"] == "f2005//email"
