"""Collection parameters: condition operators, AND/OR, range, start, sort, ties, listFields,
ids, count, search and getInfo, checked against the full record set."""

from __future__ import annotations

import json
import random

import pytest

from ontraport_sandbox.account import SEARCHED_TYPES
from ontraport_sandbox.catalog import ACCOUNT_OBJECTS

from .conftest import cond


@pytest.fixture(scope="module")
def contacts(reader):
    """Every contact, read by id pages (ids are unique, so paging by offset is exact)."""
    records, start = [], 0
    while True:
        page = reader.data("/Contacts", sort="id", start=start)
        records += page
        if len(page) < 50:
            return {int(r["id"]): r for r in records}
        start += 50


def _num(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _all_ids(reader, **params) -> list[int]:
    """All ids matching, paging sort=id by offset."""
    ids, start = [], 0
    while True:
        page = reader.ids("/Contacts", sort="id", start=start, listFields="id", **params)
        ids += page
        if len(page) < 50:
            return ids
        start += 50


OPERATOR_CASES = [
    ("owner", "=", "1", lambda r: r["owner"] == "1"),
    ("owner", "<>", "1", lambda r: r["owner"] != "1"),
    ("grade", ">", 50, lambda r: _num(r["grade"]) is not None and _num(r["grade"]) > 50),
    # "" is not numeric, so it compares as text, and "" sorts before "10"
    ("grade", "<", "10", lambda r: r["grade"] == "" or (_num(r["grade"]) is not None and _num(r["grade"]) < 10)),
    ("grade", ">=", "99", lambda r: _num(r["grade"]) is not None and _num(r["grade"]) >= 99),
    ("grade", "<=", 1, lambda r: r["grade"] == "" or (_num(r["grade"]) is not None and _num(r["grade"]) <= 1)),
    ("state", "IN", ["CA", "TX"], lambda r: r["state"] in ("CA", "TX")),
    ("state", "NOT IN", ["CA", "TX"], lambda r: r["state"] is not None and r["state"] not in ("CA", "TX")),
    ("company", "IS", "NULL", lambda r: r["company"] is None),
    ("company", "IS", "NOT NULL", lambda r: r["company"] is not None),
    ("email", "LIKE", "%@GMAIL.com", lambda r: r["email"].lower().endswith("@gmail.com")),
    ("lastname", "LIKE", "o'%", lambda r: r["lastname"].lower().startswith("o'")),
    ("firstname", "=", "linda", lambda r: r["firstname"].lower() == "linda"),  # case-insensitive
    ("f1008", ">", "900.5", lambda r: _num(r["f1008"]) is not None and _num(r["f1008"]) > 900.5),
]


@pytest.mark.parametrize("field,op,value,expected", OPERATOR_CASES, ids=[f"{c[0]} {c[1]}" for c in OPERATOR_CASES])
def test_each_operator(reader, contacts, field, op, value, expected):
    wanted = sorted(i for i, r in contacts.items() if expected(r))
    assert 0 < len(wanted) < len(contacts)
    assert _all_ids(reader, condition=[cond(field, op, value)]) == wanted


def test_fast_path_operators_on_id_and_dlm(reader, contacts):
    ids = sorted(contacts)
    some = ids[10:15]
    dlm = int(contacts[ids[40]]["dlm"])
    cases = [
        ([cond("id", "=", some[0])], lambda i, r: i == some[0]),
        ([cond("id", "IN", some)], lambda i, r: i in some),
        ([cond("id", "NOT IN", some)], lambda i, r: i not in some),
        ([cond("id", "<>", str(some[1]))], lambda i, r: i != some[1]),
        ([cond("dlm", "=", dlm)], lambda i, r: int(r["dlm"]) == dlm),
        ([cond("dlm", ">", dlm), "AND", cond("id", "<=", ids[900])],
         lambda i, r: int(r["dlm"]) > dlm and i <= ids[900]),
        ([cond("date", "<", str(dlm)), "AND", cond("dlm", ">=", dlm - 10**7)],
         lambda i, r: int(r["date"]) < dlm and int(r["dlm"]) >= dlm - 10**7),
        ([cond("id", ">", 12.5), "AND", cond("id", "<", 40.5)], lambda i, r: 12.5 < i < 40.5),
    ]
    for condition, expected in cases:
        wanted = sorted(i for i, r in contacts.items() if expected(i, r))
        assert _all_ids(reader, condition=condition) == wanted, condition


def test_and_or_are_applied_left_to_right(reader, contacts):
    a, b, c = cond("state", "=", "CA"), cond("state", "=", "TX"), cond("owner", "=", "1")
    got = _all_ids(reader, condition=[a, "OR", b, "AND", c])
    left_to_right = sorted(i for i, r in contacts.items() if r["state"] in ("CA", "TX") and r["owner"] == "1")
    sql_precedence = sorted(i for i, r in contacts.items()
                            if r["state"] == "CA" or (r["state"] == "TX" and r["owner"] == "1"))
    assert got == left_to_right != sql_precedence
    assert _all_ids(reader, condition=[a, "or", b]) == sorted(
        i for i, r in contacts.items() if r["state"] in ("CA", "TX"))


def test_random_conditions_on_the_fast_columns_agree_with_brute_force(reader, contacts):
    """Conditions on id/date/dlm take the fast path (columns) when ANDed, and the slow path
    (generated values) once an OR is involved; both must agree with plain Python."""
    rng = random.Random(7)
    ids = sorted(contacts)
    ops = {">": lambda a, b: a > b, ">=": lambda a, b: a >= b, "<": lambda a, b: a < b,
           "<=": lambda a, b: a <= b, "=": lambda a, b: a == b, "<>": lambda a, b: a != b}
    for _ in range(12):
        terms, checks = [], []
        for _ in range(rng.randint(1, 3)):
            field = rng.choice(["id", "dlm", "date"])
            op = rng.choice(list(ops))
            sample = contacts[rng.choice(ids)]
            value = int(sample[field])
            if rng.random() < 0.5:
                value = str(value)
            terms.append(cond(field, op, value))
            checks.append((field, ops[op], int(value)))
        condition = [t for term in terms for t in (term, "AND")][:-1]
        wanted = sorted(i for i, r in contacts.items() if all(f(int(r[n]), v) for n, f, v in checks))
        assert _all_ids(reader, condition=condition) == wanted, condition
        slow = condition + ["OR", cond("id", "=", -1)]  # same meaning, no fast path
        assert _all_ids(reader, condition=slow) == wanted, slow
        body = reader.get("/Contacts", condition=json.dumps(condition), count="true", range=1).json()
        assert body["count"] == str(len(wanted))


@pytest.mark.parametrize("condition", [
    "[{bad json",
    json.dumps([cond("id", "~", 1)]),
    json.dumps("id > 5"),
    json.dumps([cond("id", "=", 1), cond("id", "=", 2)]),
    json.dumps([cond("id", "=", 1), "XOR", cond("id", "=", 2)]),
    json.dumps([{"field": "id", "op": "=", "value": {"value": 1}}]),
    json.dumps([{"field": {"field": "id"}, "op": "IN", "value": {"value": 1}}]),
    json.dumps([{"field": {"field": "id"}, "op": "=", "value": 1}]),
    json.dumps([{"field": {"field": "company"}, "op": "IS", "value": "EMPTY"}]),
    "email='a@b.com'",  # the legacy string form is not modelled
])
def test_malformed_condition_is_a_400(reader, condition):
    response = reader.get("/Contacts", condition=condition)
    assert response.status_code == 400
    assert len(response.text) < 200 and "condition" in response.text.lower()
    assert reader.get("/Contacts/getInfo", condition=condition).status_code == 400


def test_other_bad_parameters_are_400s(reader):
    assert reader.get("/Contacts", sort="nope").status_code == 400
    assert reader.get("/Contacts", start="-1").status_code == 400
    assert reader.get("/Contacts", start="x").status_code == 400
    assert reader.get("/Contacts", ids="1,x").status_code == 400


def test_range_defaults_to_50_and_is_capped_at_50(reader):
    assert len(reader.data("/Contacts")) == 50
    assert len(reader.data("/Contacts", range=60)) == 50
    assert len(reader.data("/Contacts", range=7)) == 7


def test_offsets_apply_after_filtering_and_sorting(reader, contacts):
    ascending = sorted(contacts)
    assert reader.ids("/Contacts", sort="id", start=100, range=10) == ascending[100:110]
    assert reader.ids("/Contacts", sort="id", sortDir="desc", start=100, range=10) == ascending[::-1][100:110]
    by_owner = sorted(i for i, r in contacts.items() if r["owner"] == "1")
    got = reader.ids("/Contacts", sort="id", start=3, range=5, condition=[cond("owner", "=", "1")])
    assert got == by_owner[3:8]
    # a text sort, then an offset into it
    names = [r["lastname"] for r in reader.data("/Contacts", sort="lastname", start=200, range=50)]
    assert names == sorted(names, key=str.casefold)
    assert names[0].casefold() >= sorted((r["lastname"] for r in contacts.values()), key=str.casefold)[199].casefold()


def test_numeric_strings_sort_numerically(reader, contacts):
    grades = [r["grade"] for r in reader.data("/Contacts", sort="grade", sortDir="desc", range=50)]
    numbers = [float(g) for g in grades if g not in (None, "")]
    assert numbers == sorted(numbers, reverse=True)
    assert numbers[0] == max(_num(r["grade"]) for r in contacts.values() if _num(r["grade"]) is not None)


def test_equal_sort_values_come_back_in_a_new_order_each_request(reader, contacts):
    counts: dict[str, int] = {}
    for record in contacts.values():
        counts[record["dlm"]] = counts.get(record["dlm"], 0) + 1
    dlm, size = max(counts.items(), key=lambda kv: kv[1])
    assert size > 50
    params = dict(sort="dlm", listFields="id", condition=[cond("dlm", "=", int(dlm))])
    first, second = reader.ids("/Contacts", **params), reader.ids("/Contacts", **params)
    assert len(first) == len(second) == 50
    assert first != second  # P(equal by chance) < 1/50!
    assert set(first) <= {i for i, r in contacts.items() if r["dlm"] == dlm}


def test_ties_straddling_pages_break_naive_offset_paging(reader, contacts):
    counts: dict[str, int] = {}
    for record in contacts.values():
        counts[record["dlm"]] = counts.get(record["dlm"], 0) + 1
    dlm = max(counts, key=counts.get)
    params = dict(sort="dlm", listFields="id", condition=[cond("dlm", "=", int(dlm))])
    seen_sets = set()
    for _ in range(5):
        pages = reader.ids("/Contacts", start=0, **params) + reader.ids("/Contacts", start=50, **params)
        seen_sets.add(frozenset(pages))
    assert len(seen_sets) > 1  # offset paging over a shuffled tie group is not stable


def test_dlm_sort_orders_by_dlm_in_both_directions(reader, contacts):
    for direction in ("asc", "desc"):
        page = reader.data("/Contacts", sort="dlm", sortDir=direction, start=300, listFields="id,dlm")
        values = [int(r["dlm"]) for r in page]
        assert values == sorted(values, reverse=direction == "desc")


def test_unsorted_order_is_a_fixed_order_not_by_id(reader, contacts):
    first = reader.ids("/Contacts")
    assert first != sorted(first)
    assert first != sorted(contacts)[:50]
    assert reader.ids("/Contacts") == first  # a storage order: the same every time
    everything, start = [], 0
    while start < len(contacts):
        everything += reader.ids("/Contacts", start=start)
        start += 50
    assert sorted(everything) == sorted(contacts)


def test_list_fields_returns_only_those_fields(reader):
    page = reader.data("/Contacts", listFields="id,email,dlm,nonexistent", range=5)
    assert all(set(r) == {"id", "email", "dlm"} for r in page)
    forms = reader.data("/Forms", listFields="form_id")
    assert all(list(f) == ["form_id"] for f in forms)


def test_ids_filters_and_zero_means_all(reader, contacts):
    some = sorted(contacts)[5:9]
    assert reader.ids("/Contacts", ids=",".join(map(str, some)), sort="id") == some
    assert reader.ids("/Contacts", ids=f"{some[0]},999999", sort="id") == some[:1]
    assert len(reader.data("/Contacts", ids="0")) == 50


def test_search_is_a_case_insensitive_substring_over_text_fields(reader, contacts):
    searched = {f.name for f in ACCOUNT_OBJECTS[0].fields if f.type in SEARCHED_TYPES and f.stored}
    term = "øvergaard"
    wanted = sorted(i for i, r in contacts.items()
                    if any(isinstance(r[n], str) and term in r[n].casefold() for n in searched))
    assert wanted
    assert _all_ids(reader, search="ØVERGAARD") == wanted
    info = reader.data("/Contacts/getInfo", search="ØVERGAARD")
    assert info["count"] == str(len(wanted))


def test_get_info_counts_what_the_filters_match(reader, contacts):
    info = reader.data("/Contacts/getInfo")
    assert info == {"listFields": ["fn", "email", "office_phone", "date", "grade", "dla", "contact_id"],
                    "listFieldSettings": [], "cardViewSettings": [], "viewMode": [], "count": "1500"}
    some = sorted(contacts)[:3]
    assert reader.data("/Contacts/getInfo", ids=",".join(map(str, some)))["count"] == "3"
    owner_one = sum(r["owner"] == "1" for r in contacts.values())
    by_condition = reader.data("/objects/getInfo", objectID=0, condition=json.dumps([cond("owner", "=", "1")]))
    assert by_condition["count"] == str(owner_one)


def test_transactions_get_info_adds_sums(reader):
    info = reader.data("/Transactions/getInfo")
    assert info["count"] == "400" and set(info["sums"]) == {"total"}
    totals = [float(t["total"]) for t in reader.data("/Transactions", range=50, sort="id")]
    assert isinstance(info["sums"]["total"], (int, float)) and info["sums"]["total"] > sum(totals)
    assert reader.data("/Tasks/getInfo")["listFields"][0] == ""  # like the sample
