"""The literal Ontraport responses turn into valid, typed records."""

import json
from decimal import Decimal

import jsonschema

from tap_ontraport.tap import TapOntraport, clear_meta_cache
from tests.samples_server import SamplesServer
from tests.singer_output import run_tap


def test_every_sample_becomes_valid_typed_records():
    clear_meta_cache()
    with SamplesServer() as server:
        config = {"app_id": "sample-app", "api_key": "sample-key", "api_url": server.url}
        output = run_tap(TapOntraport, config)
    schemas = output.schemas
    assert {"contacts", "tasks", "transactions", "o_temps", "deleted_orders", "fields"} <= set(schemas)
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
    assert [r["id"] for r in output.records["o_temps"]] == [8, 10]
    # the custom object's base fields come with it even though its meta lists only f1567
    assert "dlm" in schemas["o_temps"]["properties"]
    fields = {(r["object_id"], r["field"]): r for r in output.records["fields"]}
    assert fields[(0, "firstname")]["alias"] == "First Name"
    assert fields[(1, "owner")]["parent_object"] == 2
    assert fields[(0, "f1568")]["parent_object"] == 10000
