"""What real accounts send: fields meta doesn't list, related-data paths, real meta types,
custom object names, and replication decided by what the records carry."""

from __future__ import annotations

import pytest

from tap_ontraport.discovery import account_objects
from tap_ontraport.errors import BadRequestError, ObjectUnavailableError
from tap_ontraport.fields import (
    CoercionReport,
    FieldSpec,
    RecordCoercer,
    build_schema,
    column_for_key,
    field_from_meta,
    is_known_type,
)
from tap_ontraport.objects import CUSTOM_OBJECT_BASE_FIELDS, custom_stream_name, describe_object
from tap_ontraport.trouble import Refusal

# --- no field is lost ---


def test_unlisted_fields_are_loaded_with_their_documented_type_once_announced():
    types = {"dlm": "timestamp"}
    coercer = RecordCoercer("tasks", "id", [FieldSpec("subject", "text")], CoercionReport(),
                            type_of=lambda name: types.get(name, "text"))
    first = coercer.coerce({"id": "1", "subject": "Call", "dlm": "1538154601", "misc": 7})
    assert first == {"id": 1, "subject": "Call", "dlm": "2018-09-28T17:10:01Z", "misc": "7"}
    assert [(s.name, s.ontraport_type) for s in coercer.take_learned()] == [("dlm", "timestamp"), ("misc", "text")]
    coercer.coerce({"id": "2", "dlm": "0", "misc": "x"})
    assert coercer.take_learned() == []  # learned once, never announced again


def test_related_data_keys_load_under_their_related_data_field():
    meta = {"alias": "Item Name", "type": "related_data", "extra_data": "f2251//f2232//f2225"}
    item_name = field_from_meta("f2301", meta)
    assert item_name.related_path == "f2251//f2232//f2225"
    coercer = RecordCoercer("dispenses", "id", [item_name], CoercionReport())
    record = coercer.coerce({"id": "3", "f2251//f2232//f2225": "Aspirin", "f2251//f2207//firstname": "Ann"})
    assert record == {"id": 3, "f2301": "Aspirin", "f2251__f2207__firstname": "Ann"}
    learned = coercer.take_learned()
    assert [(s.name, s.related_path) for s in learned] == [("f2251__f2207__firstname", "f2251//f2207//firstname")]
    assert set(build_schema("id", [item_name, *learned])["properties"]) == set(record)


def test_a_learned_column_never_overwrites_a_label_companion():
    fields = [FieldSpec("status", "drop", options={"1": "On"})]
    coercer = RecordCoercer("s", "id", fields, CoercionReport())
    record = coercer.coerce({"id": "1", "status": "1", "status_label": "sent by the API"})
    assert record == {"id": 1, "status": "1", "status_label": "On", "status_label_": "sent by the API"}


@pytest.mark.parametrize(("key", "column"), [
    ("f2251//f2207//firstname", "f2251__f2207__firstname"),
    ("f1//weird key!", "f1__weird_key"),
    ("//", "field"),
])
def test_related_paths_become_warehouse_safe_columns(key, column):
    assert column_for_key(key) == column


# --- real meta ---


@pytest.mark.parametrize("ontraport_type", ["related_data", "unique", "image", "longtext", "mergefield"])
def test_real_meta_types_are_named(ontraport_type):
    assert is_known_type(ontraport_type)


@pytest.mark.parametrize(("raw", "parent"), [(2, 2), ("10002", 10002), ("0", 0), (None, None), ("", None)])
def test_parent_object_as_int_string_or_zero(raw, parent):
    assert field_from_meta("f2251", {"type": "parent", "parent_object": raw}).parent_object == parent


def test_meta_listing_the_key_as_numeric_keeps_it_an_integer():
    fields = [field_from_meta("id", {"type": "numeric"}), FieldSpec("f1", "text")]
    assert build_schema("id", fields)["properties"]["id"] == {"type": "integer"}
    record = RecordCoercer("s", "id", fields, CoercionReport()).coerce({"id": "12", "f1": "a"})
    assert record["id"] == 12


# --- stream names ---


@pytest.mark.parametrize(("meta_name", "stream"), [
    ("oDispenses", "dispenses"), ("oPets", "pets"), ("oProperties", "properties"), ("oTemp", "temps"),
    ("Pet", "pets"), ("Property", "properties"), ("Pet Owner", "pet_owners"), ("oStatus", "statuses"),
])
def test_custom_objects_are_named_as_a_user_would(meta_name, stream):
    assert custom_stream_name(meta_name) == stream
    assert describe_object(10005, meta_name).stream_name == stream


def test_colliding_names_are_stable_and_distinct():
    meta = {"10003": {"name": "oContacts", "fields": {}}, "0": {"name": "Contact", "fields": {}},
            "10004": {"name": "oContact", "fields": {}}}
    names = [found.object_type.stream_name for found in account_objects(meta, lambda _: None)]
    assert names == ["contacts", "contacts_10003", "contacts_10004"]


def test_custom_object_base_fields_are_the_ones_real_rows_carry():
    real = {"system_source", "source_location", "ip_addy_display", "import_id", "bulk_mail", "bulk_sms", "bindex"}
    assert real <= set(CUSTOM_OBJECT_BASE_FIELDS)
    assert not {"ip_addy", "contact_cat", "updateSequence", "updateCampaign"} & set(CUSTOM_OBJECT_BASE_FIELDS)


# --- replication follows the account ---


def _decide(meta_fields: dict, sample: dict | None, object_id: str = "46", name: str = "Invoice"):
    asked = []

    def read_sample(object_type):
        asked.append(object_type.object_id)
        return sample

    [found] = account_objects({object_id: {"name": name, "fields": meta_fields}}, read_sample)
    return found, asked


def test_meta_listing_dlm_is_enough():
    found, asked = _decide({"dlm": {"type": "timestamp"}}, None)
    assert found.incremental and asked == [46]  # sampled for its fields all the same


def test_a_sampled_record_adds_its_fields_to_the_schema():
    found, _ = _decide({"date": {"type": "timestamp"}}, {"id": "1", "date": "1", "misc": "x", "a//b": "y"})
    types = {spec.name: (spec.ontraport_type, spec.related_path) for spec in found.fields}
    assert types["misc"] == ("text", None) and types["a__b"] == ("text", "a//b")


def test_a_run_given_a_catalog_samples_nothing_and_leaves_an_unlisted_dlm_open():
    meta = {"46": {"name": "Invoice", "fields": {"date": {"type": "timestamp"}}},
            "0": {"name": "Contact", "fields": {"dlm": {"type": "timestamp"}}}}
    found = account_objects(meta, None)
    # contacts: meta lists dlm; transactions: the stream's own read will tell
    assert [(f.object_type.object_id, f.incremental, f.dlm_known) for f in found] == [(0, True, True), (46, False, False)]


@pytest.mark.parametrize(("sample", "incremental"), [
    ({"id": "1", "date": "1", "dlm": "2"}, True),
    ({"id": "1", "date": "1"}, False),
    (None, False),  # no record (or unreadable): a full read is always right
])
def test_documented_dlm_is_checked_against_one_record(sample, incremental):
    found, asked = _decide({"date": {"type": "timestamp"}}, sample)
    assert asked == [46] and found.incremental is incremental
    assert "dlm" in {spec.name for spec in found.fields}  # the column stays, typed


@pytest.mark.parametrize(("object_id", "name"), [("1", "Task"), ("146", "DeletedOrder"), ("10005", "oDispenses")])
def test_a_dlm_nobody_documented_is_found_in_the_sample(object_id, name):
    found, asked = _decide({"subject": {"type": "text"}}, {"id": "1", "subject": "x", "dlm": "5"}, object_id, name)
    assert asked == [int(object_id)] and found.incremental
    assert {spec.name: spec.ontraport_type for spec in found.fields}["dlm"] == "timestamp"


# --- a stream's trouble ---


@pytest.mark.parametrize(("body", "object_refused"), [
    ('{"code":1,"data":"Invalid object type"}', True),
    ("Invalid query", False),
])
def test_refusals_tell_the_object_from_the_query(body, object_refused):
    refusal = Refusal.from_error(BadRequestError("refused", 400, body, "GET /objects?objectID=10000"))
    assert refusal.object_refused is object_refused
    assert "GET /objects?objectID=10000 answered HTTP 400" in refusal.answer and body in refusal.answer


def test_forbidden_objects_keep_their_reason():
    refusal = Refusal.from_error(ObjectUnavailableError("GET /Transactions answered HTTP 403 (no)", 403))
    assert refusal.object_refused and "may not read" in refusal.skip_warning("transactions", 46)
