"""Envelopes and value encodings look like the real API's (reference sections 2 and 11)."""

from __future__ import annotations

import re

from ontraport_sandbox.catalog import EPOCH_END, EPOCH_START
from tap_ontraport.objects import OBJECTS_BY_ID

from .conftest import sample


def test_collection_envelope_matches_the_sample(reader):
    response = reader.get("/Contacts")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert list(body) == list(sample("contacts.list.json"))  # code, data, account_id, misc
    assert body["code"] == 0 and body["misc"] == []
    assert isinstance(body["account_id"], int)
    assert len(body["data"]) == 50


def test_single_envelope_matches_the_sample(reader):
    first = reader.ids("/Contacts", sort="id", range=1)[0]
    body = reader.get("/Contact", id=first).json()
    assert list(body) == list(sample("contacts.single.json"))  # no misc on single reads
    assert body["data"]["id"] == str(first)


def test_generic_and_named_endpoints_serve_the_same_records(reader):
    named = reader.data("/Transactions", sort="id", range=10)
    generic = reader.data("/objects", objectID=46, sort="id", range=10)
    assert named == generic
    one = reader.data("/object", objectID=46, id=named[0]["id"])
    assert one == reader.data("/Transaction", id=named[0]["id"])


def test_count_parameter_adds_a_top_level_string(reader):
    body = reader.get("/Contacts", count="true", range=1).json()
    assert body["count"] == "1500"
    assert "count" not in reader.get("/Contacts", range=1).json()
    assert reader.get("/Tasks", count="1", range=1).json()["count"] == "250"


def test_empty_collection_is_an_empty_array(reader):
    body = reader.get("/Contacts", ids="999999999").json()
    assert body["data"] == [] and body["misc"] == []


def test_php_style_json_escapes_slashes_and_unicode(reader):
    text = reader.get("/Contacts", sort="id", range=50).text
    assert "\\/" in text  # URLs come out as https:\/\/...
    assert text.isascii()  # unicode travels as \\u escapes


def _all(reader, path, pk="id", **params):
    records, start = [], 0
    while True:
        page = reader.data(path, sort=pk, start=start, **params)
        records += page
        if len(page) < 50:
            return records
        start += 50


def test_values_are_mostly_strings_with_nulls_empties_and_some_numbers(reader):
    contacts = _all(reader, "/Contacts")
    values = [v for r in contacts for v in r.values()]
    strings = sum(isinstance(v, str) for v in values)
    assert strings / len(values) > 0.9
    assert None in values and "" in values
    assert any(isinstance(v, int) and not isinstance(v, bool) for v in values)  # a few raw numbers
    assert all(isinstance(r["id"], str) for r in contacts)
    # list and subscription fields use */* delimiters
    tags = [r["contact_cat"] for r in contacts if r["contact_cat"] not in ("", "*/**/*")]
    assert tags and all(re.fullmatch(r"\*/\*(\d+\*/\*)+", t) for t in tags)
    assert {r["contact_cat"] for r in contacts} >= {"", "*/**/*"}
    assert any(re.fullmatch(r"\*/\*(\d+\*/\*)+", r["f1011"] or "") for r in contacts)
    # checkbox styles: "true"/"false" on these contact fields, "0"/"1" elsewhere
    assert {r["unpaid_invoices"] for r in contacts} <= {"true", "false"}
    assert {r["has_membership"] for r in contacts} <= {"true", "false"}
    assert {r["f1009"] for r in contacts} <= {"0", "1", ""}
    # text with unicode, HTML and newlines somewhere
    texts = [v for r in contacts for v in r.values() if isinstance(v, str)]
    assert any(not t.isascii() for t in texts)
    assert any("<" in t and ">" in t for t in texts)
    assert any("\n" in t for t in texts)


def test_word_booleans_on_products_and_campaigns(reader):
    assert {p["deleted"] for p in _all(reader, "/Products")} <= {"true", "false"}
    assert {c["deleted"] for c in _all(reader, "/CampaignBuilderItems")} <= {"true", "false"}
    assert {c["hidden"] for c in _all(reader, "/Transactions")} <= {"0", "1"}


def test_forms_are_keyed_by_form_id_and_serve_date_as_a_number(reader):
    forms = reader.data("/Forms", sort="form_id")
    assert forms and all("form_id" in f and "id" not in f for f in forms)
    assert all(isinstance(f["date"], int) for f in forms)
    assert all(isinstance(f["dlm"], str) for f in forms)
    assert all(isinstance(p["date"], int) for p in reader.data("/LandingPages"))
    one = reader.data("/Form", id=forms[0]["form_id"])
    assert one["form_id"] == forms[0]["form_id"]


def test_dates_lie_in_the_fixed_past_range_and_dlm_follows_date(reader):
    for path, params in (("/Contacts", {}), ("/Transactions", {}), ("/Purchases", {}),
                         ("/objects", {"objectID": 10000})):
        for record in _all(reader, path, **params):
            date, dlm = int(record["date"]), int(record["dlm"])
            assert EPOCH_START <= date <= dlm <= EPOCH_END


def test_contacts_carry_bulk_update_ties_in_dlm(reader):
    contacts = _all(reader, "/Contacts", listFields="id,dlm")
    sizes: dict[str, int] = {}
    for contact in contacts:
        sizes[contact["dlm"]] = sizes.get(contact["dlm"], 0) + 1
    tied = sum(n for n in sizes.values() if n > 1)
    assert 0.10 <= tied / len(contacts) <= 0.30
    assert max(sizes.values()) > 50  # one bulk update is bigger than a page


def test_records_carry_fields_that_meta_and_objects_py_do_not_know(reader):
    contact = reader.data("/Contacts", range=1)[0]
    meta = reader.data("/Contacts/meta")["0"]["fields"]
    assert "last_note" in contact
    assert "last_note" not in meta and "last_note" not in OBJECTS_BY_ID[0].documented_fields
    assert "bindex" in contact and "gclid" in contact
    assert "bindex" not in meta and "gclid" not in meta
    assert "f1018" in meta and "f1018" not in contact  # mergefield: meta only


def test_transactions_meta_lists_only_date_but_records_carry_all_documented_fields(reader):
    meta = reader.data("/Transactions/meta")
    assert meta == {"46": {"name": "Invoice", "fields": {"date": meta["46"]["fields"]["date"]}}}
    assert meta["46"]["fields"]["date"]["type"] == "timestamp"
    record = reader.data("/Transactions", range=1)[0]
    assert set(OBJECTS_BY_ID[46].documented_fields) <= set(record)


def test_every_object_has_records(reader):
    for object_id, meta in reader.data("/objects/meta").items():
        body = reader.get("/objects", objectID=object_id, count="true", range=1).json()
        assert int(body["count"]) >= 1, meta["name"]
