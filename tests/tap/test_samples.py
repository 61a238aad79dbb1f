"""The literal Ontraport responses turn into valid, typed records."""

import json
from decimal import Decimal

import jsonschema
import pytest

from tap_ontraport.tap import TapOntraport
from tests.runner import run_in_process
from tests.samples_server import SAMPLE_SETS, SAMPLES, SamplesServer, sample_rows

EMPTY = (None, "", "0", [], {})


def test_every_sample_becomes_valid_typed_records():
    with SamplesServer() as server:
        config = {"app_id": "sample-app", "api_key": "sample-key", "api_url": server.url}
        output = run_in_process(TapOntraport, config)
    schemas = output.schemas
    assert {"contacts", "tasks", "transactions", "temps", "deleted_orders", "fields"} <= set(schemas)
    for stream, records in output.records.items():
        for record in records:
            jsonschema.validate(json.loads(json.dumps(record, default=float)), schemas[stream],
                                format_checker=jsonschema.FormatChecker())
    transaction = output.records["transactions"][0]
    assert transaction["id"] == 1 and transaction["contact_id"] == 2
    assert transaction["subtotal"] == Decimal("1.00") and transaction["hidden"] is False
    assert transaction["date"] == "2018-10-03T21:53:39Z"
    assert transaction["lp_id"] is None and transaction["zip"] == ""
    # meta lists only `date` for transactions; the documented fields fill the schema
    assert {"subtotal", "total", "contact_id", "dlm"} <= set(schemas["transactions"]["properties"])
    assert [r["id"] for r in output.records["contacts"]] == [8, 10]
    assert output.records["contacts"][0]["owner"] == 1
    assert schemas["contacts"]["properties"]["f1568"]["type"] == ["integer", "null"]  # parent
    assert [r["id"] for r in output.records["temps"]] == [8, 10]
    # the custom object's base fields come with it even though its meta lists only f1567
    assert "dlm" in schemas["temps"]["properties"]
    fields = {(r["object_id"], r["field"]): r for r in output.records["fields"]}
    assert fields[(0, "firstname")]["alias"] == "First Name"
    assert fields[(1, "owner")]["parent_object"] == 2
    assert fields[(0, "f1568")]["parent_object"] == 10000


def test_the_sample_sets_serve_every_sample_that_holds_records():
    holding_records = {path.name for path in SAMPLES.glob("*.json")
                       if path.name.endswith((".list.json", ".single.json"))}
    assert holding_records == {name for samples in SAMPLE_SETS for _, name in samples.values()}


@pytest.mark.parametrize("sample_set", range(len(SAMPLE_SETS)))
def test_every_field_of_every_sample_arrives(sample_set):
    with SamplesServer(sample_set=sample_set) as server:
        config = {"app_id": "sample-app", "api_key": "sample-key", "api_url": server.url}
        output = run_in_process(TapOntraport, config)
    for stream, name in SAMPLE_SETS[sample_set].values():
        loaded = {record["id"]: record for record in output.records[stream]}
        for raw in sample_rows(name):
            record = loaded[int(raw["id"])]
            for field, value in raw.items():
                assert field in record, (name, field)
                assert field in output.schemas[stream]["properties"], (name, field)
                assert record[field] is not None or value in EMPTY, (name, field, value)
