"""Behaviour variants: each switches one unconfirmed API behaviour; the default stays as it was."""

from __future__ import annotations

import json

import pytest

from ontraport_sandbox import Sandbox, cli
from ontraport_sandbox.catalog import ACCOUNT_OBJECTS
from ontraport_sandbox.variants import (
    BROKEN_OBJECT_ID,
    BROKEN_OBJECT_NAME,
    VARIANTS,
    account_objects,
    validate,
)

from .conftest import Client, cond

REFUSED_BODY = {"code": 1, "data": "Invalid object type"}
DLM_AFTER = [cond("dlm", ">", 0)]


@pytest.fixture(scope="module")
def variant_client(request):
    """One sandbox per variant (a module's tests share it), rate limit off."""
    sandboxes: dict[str, Sandbox] = {}

    def client(*names: str) -> Client:
        key = ",".join(names)
        if key not in sandboxes:
            sandboxes[key] = Sandbox(seed=1, rate_limit=0, variants=names).start()
        return Client(sandboxes[key])

    yield client
    for sandbox in sandboxes.values():
        sandbox.stop()


def _meta(client: Client) -> dict:
    return client.data("/objects/meta")


# --- the switch ---------------------------------------------------------------------------


def test_variants_are_named_on_the_sandbox_in_table_order():
    assert Sandbox(rate_limit=0).variants == ()
    sandbox = Sandbox(rate_limit=0, variants=["real-meta-types", "tasks-with-dlm", "tasks-with-dlm"])
    assert sandbox.variants == ("tasks-with-dlm", "real-meta-types")
    assert validate("broken-object") == ("broken-object",)  # one name given bare


def test_an_unknown_variant_is_refused_naming_the_known_ones():
    with pytest.raises(ValueError) as raised:
        Sandbox(variants=["tasks-with-dml"])
    message = str(raised.value)
    assert "'tasks-with-dml'" in message and all(name in message for name in VARIANTS)
    with pytest.raises(ValueError):
        validate(["broken-object", ""])


def test_cli_lists_variants_and_refuses_an_unknown_one_in_one_line(capsys):
    assert cli.main(["--list-variants"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listed] == list(VARIANTS)
    assert cli.main(["--variant", "nope", "--port", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ontraport-sandbox: unknown sandbox variant 'nope'")
    assert cli.build_parser().parse_args(["--variant", "a", "--variant", "b"]).variant == ["a", "b"]


def test_without_variants_the_object_table_is_the_default_one():
    assert account_objects(()) == ACCOUNT_OBJECTS


# --- unknown fields in conditions and sorts ----------------------------------------------------


def test_default_answers_an_unknown_condition_or_sort_field_with_plain_invalid_query(reader):
    for path in ("/Contacts", "/Contacts/getInfo"):
        response = reader.get(path, condition=[cond("no_such_field", "=", 1)])
        assert (response.status_code, response.text) == (400, "Invalid query")
        assert response.headers["Content-Type"].startswith("text/html")
    response = reader.get("/Contacts", sort="no_such_field")
    assert (response.status_code, response.text) == (400, "Invalid query")
    response = reader.get("/Tasks", condition=DLM_AFTER)  # Tasks have no dlm by default
    assert (response.status_code, response.text) == (400, "Invalid query")


def test_unknown_field_ignored_matches_nothing_and_drops_the_sort(variant_client, reader):
    client = variant_client("unknown-field-ignored")
    body = client.get("/Contacts", condition=[cond("no_such_field", "=", 1)], count="true").json()
    assert body["data"] == [] and body["count"] == "0"
    assert client.data("/Contacts/getInfo", condition=[cond("nope", ">", 0)])["count"] == "0"
    either = [cond("nope", "=", 1), "OR", cond("id", "<", 4)]  # null, so only the id term matches
    assert sorted(client.ids("/Contacts", condition=either)) == [1, 2, 3]
    nulls = client.get("/Contacts", condition=[cond("nope", "IS", "NULL")], count="true").json()
    assert nulls["count"] == str(client.sandbox.account.count(0))  # the field reads as null
    assert client.ids("/Contacts", sort="nope") == reader.ids("/Contacts")  # the default order
    assert client.get("/Contacts", condition="[{bad json").status_code == 400  # still malformed


# --- dlm on Transactions and Tasks ------------------------------------------------------------


def test_default_transactions_carry_dlm_and_tasks_do_not(reader):
    assert all("dlm" in r for r in reader.data("/Transactions"))
    assert not any("dlm" in r for r in reader.data("/Tasks"))
    assert "dlm" not in _meta(reader)["1"]["fields"]


def test_transactions_without_dlm(variant_client):
    client = variant_client("transactions-without-dlm")
    records = client.data("/Transactions", range=50)
    assert records and not any("dlm" in r for r in records)
    assert not any("dlm" in r for r in client.data("/objects", objectID=46, start=350))
    assert "dlm" not in client.data("/Transaction", id=records[0]["id"])
    assert "dlm" not in _meta(client)["46"]["fields"]
    response = client.get("/Transactions", condition=DLM_AFTER)
    assert (response.status_code, response.text) == (400, "Invalid query")
    assert client.get("/Transactions", sort="dlm").text == "Invalid query"
    assert client.data("/Transactions/getInfo")["count"] == "400"  # every record still there


def test_transactions_without_dlm_and_unknown_fields_ignored_read_nothing_on_dlm(variant_client):
    client = variant_client("transactions-without-dlm", "unknown-field-ignored")
    body = client.get("/Transactions", condition=DLM_AFTER, count="true").json()
    assert body["data"] == [] and body["count"] == "0"


def test_tasks_with_dlm(variant_client):
    client = variant_client("tasks-with-dlm")
    assert _meta(client)["1"]["fields"]["dlm"]["type"] == "timestamp"
    tasks = client.data("/Tasks", sort="dlm", condition=DLM_AFTER, count="true")
    stamps = [int(t["dlm"]) for t in tasks]
    assert len(tasks) == 50 and stamps == sorted(stamps)
    assert all(int(t["dlm"]) >= int(t["date_assigned"]) for t in tasks)
    newest = max(int(t["dlm"]) for t in client.data("/Tasks", sort="dlm", sortDir="desc"))
    later = client.get("/Tasks", condition=[cond("dlm", ">", newest - 1)], count="true").json()
    assert int(later["count"]) >= 1 and all(int(t["dlm"]) == newest for t in later["data"])
    task_id = tasks[0]["id"]
    client.sandbox.account.update(1, int(task_id))  # an edit moves the task's dlm to now
    assert int(client.data("/Task", id=task_id)["dlm"]) > newest


# --- a custom object meta lists but the API refuses --------------------------------------------


def test_default_has_no_refused_object(reader):
    assert str(BROKEN_OBJECT_ID) not in _meta(reader)


def test_broken_object_is_in_meta_and_every_read_answers_400(variant_client):
    client = variant_client("broken-object")
    meta = _meta(client)
    assert meta[str(BROKEN_OBJECT_ID)]["name"] == BROKEN_OBJECT_NAME
    assert meta[str(BROKEN_OBJECT_ID)]["fields"]  # it looks like any custom object
    reads = [("/objects", {}), ("/object", {"id": 1}), ("/objects/getInfo", {}),
             ("/objects/fieldeditor", {})]
    for path, extra in reads:
        response = client.get(path, objectID=BROKEN_OBJECT_ID, **extra)
        assert response.status_code == 400, path
        assert response.json() == REFUSED_BODY, path
    assert client.data("/objects", objectID=10000)  # the others are read as usual
    ids = [entry["id"] for entry in client.data("/CustomObjects")]
    assert str(BROKEN_OBJECT_ID) not in ids  # gone from the definitions, still in meta


# --- meta and the key -------------------------------------------------------------------------


def test_default_meta_omits_the_key_where_it_lists_few_fields(reader):
    meta = _meta(reader)
    assert "id" not in meta["46"]["fields"] and meta["146"]["fields"] == {}
    assert meta["163"]["fields"] == []


def test_meta_id_numeric_lists_the_key_on_every_object(variant_client):
    client = variant_client("meta-id-numeric")
    for object_id, entry in _meta(client).items():
        key = ACCOUNT_OBJECTS[int(object_id)].primary_key
        assert entry["fields"][key]["type"] == "numeric", object_id
    assert set(_meta(client)["146"]["fields"]) == {"id"}
    assert set(_meta(client)["46"]["fields"]) == {"id", "date"}
    assert "dlm" in client.data("/Transactions")[0]  # records are as before


# --- the field types of real accounts ---------------------------------------------------------


def test_default_meta_of_standard_objects_has_none_of_the_real_only_types(reader):
    standard = [entry for oid, entry in _meta(reader).items() if int(oid) < 10000 and entry["fields"]]
    types = {f["type"] for entry in standard for f in entry["fields"].values()}
    assert not types & {"related_data", "unique", "image"}
    assert "extra_data" not in _meta(reader)["0"]["fields"]["contact_cat"]


def test_default_custom_objects_carry_related_data_like_real_ones(reader):
    related = {name for oid, entry in _meta(reader).items() if entry["fields"]
               for name, f in entry["fields"].items() if f["type"] == "related_data"}
    assert related == {"f2007", "f2107"}  # like a real oDispenses


def test_real_meta_types(variant_client):
    client = variant_client("real-meta-types")
    meta = _meta(client)
    fields = [f for entry in meta.values() if entry["fields"] for f in entry["fields"].values()]
    assert {"related_data", "unique", "image", "longtext", "mergefield"} <= {f["type"] for f in fields}
    parents = {type(f["parent_object"]).__name__ + ":" + str(f["parent_object"])
               for f in fields if "parent_object" in f}
    assert {"int:2", "str:0", "str:10000"} <= parents
    assert meta["0"]["fields"]["unique_id"]["unique"] == "1"
    assert json.loads(meta["0"]["fields"]["contact_cat"]["extra_data"]) == {"subModel": 14}


@pytest.mark.parametrize("object_id", [10000, 10001])
def test_related_data_paths_are_keys_of_list_rows(variant_client, object_id):
    client = variant_client("real-meta-types")
    fields = _meta(client)[str(object_id)]["fields"]
    paths = {f["extra_data"] for f in fields.values() if f["type"] == "related_data"}
    assert paths and all("//" in path for path in paths)
    rows = client.data("/objects", objectID=object_id)
    for row in rows:
        assert paths <= set(row)
        assert not {name for name, f in fields.items() if f["type"] == "related_data"} & set(row)
    assert any(isinstance(row[path], str) and row[path] for row in rows for path in paths)


def test_every_variant_at_once(variant_client):
    client = variant_client(*VARIANTS)
    assert client.sandbox.variants == tuple(VARIANTS)
    meta = _meta(client)
    assert "dlm" in meta["1"]["fields"] and "dlm" not in meta["46"]["fields"]
    assert client.get("/objects", objectID=BROKEN_OBJECT_ID).status_code == 400
    assert client.get("/objects", objectID=BROKEN_OBJECT_ID, condition=DLM_AFTER).status_code == 400
    assert client.data("/Contacts", condition=[cond("nope", "=", 1)]) == []


# --- collection reads without a count ---------------------------------------------------------


def test_no_collection_count_ignores_count_true_but_get_info_still_counts(variant_client, reader):
    assert reader.get("/Contacts", count="true", range=5).json()["count"] == "1500"  # the default
    client = variant_client("no-collection-count")
    body = client.get("/Contacts", count="true", range=5).json()
    assert "count" not in body and len(body["data"]) == 5
    assert client.data("/Contacts/getInfo")["count"] == "1500"
