"""The Airflow DAG in orchestrate/airflow/dags runs the Meltano job and loads PostgreSQL.

Airflow 3 in its own venv (`.venv-airflow/`, kept between local runs), a throwaway
AIRFLOW_HOME with SQLite, `airflow db migrate`, then `airflow dags test ontraport_meltano`:
the DAG's BashOperator calls `.venv-meltano/bin/meltano run daily-sync` (Meltano's own venv)
in the project directory, against a sandbox of this module and the session's PostgreSQL.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from ontraport_sandbox import Sandbox
from tests.e2e.conftest import ROOT, TABLE_BY_OBJECT, Meltano, clean_env, dev, run_logged, sandbox_counts
from tests.e2e.postgres import Postgres

pytestmark = pytest.mark.e2e

DAG_FILE = ROOT / "orchestrate" / "airflow" / "dags" / "ontraport_meltano.py"
DAG_ID = "ontraport_meltano"
SCHEMA = "e2e_airflow"


def test_dag_file_uses_the_airflow_3_api():
    """Cheap static checks first: what Airflow 3 needs and what the deployment relies on."""
    source = DAG_FILE.read_text()
    tree = ast.parse(source)
    imports = {(node.module, alias.name) for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
               for alias in node.names}
    assert ("airflow.sdk", "DAG") in imports
    assert ("airflow.providers.standard.operators.bash", "BashOperator") in imports
    assert "schedule_interval" not in source
    dag_call = next(node for node in ast.walk(tree) if isinstance(node, ast.Call)
                    and getattr(node.func, "id", None) == "DAG")
    keywords = {k.arg: k.value for k in dag_call.keywords}
    assert ast.literal_eval(keywords["catchup"]) is False
    assert ast.literal_eval(keywords["max_active_runs"]) == 1
    assert "schedule" in keywords and "retries" in ast.unparse(keywords["default_args"])


def json_lines(stdout: str) -> list:
    """The JSON list an airflow command printed (its warnings share stdout)."""
    for line in reversed(stdout.splitlines()):
        if line.startswith("["):
            return json.loads(line)
    raise AssertionError(f"no JSON list in: {stdout[-2000:]}")


@pytest.fixture(scope="module")
def sandbox():
    server = Sandbox(seed=7, rate_limit=100_000, log="quiet").start()
    yield server
    server.stop()


def test_airflow_dags_test_runs_the_meltano_job(postgres: Postgres, meltano: Meltano, sandbox: Sandbox,
                                                 e2e_dir: Path):
    airflow = dev.ensure_airflow()
    home = e2e_dir / "airflow-home"
    home.mkdir()
    log = ROOT / "output" / "logs" / "e2e-airflow.log"
    log.write_text("")
    postgres.drop_schema(SCHEMA)
    env = clean_env(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(DAG_FILE.parent),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        # What the DAG's task passes on to Meltano (append_env=True): the project's `ci`
        # environment, the sandbox, this test's schema, a state database of its own.
        ONTRAPORT_MELTANO_ENVIRONMENT="ci",
        MELTANO_DATABASE_URI=f"sqlite:///{e2e_dir / 'airflow-meltano.db'}",
        TAP_ONTRAPORT_API_URL=sandbox.url,
        **postgres.target_env(SCHEMA),
    )
    migrate = run_logged([airflow, "db", "migrate"], env, log, timeout=300)
    assert migrate.returncode == 0, migrate.output[-4000:]

    # Parse the dags folder as the DAG processor would, then check the DAG is there, unbroken.
    reserialize = run_logged([airflow, "dags", "reserialize"], env, log, timeout=300)
    assert reserialize.returncode == 0, reserialize.output[-4000:]
    listed = run_logged([airflow, "dags", "list", "--output", "json"], env, log, timeout=300)
    assert listed.returncode == 0, listed.output[-4000:]
    assert DAG_ID in {d["dag_id"] for d in json_lines(listed.stdout)}, listed.output[-4000:]
    errors = run_logged([airflow, "dags", "list-import-errors", "--output", "json"], env, log, timeout=300)
    assert errors.returncode == 0 and json_lines(errors.stdout) == [], errors.output[-4000:]

    result = run_logged([airflow, "dags", "test", DAG_ID], env, log, timeout=600)
    print(f"\nairflow dags test: {result.seconds:.0f}s (log: {log})")
    assert result.returncode == 0, result.output[-6000:]
    assert "meltano_run" in result.output
    assert "Run completed" in result.output  # Meltano's last line, from inside the task
    assert re.search(rf"DagRun Finished: dag_id={DAG_ID},.* state=success,", result.output), result.output[-3000:]

    counts = {TABLE_BY_OBJECT[oid]: n for oid, n in sandbox_counts(sandbox).items()}
    union = " UNION ALL ".join(f"SELECT '{t}' AS t, count(*) AS n FROM \"{SCHEMA}\".\"{t}\"" for t in counts)
    loaded = {r["t"]: r["n"] for r in postgres.query(union)}
    assert loaded == counts
