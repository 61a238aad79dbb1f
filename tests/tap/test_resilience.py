"""One object never stops the run, and every field a record carries is loaded.

Run against the literal samples (tests/samples_server.py), with the refusals real accounts
answer: 400 `{"code":1,"data":"Invalid object type"}` for an object meta still lists, and
400 `Invalid query` (plain text) for a condition or sort on a field the object lacks.
"""

from __future__ import annotations

import logging

from tap_ontraport.tap import TapOntraport
from tests.runner import SingerOutput, run_in_process
from tests.samples_server import SamplesServer, sample_rows
from tests.tap.test_faults import run_cli

INVALID_OBJECT = (400, '{"code":1,"data":"Invalid object type"}')
BROKEN = {"10001": "oBroken"}
DLM_IN_META = {"46": {"dlm": {"alias": "Date Modified", "type": "timestamp"}}}


def config_for(server: SamplesServer, **settings) -> dict:
    return {"app_id": "sample-app", "api_key": "sample-key", "api_url": server.url, **settings}


def ids(output: SingerOutput, stream: str) -> set[int]:
    return {record["id"] for record in output.records.get(stream, [])}


def every_sample_stream_is_read(output: SingerOutput) -> None:
    for stream, sample in (("contacts", "contacts.list.json"), ("tasks", "tasks.list.json"),
                           ("transactions", "transactions.list.json"), ("temps", "custom_objects.list.json")):
        assert ids(output, stream) == {int(row["id"]) for row in sample_rows(sample)}, stream
        assert stream in output.state["bookmarks"], stream


def test_an_object_refused_as_invalid_is_skipped_and_every_other_stream_is_read(tmp_path):
    with SamplesServer(extra_objects=BROKEN, statuses={"10001": INVALID_OBJECT}) as server:
        result = run_cli(tmp_path, config_for(server))
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "Skipping stream" in line]
    assert len(warnings) == 1, warnings
    assert "'brokens' (objectID 10001)" in warnings[0] and "Invalid object type" in warnings[0]
    assert "HTTP 400" in warnings[0] and "Traceback" not in result.stderr
    assert any("Summary: brokens: skipped (HTTP 400" in line for line in result.stderr.splitlines())
    every_sample_stream_is_read(SingerOutput.parse(result.stdout))


def test_fail_on_stream_errors_makes_the_same_run_red_after_reading_the_rest(tmp_path):
    with SamplesServer(extra_objects=BROKEN, statuses={"10001": INVALID_OBJECT}) as server:
        result = run_cli(tmp_path, config_for(server, fail_on_stream_errors=True))
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and "brokens" in errors[0] and "fail_on_stream_errors" in errors[0]
    assert "Traceback" not in result.stderr
    every_sample_stream_is_read(SingerOutput.parse(result.stdout))


def test_a_refused_dlm_query_reads_the_object_in_full_and_warns_once(caplog):
    with SamplesServer(meta_fields=DLM_IN_META, refused_fields=frozenset({"dlm"})) as server:
        with caplog.at_level(logging.WARNING, logger="tap-ontraport"):
            output = run_in_process(TapOntraport, config_for(server, start_date="2024-01-01T00:00:00Z"))
        refused = [(path, params) for path, params in server.requests if "dlm" in params.get("condition", "")]
    assert refused, "the tap did not ask for dlm: the test proves nothing"
    warnings = [r.getMessage() for r in caplog.records if "refused a query on dlm" in r.getMessage()]
    assert len(warnings) == 1 and "transactions" in warnings[0] and "Invalid query" in warnings[0]
    every_sample_stream_is_read(output)
    assert output.activate_versions["transactions"]  # a complete full-table pass
    assert "read in full" in output.tap.skipped_streams["transactions"]


def test_fields_meta_does_not_list_arrive_with_a_schema_first_also_with_a_catalog(caplog):
    with SamplesServer() as server:
        # A catalog from an earlier discovery, before the field existed: the SDK would
        # apply its schema as is and drop every property it doesn't list.
        catalog = TapOntraport(config=config_for(server)).catalog_dict
        entry = next(s for s in catalog["streams"] if s["tap_stream_id"] == "temps")
        del entry["schema"]["properties"]["firstname"]
        entry["metadata"] = [m for m in entry["metadata"] if m["breadcrumb"] != ["properties", "firstname"]]
        # ... and before meta listed contacts.lastname
        del next(s for s in catalog["streams"] if s["tap_stream_id"] == "contacts")["schema"]["properties"]["lastname"]
        with caplog.at_level(logging.INFO, logger="tap-ontraport"):
            output = run_in_process(TapOntraport, config_for(server), catalog=catalog)
    schema_has_it = False
    for message in output.messages:
        if message["type"] == "SCHEMA" and message["stream"] == "temps":
            schema_has_it = "firstname" in message["schema"]["properties"]
        if message["type"] == "RECORD" and message["stream"] == "temps":
            assert schema_has_it and message["record"]["firstname"], message
    assert ids(output, "temps") == {8, 10}
    notices = [r.getMessage() for r in caplog.records if "firstname" in r.getMessage()]
    assert len(notices) == 1 and "temps.firstname: field sent by the API" in notices[0], notices
    catch_up = [r.getMessage() for r in caplog.records if r.getMessage().startswith("contacts: the catalog lacks")]
    assert len(catch_up) == 1 and "(lastname)" in catch_up[0]
    assert "lastname" in output.schemas["contacts"]["properties"]
    assert all(record["lastname"] for record in output.records["contacts"])
    fields = {(r["stream"], r["field"]): r for r in output.records["fields"]}
    assert fields[("temps", "firstname")]["in_meta"] is False


def test_a_catalog_asking_for_a_dlm_the_records_lack_reads_the_object_in_full(caplog):
    with SamplesServer(ignored_fields=frozenset({"dlm"})) as server:
        catalog = TapOntraport(config=config_for(server)).catalog_dict
        entry = next(s for s in catalog["streams"] if s["tap_stream_id"] == "transactions")
        entry.update(replication_key="dlm", replication_method="INCREMENTAL")
        with caplog.at_level(logging.WARNING, logger="tap-ontraport"):
            output = run_in_process(TapOntraport, config_for(server, start_date="2024-01-01T00:00:00Z"), catalog=catalog)
    assert ids(output, "transactions") == {1}  # a dlm condition would have matched nothing
    assert sum("asks for incremental replication on `dlm`" in r.getMessage() for r in caplog.records) == 1


def test_a_new_field_reaches_the_schema_of_flattened_and_aliased_streams():
    """The SDK keeps a schema per stream map; the new column must reach the one it sends."""
    with SamplesServer() as server:
        catalog = TapOntraport(config=config_for(server)).catalog_dict
        entry = next(s for s in catalog["streams"] if s["tap_stream_id"] == "temps")
        del entry["schema"]["properties"]["firstname"]
        settings = {"flattening_enabled": True, "flattening_max_depth": 1,
                    "stream_maps": {"temps": {"__alias__": "pets_alias"}}}
        output = run_in_process(TapOntraport, config_for(server, **settings), catalog=catalog)
    assert "firstname" in output.schemas["pets_alias"]["properties"]
    assert all(record["firstname"] for record in output.records["pets_alias"])
