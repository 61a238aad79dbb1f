"""`meltano run tap-ontraport target-postgres dbt-postgres:run`, from the repository's meltano.yml.

One command loads a sandbox account into PostgreSQL and builds the dbt package's models over
it: Meltano's `dbt-postgres` utility (`.venv-dbt/bin/dbt`, transform/) in the same run as the
tap and the loader. The models go to the schema the utility's settings name
(DBT_POSTGRES_SCHEMA), the staging views beside it in `<schema>_staging`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ontraport_sandbox import Sandbox
from tests.e2e.conftest import Meltano, dev
from tests.e2e.postgres import Postgres

pytestmark = pytest.mark.e2e

LOADED = "e2e_meltano_dbt"
MODELS = "e2e_meltano_dbt_models"
STAGING = f"{MODELS}_staging"
CONTACTS, TRANSACTIONS = 0, 46


@pytest.fixture(scope="module")
def sandbox():
    server = Sandbox(seed=31, scale=0.1, rate_limit=100_000, log="quiet").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def run(postgres: Postgres, meltano: Meltano, sandbox: Sandbox, e2e_dir: Path) -> Path:
    dev.ensure_dbt()
    for schema in (LOADED, MODELS, STAGING):
        postgres.drop_schema(schema)
    target_path = e2e_dir / "meltano-dbt-target"  # not transform/target, which other tests read
    env = meltano.env(
        e2e_dir / "meltano-dbt-state",
        TAP_ONTRAPORT_API_URL=sandbox.url,
        DBT_POSTGRES_SCHEMA=MODELS,
        DBT_POSTGRES_ACCOUNT_SCHEMAS=LOADED,
        DBT_POSTGRES_THREADS="4",
        DBT_TARGET_PATH=str(target_path),
        **postgres.target_env(LOADED),
    )
    result = meltano("run", "tap-ontraport", "target-postgres", "dbt-postgres:run", env=env, timeout=900).check()
    print(f"\nmeltano run tap-ontraport target-postgres dbt-postgres:run: {result.seconds:.0f}s")
    return target_path


def test_the_run_builds_every_model_in_the_target_schema(run: Path, postgres: Postgres):
    results = json.loads((run / "run_results.json").read_text())
    manifest = json.loads((run / "manifest.json").read_text())
    models = {uid for uid, node in manifest["nodes"].items() if node["resource_type"] == "model"}
    assert len(models) > 60
    statuses = {r["unique_id"]: r["status"] for r in results["results"]}
    assert {uid: statuses.get(uid) for uid in models} == dict.fromkeys(models, "success")
    built = {(r["s"], r["t"]) for r in postgres.query(
        "SELECT table_schema AS s, table_name AS t FROM information_schema.tables "
        f"WHERE table_schema IN ('{MODELS}', '{STAGING}')")}
    names = {manifest["nodes"][uid]["name"] for uid in models}
    assert {t for _, t in built} == names
    assert (MODELS, "contacts") in built and (STAGING, "stg_ontraport__contacts") in built


def test_the_models_hold_the_account_just_loaded(run: Path, postgres: Postgres, sandbox: Sandbox):
    store = sandbox.account
    contacts = postgres.query(f'SELECT account, count(*) AS n FROM "{MODELS}".contacts GROUP BY account')
    assert contacts == [{"account": LOADED, "n": store.count(CONTACTS)}]
    transactions = postgres.scalar(f'SELECT count(*) AS n FROM "{MODELS}".transactions')
    assert transactions == store.count(TRANSACTIONS) > 0
    wire = next(r for r in (store.get(CONTACTS, i) for i in store.ids(CONTACTS)) if r.get("firstname"))
    staged = postgres.query(f'SELECT first_name FROM "{MODELS}".contacts WHERE id = {int(wire["id"])}')
    assert staged == [{"first_name": wire["firstname"]}]
