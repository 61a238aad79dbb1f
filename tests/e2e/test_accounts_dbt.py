"""Many accounts, for real: the multi-account DAG under `airflow dags test`, then the dbt package.

Two sandbox accounts (different seeds and credentials), plus a third whose key is wrong, are
listed for orchestrate/airflow/dags/ontraport_accounts.py. Run 1: every account's mapped task
group runs its Meltano job (`--state-id-suffix=<account>`, its own schema) into the session's
PostgreSQL; the broken account fails alone; `transform` runs `meltano invoke dbt-postgres:build`
on the transform/ package over the account schemas. The tests then read the models: every
model built and every dbt test passed, row counts per account match each sandbox, a custom
field appears under its alias with its label, `contact_tags` has one row per contact and tag,
`dbt docs generate` has the aliases as descriptions. Run 2, after changes in one sandbox only,
brings those changes and leaves the other account's rows as they were.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from ontraport_sandbox import Sandbox
from tests.e2e.conftest import ROOT, TABLE_BY_OBJECT, Meltano, RunResult, clean_env, dev, run_logged, sandbox_meta
from tests.e2e.postgres import Postgres

pytestmark = pytest.mark.e2e

DAG_FOLDER = ROOT / "orchestrate" / "airflow" / "dags"
DAG_ID = "ontraport_accounts"
TRANSFORM = ROOT / "transform"
MODELS_SCHEMA = "e2e_accounts_analytics"  # dbt's schema; staging views in <it>_staging
STAGING = f"{MODELS_SCHEMA}_staging"
CONTACTS, TAGS = 0, 14
CUSTOM_OBJECT_MIN_ID = 10000


@dataclass(frozen=True)
class Account:
    name: str
    schema: str
    sandbox: Sandbox
    app_id: str
    api_key: str

    def entry(self) -> dict:
        return {"name": self.name, "schema": self.schema, "api_url": self.sandbox.url}


@dataclass
class Runs:
    first: RunResult
    second: RunResult
    before_second: dict[str, str]  # account schema -> fingerprint of its staged contacts
    updated_contact: int
    inserted_contact: int
    state_ids: str


def dbt_streams() -> set[str]:
    """The standard streams the package stages (var ontraport_streams of dbt_project.yml)."""
    text = (TRANSFORM / "dbt_project.yml").read_text()
    block = text.split("ontraport_streams:")[1].split("\n  # ")[0]
    return set(re.findall(r"^    (\w+): \w+$", block, re.M))


@pytest.fixture(scope="module")
def accounts():
    made = []
    for name, seed in (("acme", 11), ("globex", 12)):
        app_id, api_key = f"{name}-app-id", f"{name}-api-key-{seed}"
        sandbox = Sandbox(seed=seed, scale=0.3, rate_limit=100_000, log="quiet", app_id=app_id,
                          api_key=api_key).start()
        made.append(Account(name, f"e2e_accounts_{name}", sandbox, app_id, api_key))
    yield made
    for account in made:
        account.sandbox.stop()


def connection(login: str, password: str) -> str:
    return json.dumps({"conn_type": "generic", "login": login, "password": password})


@pytest.fixture(scope="module")
def airflow_env(postgres: Postgres, meltano: Meltano, accounts: list[Account], e2e_dir: Path) -> dict[str, str]:
    dev.ensure_airflow()  # the first test of this file may be the first of the suite to need it
    dev.ensure_dbt()
    home = e2e_dir / "airflow-accounts-home"
    home.mkdir()
    (e2e_dir / "accounts-state").mkdir()
    acme = accounts[0]
    return clean_env(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(DAG_FOLDER),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        ONTRAPORT_MELTANO_ENVIRONMENT="ci",
        ONTRAPORT_DAG_RETRIES="0",
        MELTANO_DATABASE_URI=f"sqlite:///{e2e_dir / 'accounts-state' / 'meltano.db'}",
        DBT_POSTGRES_SCHEMA=MODELS_SCHEMA,
        DBT_POSTGRES_THREADS="4",
        **{f"AIRFLOW_CONN_ONTRAPORT_{a.name.upper()}": connection(a.app_id, a.api_key) for a in accounts},
        # A third account whose API key is wrong: its sync fails (HTTP 401), alone.
        AIRFLOW_CONN_ONTRAPORT_BROKEN=connection(acme.app_id, "not-the-key"),
        **postgres.target_env("e2e_accounts_unused"),
    )


def account_list(accounts: list[Account], *, broken: bool) -> str:
    entries = [a.entry() for a in accounts]
    if broken:
        entries.append({"name": "broken", "schema": "e2e_accounts_broken", "api_url": accounts[0].sandbox.url})
    return json.dumps(entries)


def fingerprint(postgres: Postgres, schema: str) -> str:
    """Every staged contact of one account, hashed: equal only if no row changed."""
    return postgres.scalar(
        f"SELECT md5(string_agg(md5(c::text), '' ORDER BY c.id)) AS h FROM \"{STAGING}\".stg_ontraport__contacts c "
        f"WHERE c.account = '{schema}'")


@pytest.fixture(scope="module")
def runs(postgres: Postgres, accounts: list[Account], airflow_env: dict[str, str], meltano: Meltano,
         e2e_dir: Path) -> Runs:
    for schema in [a.schema for a in accounts] + ["e2e_accounts_broken", MODELS_SCHEMA, STAGING]:
        postgres.drop_schema(schema)
    airflow = dev.ensure_airflow()
    log = ROOT / "output" / "logs" / "e2e-accounts.log"
    log.write_text("")
    run_logged([airflow, "db", "migrate"], airflow_env, log, timeout=300).check()
    run_logged([airflow, "pools", "set", "ontraport_accounts", "2", "Ontraport accounts synced at once"],
               airflow_env, log, timeout=120).check()

    env = dict(airflow_env, ONTRAPORT_ACCOUNTS=account_list(accounts, broken=True))
    first = run_logged([airflow, "dags", "test", DAG_ID], env, log, timeout=900)
    print(f"\nairflow dags test {DAG_ID}, run 1 (3 accounts, dbt build): {first.seconds:.0f}s (log: {log})")

    globex = accounts[1].sandbox.account
    before_second = {a.schema: fingerprint(postgres, a.schema) for a in accounts}
    updated = globex.ids(CONTACTS)[7]
    globex.update(CONTACTS, updated, {"firstname": "Changed-E2E", "f1010": "4"})
    inserted = globex.insert(CONTACTS, {"firstname": "New-E2E", "email": "new.e2e@example.com", "f1010": "2"})

    # Run 2: the two good accounts; the models are views over the loaded tables, so no dbt run is needed.
    env = dict(airflow_env, ONTRAPORT_ACCOUNTS=account_list(accounts, broken=False), ONTRAPORT_DAG_TRANSFORM="false")
    second = run_logged([airflow, "dags", "test", DAG_ID], env, log, timeout=900)
    print(f"airflow dags test {DAG_ID}, run 2 (2 accounts): {second.seconds:.0f}s")
    state_ids = meltano("state", "list", env=meltano.env(e2e_dir / "accounts-state")).check().output
    return Runs(first, second, before_second, updated, inserted, state_ids)


# --- meltano.yml ---------------------------------------------------------------------------


def test_meltano_yml_declares_dbt_and_the_accounts_pattern():
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    dbt = next(p for p in project["plugins"]["utilities"] if p["name"] == "dbt-postgres")
    # dbt's own venv (scripts/dev.py), not one Meltano would install beside the others.
    assert dbt["executable"] == ".venv-dbt/bin/dbt" and "pip_url" not in dbt
    assert dbt["executable"].split("/")[0] == dev.DBT_VENV.name
    for command in ("run", "build", "test", "docs-generate"):
        assert dbt["commands"][command]["args"].endswith("--project-dir transform --profiles-dir transform")
    assert {s["name"] for s in dbt["settings"]} >= {"host", "port", "user", "password", "dbname", "schema",
                                                    "account_schemas"}
    assert next(s for s in dbt["settings"] if s["name"] == "password")["sensitive"] is True
    # Pattern 1: an inherited extractor and loader per account, each loader with its own schema.
    taps = {p["name"]: p for p in project["plugins"]["extractors"] if p.get("inherit_from") == "tap-ontraport"}
    targets = {p["name"]: p for p in project["plugins"]["loaders"] if p.get("inherit_from") == "target-postgres"}
    assert set(taps) == {"tap-ontraport--acme", "tap-ontraport--globex"}
    schemas = {name: p["config"]["default_target_schema"] for name, p in targets.items()}
    assert schemas == {"target-postgres--acme": "ontraport_acme", "target-postgres--globex": "ontraport_globex"}


# --- the DAG -----------------------------------------------------------------------------


def test_dag_shape_and_account_list_checks(airflow_env: dict[str, str], e2e_dir: Path):
    """Pool, mapping, trigger rule, and the clear errors of a bad account list (no run needed)."""
    script = e2e_dir / "inspect_accounts_dag.py"
    script.write_text(f'''
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("dag_module", {str(DAG_FOLDER / "ontraport_accounts.py")!r})
module = sys.modules["dag_module"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
dag = module.dag
extract = dag.task_dict["account.extract_load"]
errors = {{}}
for label, text in {{"not json": "[", "empty": "[]", "secret key": '[{{"name": "a", "api_key": "x"}}]',
                     "bad name": '[{{"name": "Acme Inc"}}]', "twice": '[{{"name": "a"}}, "a"]'}}.items():
    try:
        module.parse_accounts(text)
        errors[label] = None
    except module.AccountListError as exc:
        errors[label] = str(exc)
print(json.dumps({{
    "pool": extract.pool,
    "group": type(extract.task_group).__name__,
    "transform_trigger_rule": getattr(dag.task_dict["transform"].trigger_rule, "value", None),
    "watcher_trigger_rule": getattr(dag.task_dict["any_account_failed"].trigger_rule, "value", None),
    "max_active_runs": dag.max_active_runs,
    "parsed": [a.__dict__ for a in module.parse_accounts('[{{"name": "acme"}}, {{"name": "b2", "schema": "crm_b2"}}]')],
    "errors": errors,
}}))
''')
    result = run_logged([dev.venv_bin(dev.AIRFLOW_VENV, "python"), script], airflow_env,
                        ROOT / "output" / "logs" / "e2e-accounts.log", timeout=300).check()
    shape = json.loads(result.stdout.strip().splitlines()[-1])
    assert shape["pool"] == "ontraport_accounts"
    assert shape["group"] == "MappedTaskGroup"
    assert shape["transform_trigger_rule"] == "all_done"
    assert shape["watcher_trigger_rule"] == "one_failed"
    assert shape["max_active_runs"] == 1
    assert shape["parsed"] == [
        {"name": "acme", "schema": "ontraport_acme", "connection_id": "ontraport_acme", "api_url": ""},
        {"name": "b2", "schema": "crm_b2", "connection_id": "ontraport_b2", "api_url": ""}]
    errors = shape["errors"]
    assert all(errors.values()), errors
    assert "not JSON" in errors["not json"] and "non-empty" in errors["empty"]
    assert "Connection" in errors["secret key"] and "lower case" in errors["bad name"]
    assert "more than once" in errors["twice"]


def test_each_account_runs_alone_and_a_failure_stops_no_other(runs: Runs, accounts: list[Account]):
    first = runs.first
    # The DAG run fails (the broken account), but only that account's sync did.
    assert re.search(rf"DagRun Finished: dag_id={DAG_ID},.* state=failed,", first.output), first.output[-3000:]
    assert "HTTP 401" in first.output
    for account in accounts:
        assert f"Account {account.name}: loaded into schema {account.schema}" in first.output
    assert "Account broken: loaded" not in first.output
    # transform ran after all groups were done, and dbt succeeded.
    assert re.search(r"Done\. PASS=\d+ WARN=\d+ ERROR=0 SKIP=0", first.output), first.output[-4000:]
    # The broken account's schema was never made: dbt says so, once, and builds the others.
    assert first.output.count("schema e2e_accounts_broken does not exist") == 1
    # Secrets never reach the log.
    for account in accounts:
        assert account.api_key not in first.output and account.app_id not in first.output
    assert "not-the-key" not in first.output
    # Run 2 (two good accounts) succeeds; each account has its own state id.
    assert re.search(rf"DagRun Finished: dag_id={DAG_ID},.* state=success,", runs.second.output), \
        runs.second.output[-4000:]
    for account in accounts:
        assert f"ci:tap-ontraport-to-target-postgres:{account.name}" in runs.state_ids


# --- dbt ---------------------------------------------------------------------------------


def test_every_model_built_and_every_dbt_test_passed(runs: Runs):
    results = json.loads((TRANSFORM / "target" / "run_results.json").read_text())
    manifest = json.loads((TRANSFORM / "target" / "manifest.json").read_text())
    statuses = {r["unique_id"]: r["status"] for r in results["results"]}
    models = {uid for uid, node in manifest["nodes"].items() if node["resource_type"] == "model"}
    tests = {uid for uid, node in manifest["nodes"].items() if node["resource_type"] == "test"}
    assert models and tests
    assert {uid: statuses.get(uid) for uid in models} == dict.fromkeys(models, "success")
    assert {uid: statuses.get(uid) for uid in tests} == dict.fromkeys(tests, "pass")
    assert "model.ontraport.stg_ontraport__custom_object_records" in models
    # Keys, relationships purchases -> contacts and products, accepted values from meta's options.
    names = {manifest["nodes"][uid]["name"] for uid in tests}
    assert any(n.startswith("ontraport_related_stg_ontraport__purchases_contact_id") for n in names), names
    assert any(n.startswith("ontraport_related_stg_ontraport__purchases_product_id") for n in names)
    assert any(n.startswith("ontraport_options_accepted_stg_ontraport__contacts") for n in names)


def test_row_counts_per_account_match_each_sandbox(runs: Runs, accounts: list[Account], postgres: Postgres):
    streams = dbt_streams()
    for account in accounts:
        counts = {oid: account.sandbox.account.count(oid) for oid in account.sandbox.account.object_ids()}
        standard = {TABLE_BY_OBJECT[oid]: n for oid, n in counts.items()
                    if oid < CUSTOM_OBJECT_MIN_ID and TABLE_BY_OBJECT.get(oid) in streams}
        union = " UNION ALL ".join(
            f"SELECT '{t}' AS t, count(*) AS n FROM \"{STAGING}\".stg_ontraport__{t} WHERE account = '{account.schema}'"
            for t in standard)
        assert {r["t"]: r["n"] for r in postgres.query(union)} == standard, account.name
        custom = {oid: n for oid, n in counts.items() if oid >= CUSTOM_OBJECT_MIN_ID}
        assert custom, "the sandbox serves custom objects"
        staged = postgres.query(
            f"SELECT object_id, count(*) AS n FROM \"{STAGING}\".stg_ontraport__custom_object_records "
            f"WHERE account = '{account.schema}' GROUP BY object_id")
        assert {r["object_id"]: r["n"] for r in staged} == custom, account.name
        marts = postgres.scalar(
            f"SELECT count(*) AS n FROM \"{MODELS_SCHEMA}\".contacts WHERE account = '{account.schema}'")
        assert marts == counts[CONTACTS] - (1 if account.name == "globex" else 0)  # the insert came after dbt


def test_custom_field_under_its_alias_with_its_label(runs: Runs, accounts: list[Account], postgres: Postgres):
    account = accounts[0]
    field = sandbox_meta(account.sandbox)[str(CONTACTS)]["fields"]["f1010"]
    column = re.sub(r"[^a-z0-9]+", "_", field["alias"].lower()).strip("_")
    assert column == "membership_level"
    wire = next(r for r in (account.sandbox.account.get(CONTACTS, i) for i in account.sandbox.account.ids(CONTACTS))
                if r.get("f1010"))
    row = postgres.query(f"SELECT {column}, {column}_label FROM \"{MODELS_SCHEMA}\".contacts "
                         f"WHERE account = '{account.schema}' AND id = {int(wire['id'])}")[0]
    assert row == {column: wire["f1010"], f"{column}_label": field["options"][wire["f1010"]]}
    # Its description, from the alias, is in the database for `dbt docs generate`.
    comment = postgres.scalar(
        f"SELECT col_description('\"{STAGING}\".stg_ontraport__contacts'::regclass, a.attnum) AS d "
        f"FROM pg_attribute a WHERE a.attrelid = '\"{STAGING}\".stg_ontraport__contacts'::regclass "
        f"AND a.attname = '{column}'")
    assert comment.startswith("Membership level (f1010")


def test_system_fields_under_their_fixed_names_in_every_account(runs: Runs, accounts: list[Account],
                                                                postgres: Postgres):
    """firstname -> first_name, dlm -> date_modified, ...: the package's table, not an alias."""
    table = yaml.safe_load((TRANSFORM / "dbt_project.yml").read_text())["vars"]["ontraport_system_columns"]
    assert table["*"]["firstname"] == "first_name" and table["transactions"]["date"] == "date_created"
    contacts = {r["c"] for r in postgres.query(
        f"SELECT attname AS c FROM pg_attribute WHERE attrelid = '\"{STAGING}\".stg_ontraport__contacts'::regclass "
        "AND attnum > 0")}
    assert {"first_name", "last_name", "date_added", "date_modified", "tag_ids", "email"} <= contacts
    assert not {"firstname", "lastname", "date", "dlm", "contact_cat"} & contacts
    renamed = {(r["account"], r["stream"], r["field"]): r["column_name"] for r in postgres.query(
        f"SELECT account, stream, field, column_name FROM \"{STAGING}\".stg_ontraport__fields "
        "WHERE (stream, field) IN (('contacts', 'firstname'), ('contacts', 'dlm'), ('transactions', 'date'))")}
    for account in accounts:
        assert renamed[(account.schema, "contacts", "firstname")] == "first_name"
        assert renamed[(account.schema, "contacts", "dlm")] == "date_modified"
        assert renamed[(account.schema, "transactions", "date")] == "date_created"
    acme = accounts[0]
    store = acme.sandbox.account
    wire = next(r for r in (store.get(CONTACTS, i) for i in store.ids(CONTACTS)) if r.get("firstname") and r.get("lastname"))
    staged = postgres.query(f"SELECT first_name, last_name FROM \"{STAGING}\".stg_ontraport__contacts "
                            f"WHERE account = '{acme.schema}' AND id = {int(wire['id'])}")
    assert staged == [{"first_name": wire["firstname"], "last_name": wire["lastname"]}]


def test_contact_tags_one_row_per_contact_and_tag(runs: Runs, accounts: list[Account], postgres: Postgres):
    for account in accounts:
        store = account.sandbox.account
        tag_names = {int(i): store.get(TAGS, i)["tag_name"] for i in store.ids(TAGS)}
        expected = set()
        for contact_id in store.ids(CONTACTS):
            if account.name == "globex" and contact_id == runs.inserted_contact:
                continue  # inserted after the dbt run
            tags = str(store.get(CONTACTS, contact_id).get("contact_cat") or "")
            expected |= {(int(contact_id), int(t), tag_names.get(int(t))) for t in tags.split("*/*") if t}
        rows = postgres.query(f"SELECT contact_id, tag_id, tag_name FROM \"{MODELS_SCHEMA}\".contact_tags "
                              f"WHERE account = '{account.schema}'")
        assert len(rows) == len(expected) > 0, account.name
        assert {(r["contact_id"], r["tag_id"], r["tag_name"]) for r in rows} == expected


def test_dbt_docs_generate_describes_columns_from_aliases(runs: Runs, airflow_env: dict[str, str]):
    dbt = dev.venv_bin(dev.DBT_VENV, "dbt")
    env = dict(airflow_env, DBT_POSTGRES_ACCOUNT_SCHEMAS="e2e_accounts_acme,e2e_accounts_globex")
    # --no-compile: the manifest of the DAG's `dbt build` is there; only the catalog is read.
    run_logged([dbt, "docs", "generate", "--no-compile", "--project-dir", TRANSFORM, "--profiles-dir", TRANSFORM], env,
               ROOT / "output" / "logs" / "e2e-accounts.log", timeout=600).check()
    catalog = json.loads((TRANSFORM / "target" / "catalog.json").read_text())
    contacts = catalog["nodes"]["model.ontraport.stg_ontraport__contacts"]["columns"]
    assert contacts["membership_level"]["comment"].startswith("Membership level (f1010")
    assert contacts["membership_level_label"]["comment"].startswith("Label of the option chosen in Membership level")
    assert contacts["account"]["comment"].startswith("The account it came from")


# --- run 2 -------------------------------------------------------------------------------


def test_second_run_updates_the_changed_account_only(runs: Runs, accounts: list[Account], postgres: Postgres):
    acme, globex = accounts
    assert fingerprint(postgres, acme.schema) == runs.before_second[acme.schema]
    assert fingerprint(postgres, globex.schema) != runs.before_second[globex.schema]
    rows = postgres.query(
        f"SELECT id, first_name, membership_level, membership_level_label FROM \"{STAGING}\".stg_ontraport__contacts "
        f"WHERE account = '{globex.schema}' AND id IN ({runs.updated_contact}, {runs.inserted_contact}) ORDER BY id")
    assert rows == [
        {"id": runs.updated_contact, "first_name": "Changed-E2E", "membership_level": "4",
         "membership_level_label": "Platinum"},
        {"id": runs.inserted_contact, "first_name": "New-E2E", "membership_level": "2",
         "membership_level_label": "Silver"},
    ]
    counts = {r["account"]: r["n"] for r in postgres.query(
        f"SELECT account, count(*) AS n FROM \"{STAGING}\".stg_ontraport__contacts GROUP BY account")}
    assert counts == {a.schema: a.sandbox.account.count(CONTACTS) for a in accounts}
