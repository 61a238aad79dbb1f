"""/objects/meta, named meta, fieldeditor, custom objects, and the errors of reads."""

from __future__ import annotations

from ontraport_sandbox import Sandbox
from tap_ontraport.objects import KNOWN_OBJECTS

from .conftest import Client, sample

REQUIRED_OBJECTS = {0, 1, 2, 3, 5, 6, 7, 12, 14, 16, 17, 20, 30, 38, 44, 45, 46, 52, 65, 99, 122,
                    123, 138, 140, 145, 146, 149, 150, 163, 10000, 10001}
FIELD_TYPES = {"text", "longtext", "email", "phone", "sms", "url", "numeric", "price", "check",
               "drop", "list", "state", "country", "fulldate", "timestamp", "parent",
               "subscription", "mergefield"}
FLAG_KEYS = ("required", "unique", "editable", "deletable")


def test_meta_without_object_id_describes_the_whole_account_by_id(reader):
    data = reader.data("/objects/meta")
    assert set(map(int, data)) >= REQUIRED_OBJECTS
    assert all(set(entry) == {"name", "fields"} for entry in data.values())
    assert data["0"]["name"] == "Contact" and data["46"]["name"] == "Invoice"
    assert data["122"]["name"] == "SmartFormFE" and data["163"]["name"] == "WebhookLog"
    assert reader.data("/objects/meta", format="byId") == data
    for known in KNOWN_OBJECTS:  # the sandbox agrees with the project's table of objects
        assert data[str(known.object_id)]["name"] == known.meta_name


def test_meta_by_name_carries_the_object_id(reader):
    data = reader.data("/objects/meta", format="byName")
    assert data["Contact"]["id"] == "0" and data["oPets"]["id"] == "10000"
    assert data["Invoice"]["fields"] == reader.data("/objects/meta")["46"]["fields"]


def test_meta_field_entries_follow_the_reference(reader):
    fields = reader.data("/objects/meta", objectID=0)["0"]["fields"]
    assert {f["type"] for f in fields.values()} >= FIELD_TYPES
    assert "rollup" in {f["type"] for f in fields.values()}  # a type the tap cannot know
    for entry in fields.values():
        assert {"alias", "type", *FLAG_KEYS} <= set(entry)
        assert all(entry[k] in ("0", "1", None) for k in FLAG_KEYS)
    assert fields["f1010"]["options"] == {"1": "Bronze", "2": "Silver", "3": "Gold", "4": "Platinum"}
    assert fields["f1011"]["type"] == "list" and fields["f1011"]["options"]
    assert fields["f1016"]["parent_object"] == "10000" and fields["f1016"]["editable"] is None
    assert fields["owner"]["parent_object"] == 2  # system fields: a number, like the Tasks sample
    assert fields["firstname"] == sample("contacts.meta.json")["data"]["0"]["fields"]["firstname"]
    numbers = reader.data("/Deals/meta")["149"]["fields"]
    assert all(isinstance(e["required"], int) for e in numbers.values())  # "sometimes numbers"


def test_named_meta_answers_like_the_tasks_sample(reader):
    data = reader.data("/Tasks/meta")
    expected = sample("tasks.meta.json")["data"]
    assert list(data) == list(expected) == ["1"]
    assert data["1"]["name"] == "Task"
    assert data["1"]["fields"]["owner"] == expected["1"]["fields"]["owner"]


def test_objects_without_meta_fields_say_so_with_an_empty_map(reader):
    assert reader.data("/objects/meta", objectID=146) == {"146": {"name": "DeletedOrder", "fields": {}}}
    assert reader.data("/objects/meta", objectID=163)["163"]["fields"] == []
    assert reader.data("/DeletedOrders")  # ... yet they have records


def test_custom_objects_have_relationships_and_definitions(reader):
    meta = reader.data("/objects/meta")
    pet, prop = meta["10000"]["fields"], meta["10001"]["fields"]
    assert {"id", "owner", "unique_id", "date", "dlm"} <= set(pet)
    assert pet["f2005"]["type"] == "parent" and pet["f2005"]["parent_object"] == "0"
    assert prop["f2104"]["parent_object"] == "10000"
    definitions = reader.data("/CustomObjects")
    assert [(d["id"], d["name"], d["plural"]) for d in definitions] == [
        ("10000", "oPets", "Pets"), ("10001", "oProperties", "Properties")]
    pets = {p["id"] for p in reader.data("/objects", objectID=10000, listFields="id", range=50)}
    properties = reader.data("/objects", objectID=10001, range=50)
    assert any(p["f2104"] in pets or p["f2104"] for p in properties)
    assert reader.get("/Pets").status_code == 404  # custom objects: generic endpoints only


def test_fieldeditor_sections_and_columns(reader):
    data = reader.data("/objects/fieldeditor", objectID=0)
    assert data == reader.data("/Contacts/fieldeditor")
    first = data["1"]
    assert first["id"] == 1 and first["name"] == "Contact Information" and first["description"] is None
    assert 1 <= len(first["fields"]) <= 3 and all(isinstance(col, list) for col in first["fields"])
    entries = [e for s in data.values() for col in s["fields"] for e in col]
    fn = next(e for e in entries if e["field"] == "fn")
    assert fn["type"] == "mergefield" and "op:merge" in fn["options"]
    assert all(isinstance(e[k], int) for e in entries for k in FLAG_KEYS)
    one = reader.data("/objects/fieldeditor", objectID=0, field="f1010")
    assert one["field"] == "f1010" and one["options"]["3"] == "Gold"
    section = reader.data("/objects/fieldeditor", objectID=0, section="Contact Information")
    assert list(section) == ["1"]
    assert reader.data("/objects/fieldeditor", objectID=146) == []
    assert reader.get("/objects/fieldeditor", objectID=0, field="nope").status_code == 404


def test_single_records_and_their_errors(reader):
    some = reader.ids("/Contacts", sort="id", range=2)
    record = reader.data("/Contact", id=some[0])
    assert record["id"] == str(some[0]) and "email" in record
    assert reader.data("/object", objectID=0, id=some[0]) == record
    missing = reader.get("/Contact", id=some[0] + 10**6)
    assert missing.status_code == 404
    assert reader.get("/Contact").status_code == 400
    assert reader.get("/Contact", id="abc").status_code == 400


def test_unknown_paths_and_object_ids(reader):
    assert reader.get("/Nope").status_code == 404
    assert reader.session.get(reader.sandbox.url[:-2] + "/2/Contacts").status_code == 404
    missing = reader.get("/objects")
    assert missing.status_code == 400 and "objectID" in missing.text
    assert reader.get("/objects", objectID="x").status_code == 400
    assert reader.get("/objects", objectID=4242).status_code == 404
    assert reader.get("/objects/getInfo", objectID=4242).status_code == 404
    assert reader.get("/objects/meta", objectID=4242).status_code == 404
    assert reader.get("/objects", objectID=5).status_code == 200  # Sequences: generic only
    assert reader.get("/Sequences").status_code == 404


def test_writes_are_not_served(reader):
    response = reader.session.post(reader.sandbox.url + "/objects", json={"objectID": 0})
    assert response.status_code == 405


def test_forbidden_objects_answer_403_on_every_read_but_stay_in_meta():
    with Sandbox(rate_limit=0, forbidden=[46, 10000]) as sb:
        client = Client(sb)
        for path, params in (("/Transactions", {}), ("/Transaction", {"id": 1}),
                             ("/Transactions/getInfo", {}), ("/Transactions/meta", {}),
                             ("/Transactions/fieldeditor", {}), ("/objects", {"objectID": 46}),
                             ("/object", {"objectID": 46, "id": 1}), ("/objects/meta", {"objectID": 46}),
                             ("/objects/getInfo", {"objectID": 10000}),
                             ("/objects", {"objectID": 10000})):
            assert client.get(path, **params).status_code == 403, path
        everything = client.data("/objects/meta")
        assert "46" in everything and "10000" in everything
        assert client.get("/Contacts").status_code == 200


def test_custom_object_rows_look_like_real_ones(reader):
    """Real custom object rows carry contact-like base fields meta doesn't list, and the
    values of related_data fields under their path; nothing contact-like beyond that."""
    meta = reader.data("/objects/meta")
    pet_meta = meta["10000"]["fields"]
    assert meta["10000"]["name"] == "oPets" and meta["10001"]["name"] == "oProperties"
    assert pet_meta["f2007"] == {**pet_meta["f2007"], "type": "related_data", "extra_data": "f2005//lastname"}
    base = {"system_source", "source_location", "ip_addy_display", "import_id", "bulk_mail", "bulk_sms", "bindex"}
    assert not base & set(pet_meta)
    for object_id, paths in ((10000, {"f2005//lastname", "f2005//email"}),
                             (10001, {"f2104//f2001", "f2104//f2005//lastname"})):
        rows = reader.data("/objects", objectID=object_id, range=50)
        keys = set(rows[0])
        assert base | paths <= keys
        assert not {"ip_addy", "contact_cat", "updateSequence", "updateCampaign", "dla"} & keys
        assert not {name for name, field in meta[str(object_id)]["fields"].items()
                    if field["type"] == "related_data"} & keys  # meta-only, like mergefields
