"""`meltano run tap-ontraport target-postgres` from the repository's meltano.yml, twice.

One sandbox for the module. Run 1 loads everything; then the sandbox changes (an update, an
insert and a deletion in an incremental object, the same in a full-table one); run 2 must be
incremental and bring those changes. Each test reads what it needs from the runs' fixtures,
so any one of them can be run alone (`-k`), in the order of the file or not.

What is asserted about deletions is what target-postgres 0.8.1 does with what the tap sends
(docs/operating.md, "Deletions"):
* incremental object, `detect_deletions: true`: the tap sends `{id, _sdc_deleted_at}`; the
  target merges it on the key, so the row stays, `_sdc_deleted_at` set and every other column
  of the stream NULL;
* full-table object: the tap sends ACTIVATE_VERSION after each complete pass; with
  `hard_delete: false` (our meltano.yml) the rows the pass did not send keep their values and
  get `_sdc_deleted_at`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest

from ontraport_sandbox import Sandbox
from tests.e2e.conftest import TABLE_BY_OBJECT, Meltano, RunResult, sandbox_counts, sandbox_meta
from tests.e2e.postgres import Postgres

pytestmark = pytest.mark.e2e

SCHEMA = "e2e_meltano"
STATE_ID = "ci:tap-ontraport-to-target-postgres"

CONTACTS, TAGS, PRODUCTS = 0, 14, 16
SDC_COLUMNS = {"_sdc_extracted_at", "_sdc_received_at", "_sdc_batched_at", "_sdc_deleted_at",
               "_sdc_sequence", "_sdc_table_version", "_sdc_sync_started_at"}


@dataclass
class Changes:
    """What the test changed in the sandbox between the two runs."""

    updated_contact: int
    inserted_contact: int
    deleted_contact: int
    updated_tag: int
    deleted_tag: int
    inserted_product: int


@dataclass
class Runs:
    first: RunResult
    second: RunResult
    third: RunResult
    counts_before: dict[int, int]
    counts_after: dict[int, int]
    changes: Changes
    state_after_first: dict
    written_by_second: dict[str, set]  # table -> keys whose row run 2 wrote (_sdc_sync_started_at)
    deleted_contact_after_second: dict


@pytest.fixture(scope="module")
def sandbox():
    server = Sandbox(seed=1, rate_limit=100_000, log="quiet").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def runs(postgres: Postgres, meltano: Meltano, sandbox: Sandbox, e2e_dir: Path) -> Runs:
    postgres.drop_schema(SCHEMA)
    env = meltano.env(
        e2e_dir / "meltano-state",
        TAP_ONTRAPORT_API_URL=sandbox.url,
        TAP_ONTRAPORT_DETECT_DELETIONS="true",
        **postgres.target_env(SCHEMA),
    )
    counts_before = sandbox_counts(sandbox)
    first = meltano("run", "tap-ontraport", "target-postgres", env=env).check()
    state_after_first = meltano("state", "get", STATE_ID, env=env).check().json()

    account = sandbox.account
    contact_ids = account.ids(CONTACTS)
    tag_ids = account.ids(TAGS)
    changes = Changes(
        updated_contact=contact_ids[10],
        inserted_contact=account.insert(CONTACTS, {"firstname": "Grace", "lastname": "Hopper-E2E",
                                                   "email": "grace.e2e@example.com"}),
        deleted_contact=contact_ids[20],
        updated_tag=tag_ids[1],
        deleted_tag=tag_ids[2],
        inserted_product=account.insert(PRODUCTS, {"name": "E2E product", "price": "12.50"}),
    )
    account.update(CONTACTS, changes.updated_contact, {"firstname": "Ada-E2E"})
    account.delete(CONTACTS, changes.deleted_contact)
    account.update(TAGS, changes.updated_tag, {"tag_name": "renamed-e2e"})
    account.delete(TAGS, changes.deleted_tag)
    counts_after = sandbox_counts(sandbox)

    second = meltano("run", "tap-ontraport", "target-postgres", env=env).check()
    written_by_second = {table: rows_of_last_sync(postgres, table) for table in ("contacts", "transactions", "tags")}
    deleted_contact_after_second = row(postgres, "contacts", changes.deleted_contact)
    # Run 3, nothing changed in between: what is sent again, and the deletion stays as it is.
    third = meltano("run", "tap-ontraport", "target-postgres", env=env).check()
    return Runs(first, second, third, counts_before, counts_after, changes, state_after_first,
                written_by_second, deleted_contact_after_second)


def rows_of_last_sync(postgres: Postgres, table: str) -> set:
    """Keys of the rows the latest run wrote (target-postgres stamps each with its sync start)."""
    rows = postgres.query(
        f'SELECT id FROM "{SCHEMA}"."{table}" WHERE _sdc_sync_started_at = '
        f'(SELECT max(_sdc_sync_started_at) FROM "{SCHEMA}"."{table}")')
    return {r["id"] for r in rows}


def table_counts(postgres: Postgres, where: str = "") -> dict[str, int]:
    tables = [r["table_name"] for r in postgres.query(
        f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{SCHEMA}'")]
    if not tables:
        return {}
    union = " UNION ALL ".join(
        f"SELECT '{t}' AS t, count(*) AS n FROM \"{SCHEMA}\".\"{t}\" {where}" for t in tables)
    return {r["t"]: r["n"] for r in postgres.query(union)}


def columns(postgres: Postgres, table: str) -> dict[str, str]:
    """column -> its type as PostgreSQL spells it (format_type: `bigint[]`, `timestamp without time zone`)."""
    rows = postgres.query(
        "SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a "
        "JOIN pg_class c ON a.attrelid = c.oid JOIN pg_namespace n ON c.relnamespace = n.oid "
        f"WHERE n.nspname = '{SCHEMA}' AND c.relname = '{table}' AND a.attnum > 0 AND NOT a.attisdropped")
    return {r["name"]: r["type"] for r in rows}


def row(postgres: Postgres, table: str, key: int, key_column: str = "id") -> dict | None:
    rows = postgres.query(f'SELECT * FROM "{SCHEMA}"."{table}" WHERE "{key_column}" = {int(key)}')
    return rows[0] if rows else None


# --- run 1: everything, typed ---------------------------------------------------------


def test_every_object_is_a_table_with_the_sandbox_row_count(runs: Runs, sandbox: Sandbox, postgres: Postgres):
    unknown = set(sandbox.account.object_ids()) - set(TABLE_BY_OBJECT)
    assert not unknown, f"sandbox objects with no expected table (add them to TABLE_BY_OBJECT): {unknown}"
    # Counts after run 3 (nothing changed since run 2): rows that are not soft-deleted.
    live = table_counts(postgres, "WHERE _sdc_deleted_at IS NULL")
    expected = {TABLE_BY_OBJECT[oid]: n for oid, n in runs.counts_after.items()}
    assert set(live) == set(expected) | {"fields"}
    assert {t: live[t] for t in expected} == expected
    # And the first run's summary said it sent exactly the sandbox's records.
    assert {t: runs.first.records.get(t) for t in expected} == {
        TABLE_BY_OBJECT[oid]: n for oid, n in runs.counts_before.items()}


def test_fields_table_describes_every_field_of_meta(runs: Runs, sandbox: Sandbox, postgres: Postgres):
    rows = postgres.query(f'SELECT object_id, stream, field, type, json_type FROM "{SCHEMA}".fields')
    assert len(rows) == len({(r["object_id"], r["field"]) for r in rows}), "fields key must be unique"
    by_object: dict[int, set[str]] = {}
    for r in rows:
        by_object.setdefault(r["object_id"], set()).add(r["field"])
        assert r["stream"] == TABLE_BY_OBJECT[r["object_id"]], r
    for raw_id, entry in sandbox_meta(sandbox).items():
        meta_fields = entry.get("fields") or {}
        if isinstance(meta_fields, dict) and meta_fields:
            missing = set(meta_fields) - by_object.get(int(raw_id), set())
            assert not missing, f"object {raw_id}: meta fields missing from the fields table: {missing}"
    contact_custom = {r["field"]: (r["type"], r["json_type"]) for r in rows
                      if r["object_id"] == CONTACTS and r["field"].startswith("f10")}
    assert contact_custom["f1008"] == ("price", "number")
    assert contact_custom["f1009"] == ("check", "boolean")
    assert contact_custom["f1011"] == ("list", "array")


def test_column_types(runs: Runs, postgres: Postgres):
    contacts = columns(postgres, "contacts")
    observed = {
        "integer key (id)": contacts["id"],
        "integer (owner, parent field)": contacts["owner"],
        "number (f1008, price)": contacts["f1008"],
        "number (f1007, numeric)": contacts["f1007"],
        "boolean (f1009, check)": contacts["f1009"],
        "date-time (dlm)": contacts["dlm"],
        "date-time (date)": contacts["date"],
        "date-time (f1014, fulldate)": contacts["f1014"],
        "string (email)": contacts["email"],
        "string (f1010, drop: option id)": contacts["f1010"],
        "array of strings (f1011, list)": contacts["f1011"],
        "array of integers (contact_cat, subscription)": contacts["contact_cat"],
        "array of objects (fields.options)": columns(postgres, "fields")["options"],
    }
    print("\ncolumn types target-postgres 0.8.1 made:\n" + "\n".join(f"  {k}: {v}" for k, v in observed.items()))
    assert observed == {
        "integer key (id)": "bigint",
        "integer (owner, parent field)": "bigint",
        "number (f1008, price)": "numeric",
        "number (f1007, numeric)": "numeric",
        "boolean (f1009, check)": "boolean",
        "date-time (dlm)": "timestamp without time zone",
        "date-time (date)": "timestamp without time zone",
        "date-time (f1014, fulldate)": "timestamp without time zone",
        "string (email)": "text",
        "string (f1010, drop: option id)": "text",
        "array of strings (f1011, list)": "text[]",
        "array of integers (contact_cat, subscription)": "bigint[]",
        "array of objects (fields.options)": "jsonb[]",
    }
    assert columns(postgres, "products")["price"] == "numeric"
    assert SDC_COLUMNS <= set(contacts)
    # Primary keys: the merge key of every table.
    keys = postgres.query(
        "SELECT tc.table_name, string_agg(kcu.column_name, ',' ORDER BY kcu.ordinal_position) AS cols "
        "FROM information_schema.table_constraints tc JOIN information_schema.key_column_usage kcu "
        "ON tc.constraint_name = kcu.constraint_name AND tc.table_schema = kcu.table_schema "
        f"WHERE tc.table_schema = '{SCHEMA}' AND tc.constraint_type = 'PRIMARY KEY' GROUP BY tc.table_name")
    keys = {k["table_name"]: k["cols"] for k in keys}
    assert keys["contacts"] == "id" and keys["forms"] == "form_id" and keys["fields"] == "object_id,field"
    assert set(keys) == set(TABLE_BY_OBJECT.values()) | {"fields"}


def test_values_survive_the_trip(runs: Runs, sandbox: Sandbox, postgres: Postgres):
    """A contact as the API serves it vs. its row: price, check, timestamps, list."""
    contact_id = sandbox.account.ids(CONTACTS)[5]
    wire = sandbox.account.get(CONTACTS, contact_id)
    loaded = row(postgres, "contacts", contact_id)
    assert loaded["dlm"] == dt.datetime.fromtimestamp(int(wire["dlm"]), dt.timezone.utc).replace(
        tzinfo=None).isoformat()
    assert loaded["email"] == (wire["email"] or None)
    if wire.get("f1008") not in (None, ""):
        assert float(loaded["f1008"]) == pytest.approx(float(wire["f1008"]))
    if wire.get("f1009") in ("0", "1"):
        assert loaded["f1009"] is (wire["f1009"] == "1")
    ids = [x for x in str(wire.get("f1011") or "").split("*/*") if x]
    assert (loaded["f1011"] or []) == ids


# --- run 2: incremental ---------------------------------------------------------------


def test_state_is_kept_by_meltano(runs: Runs, meltano: Meltano, e2e_dir: Path):
    bookmarks = runs.state_after_first["singer_state"]["bookmarks"]
    assert bookmarks["contacts"]["replication_key"] == "dlm"
    assert bookmarks["contacts"]["replication_key_value"].startswith("20")
    assert "known_keys" in bookmarks["contacts"]  # detect_deletions keeps the set of keys
    listed = meltano("state", "list", env=meltano.env(e2e_dir / "meltano-state")).check().output
    assert STATE_ID in listed


def test_second_run_is_incremental(runs: Runs):
    first, second = runs.first.records, runs.second.records
    bookmarks = runs.state_after_first["singer_state"]["bookmarks"]
    incremental = {name for name, b in bookmarks.items() if b.get("replication_key") == "dlm"}
    assert {"contacts", "transactions", "pets"} <= incremental and "tags" not in incremental
    c = runs.changes
    # Contacts: the update, the insert, the deletion, plus the few records at the bookmark that
    # every run reads again on purpose (the filter is `dlm >= bookmark - lookback`).
    assert 3 <= second["contacts"] <= 3 + 3, second
    written = runs.written_by_second["contacts"]
    assert {c.updated_contact, c.inserted_contact, c.deleted_contact} <= written
    assert len(written) == second["contacts"]
    for name in incremental - {"contacts", "products"}:
        assert second.get(name, 0) <= 3, f"{name}: {second.get(name)} records re-sent by an incremental run"
    assert len(runs.written_by_second["transactions"]) == second["transactions"]
    # Full-table objects (no dlm) are sent whole on every run, under a new table version.
    assert second["tags"] == runs.counts_after[TAGS]
    assert len(runs.written_by_second["tags"]) == runs.counts_after[TAGS]
    total_first, total_second = sum(first.values()), sum(second.values())
    full_table = sum(n for name, n in second.items() if name not in incremental)
    print(f"\nrecords sent: run 1 {total_first}, run 2 {total_second} ({full_table} of them full-table), "
          f"run 3 {sum(runs.third.records.values())}")
    assert total_second - full_table <= 3 + 3 * len(incremental)


def test_changes_arrive(runs: Runs, sandbox: Sandbox, postgres: Postgres):
    c = runs.changes
    updated = row(postgres, "contacts", c.updated_contact)
    assert updated["firstname"] == "Ada-E2E"
    wire_dlm = int(sandbox.account.get(CONTACTS, c.updated_contact)["dlm"])
    assert updated["dlm"] == dt.datetime.fromtimestamp(wire_dlm, dt.timezone.utc).replace(tzinfo=None).isoformat()
    inserted = row(postgres, "contacts", c.inserted_contact)
    assert (inserted["firstname"], inserted["lastname"], inserted["email"]) == (
        "Grace", "Hopper-E2E", "grace.e2e@example.com")
    assert inserted["_sdc_deleted_at"] is None
    assert row(postgres, "tags", c.updated_tag)["tag_name"] == "renamed-e2e"
    product = row(postgres, "products", c.inserted_product)
    assert product["name"] == "E2E product" and float(product["price"]) == 12.5


def test_deleted_contact_is_soft_deleted_with_null_columns(runs: Runs, postgres: Postgres):
    """Incremental stream + detect_deletions: {id, _sdc_deleted_at} merged on the key."""
    deleted = row(postgres, "contacts", runs.changes.deleted_contact)
    assert deleted is not None, "target-postgres keeps the row"
    assert deleted["_sdc_deleted_at"] is not None
    data = {k: v for k, v in deleted.items() if k not in SDC_COLUMNS and k != "id"}
    assert all(v is None for v in data.values()), {k: v for k, v in data.items() if v is not None}
    assert table_counts(postgres, "WHERE _sdc_deleted_at IS NOT NULL")["contacts"] == 1
    # Run 3 does not send it again: the row is exactly as run 2 left it.
    assert deleted == runs.deleted_contact_after_second


def test_deleted_tag_is_soft_deleted_by_activate_version(runs: Runs, postgres: Postgres):
    """Full-table stream: ACTIVATE_VERSION after the pass; hard_delete false keeps the row's data."""
    deleted = row(postgres, "tags", runs.changes.deleted_tag)
    assert deleted is not None and deleted["_sdc_deleted_at"] is not None
    assert deleted["tag_name"], "the row keeps its last values"
    live_versions = postgres.query(
        f'SELECT DISTINCT _sdc_table_version AS v FROM "{SCHEMA}".tags WHERE _sdc_deleted_at IS NULL')
    assert len(live_versions) == 1, "every live row carries the last complete pass's version"
    assert deleted["_sdc_table_version"] < live_versions[0]["v"]
    assert table_counts(postgres, "WHERE _sdc_deleted_at IS NOT NULL")["tags"] == 1
