"""Every Ontraport field type: its JSON Schema and how raw API values are coerced."""

from decimal import Decimal

import jsonschema
import pytest

from tap_ontraport.fields import (
    INVALID,
    CoercionReport,
    FieldSpec,
    RecordCoercer,
    build_schema,
    field_from_meta,
    parse_options,
    schema_for_type,
    to_boolean,
    to_datetime,
    to_integer,
    to_integer_list,
    to_number,
    to_string_list,
    to_text,
)


@pytest.mark.parametrize(
    ("ontraport_type", "json_type", "fmt"),
    [
        ("text", ["string", "null"], None),
        ("longtext", ["string", "null"], None),
        ("email", ["string", "null"], None),
        ("phone", ["string", "null"], None),
        ("sms", ["string", "null"], None),
        ("url", ["string", "null"], None),
        ("state", ["string", "null"], None),
        ("country", ["string", "null"], None),
        ("mergefield", ["string", "null"], None),
        ("numeric", ["number", "null"], None),
        ("price", ["number", "null"], None),
        ("check", ["boolean", "null"], None),
        ("timestamp", ["string", "null"], "date-time"),
        ("fulldate", ["string", "null"], "date-time"),
        ("parent", ["integer", "null"], None),
        ("drop", ["string", "null"], None),
        ("list", ["array", "null"], None),
        ("subscription", ["array", "null"], None),
        ("rollup", ["string", "null"], None),  # unknown types are text
    ],
)
def test_schema_depends_only_on_the_field_type(ontraport_type, json_type, fmt):
    schema = schema_for_type(ontraport_type)
    assert schema["type"] == json_type
    assert schema.get("format") == fmt


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1538603619", "2018-10-03T21:53:39Z"),
        (1538603619, "2018-10-03T21:53:39Z"),
        (" 1538603619 ", "2018-10-03T21:53:39Z"),
        ("0", None),
        (0, None),
        ("", None),
        (None, None),
        ("-86400", "1969-12-31T00:00:00Z"),  # birthdays before 1970 are real
        ("2024-01-31T10:00:00+02:00", "2024-01-31T08:00:00Z"),
        ("yesterday", INVALID),
        ("99999999999999", INVALID),
        (True, INVALID),
    ],
)
def test_datetime(raw, expected):
    assert to_datetime(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1.00", Decimal("1.00")), ("12.5", Decimal("12.5")), (3, 3), (2.5, Decimal("2.5")),
     ("1,250.75", Decimal("1250.75")), ("", None), (None, None), ("n/a", INVALID),
     ("NaN", INVALID), (False, INVALID)],
)
def test_number(raw, expected):
    assert to_number(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("8", 8), (8, 8), ("8.0", 8), ("", None), (None, None), ("8.5", INVALID), ("abc", INVALID)],
)
def test_integer(raw, expected):
    assert to_integer(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("0", False), ("true", True), ("false", False), ("TRUE", True), (1, True),
     (0, False), (True, True), ("", None), (None, None), ("maybe", INVALID), (2, INVALID)],
)
def test_boolean(raw, expected):
    assert to_boolean(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("*/*1*/*2*/*", ["1", "2"]), ("*/**/*", []), ("", []), (None, []), ("7", ["7"]),
     ([1, 2], ["1", "2"]), ({"a": 1}, INVALID)],
)
def test_string_list(raw, expected):
    assert to_string_list(raw) == expected


def test_integer_list():
    assert to_integer_list("*/*3*/*14*/*") == [3, 14]
    assert to_integer_list("*/*x*/*") is INVALID


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("héllo <b>\nworld</b>", "héllo <b>\nworld</b>"), (5, "5"), (1.5, "1.5"), ([], None),
     ({}, None), ({"k": [1]}, '{"k": [1]}'), (None, None), ("", "")],
)
def test_text(raw, expected):
    assert to_text(raw) == expected


def test_meta_options_in_every_shape():
    assert parse_options({"0": "Live", "1": "Paused"}) == {"0": "Live", "1": "Paused"}
    assert parse_options([{"id": 3, "label": "Red"}]) == {"3": "Red"}
    assert parse_options(["a", "b"]) == {"0": "a", "1": "b"}
    assert parse_options([]) == {}
    assert parse_options(None) == {}


def test_field_from_meta_reads_parent_object_as_string_or_number():
    assert field_from_meta("owner", {"type": "parent", "parent_object": 2}).parent_object == 2
    assert field_from_meta("f1", {"type": "parent", "parent_object": "10000"}).parent_object == 10000
    assert field_from_meta("f2", {"type": "text", "editable": None}).ontraport_type == "text"


FIELDS = [
    FieldSpec("dlm", "timestamp"),
    FieldSpec("total", "price"),
    FieldSpec("hidden", "check"),
    FieldSpec("pause", "drop", options={"0": "Live", "1": "Paused"}),
    FieldSpec("f1", "list", options={"1": "Red", "2": "Blue"}),
    FieldSpec("contact_cat", "subscription"),
    FieldSpec("owner", "parent"),
    FieldSpec("f9", "rollup"),
]


def test_record_is_typed_labelled_and_valid():
    report = CoercionReport()
    coercer = RecordCoercer("things", "id", FIELDS, report)
    record = coercer.coerce({
        "id": "8", "dlm": "1538154601", "total": "1.00", "hidden": "true", "pause": "1",
        "f1": "*/*2*/*1*/*", "contact_cat": "*/*4*/*", "owner": 2, "f9": 17,
    })
    assert record == {
        "id": 8, "dlm": "2018-09-28T17:10:01Z", "total": Decimal("1.00"), "hidden": True,
        "pause": "1", "pause_label": "Paused", "f1": ["2", "1"], "f1_labels": ["Blue", "Red"],
        "contact_cat": [4], "owner": 2, "f9": "17",
    }
    schema = build_schema("id", FIELDS)
    jsonschema.validate({**record, "total": 1.0}, schema)
    # f9 is loaded (as text): no data note at the default log level, a debug line only
    assert report.lines() == []
    assert report.loaded_lines() == ["things.f9: unknown field type 'rollup', loaded as text"]


def test_bad_values_become_null_and_are_counted_never_dropped():
    report = CoercionReport()
    coercer = RecordCoercer("things", "id", FIELDS, report)
    record = coercer.coerce({"id": "9", "total": "n/a", "pause": "7", "surprise": "x", "dlm": "soon"})
    assert record["id"] == 9 and record["total"] is None and record["dlm"] is None
    assert record["pause"] == "7" and record["pause_label"] is None
    assert record["surprise"] == "x"  # a field meta doesn't describe is loaded, as text
    assert coercer.take_learned() == [FieldSpec("surprise", "text", in_meta=False)]
    lines = "\n".join(report.lines())
    assert "things.total: 1 value(s) could not be read as price" in lines
    assert "things.dlm: 1 value(s) could not be read as timestamp" in lines
    assert "things.pause: 1 option id(s) not among the field's options" in lines


def test_label_column_never_overwrites_a_real_field():
    fields = [FieldSpec("status", "drop", options={"1": "On"}), FieldSpec("status_label", "text")]
    schema = build_schema("id", fields)
    assert set(schema["properties"]) == {"id", "status", "status_label", "status__label"}
    record = RecordCoercer("s", "id", fields, CoercionReport()).coerce(
        {"id": "1", "status": "1", "status_label": "typed by a user"})
    assert record == {"id": 1, "status": "1", "status__label": "On", "status_label": "typed by a user"}


def test_huge_unicode_html_text_passes_through_untouched():
    text = ("<p>Grüße, 東京 🚀\nline two\r\n\t\"quoted\" & <b>bold</b></p>" * 20_000)[:1_000_000]
    record = RecordCoercer("s", "id", [FieldSpec("notes", "longtext")], CoercionReport()).coerce(
        {"id": "1", "notes": text})
    assert record["notes"] == text
