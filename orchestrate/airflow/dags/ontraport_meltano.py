"""Airflow 3 DAG: run the Meltano job `daily-sync` (tap-ontraport -> target-postgres) once a day.

Airflow and Meltano live in separate virtual environments: this DAG only calls Meltano's
own executable, in the Meltano project directory. Copy (or symlink) this file into your
Airflow `dags_folder`; it needs nothing but Airflow 3 and the standard provider.

Settings, read when the task runs (Airflow Variables, set in the UI or with
`airflow variables set NAME VALUE`), each falling back to an environment variable of the
Airflow worker, then to a default:

| Airflow Variable             | environment variable          | default                                          |
|------------------------------|-------------------------------|--------------------------------------------------|
| ontraport_meltano_project    | ONTRAPORT_MELTANO_PROJECT     | the repository this file is in (../../..)        |
| ontraport_meltano_executable | ONTRAPORT_MELTANO_EXECUTABLE  | <project>/.venv-meltano/bin/meltano              |
| ontraport_meltano_job        | ONTRAPORT_MELTANO_JOB         | daily-sync                                       |
| ontraport_meltano_environment| ONTRAPORT_MELTANO_ENVIRONMENT | (empty: the project's default_environment, dev)  |

Read when the DAG file is parsed (environment only): ONTRAPORT_DAG_SCHEDULE (default
`@daily`), ONTRAPORT_DAG_RETRIES (2), ONTRAPORT_DAG_RETRY_DELAY_MINUTES (10),
ONTRAPORT_DAG_TIMEOUT_HOURS (6).

Credentials are never in the DAG: Meltano reads them from the worker's environment
(TAP_ONTRAPORT_APP_ID, TAP_ONTRAPORT_API_KEY, TARGET_POSTGRES_PASSWORD, ...) or from the
project's `.env`; the task inherits the worker's environment (`append_env=True`).

`max_active_runs=1`: two runs at once would share one Meltano state id
(`<environment>:tap-ontraport-to-target-postgres`) and one Ontraport rate limit; the second
would start from the same bookmark and double the load. `catchup=False`: each run is
incremental from the saved state, so missed intervals need no run of their own.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

PROJECT_DEFAULT = os.environ.get("ONTRAPORT_MELTANO_PROJECT") or str(Path(__file__).resolve().parents[3])
EXECUTABLE_DEFAULT = os.environ.get("ONTRAPORT_MELTANO_EXECUTABLE") or ""
JOB_DEFAULT = os.environ.get("ONTRAPORT_MELTANO_JOB") or "daily-sync"
ENVIRONMENT_DEFAULT = os.environ.get("ONTRAPORT_MELTANO_ENVIRONMENT") or ""

SCHEDULE = os.environ.get("ONTRAPORT_DAG_SCHEDULE") or "@daily"
RETRIES = int(os.environ.get("ONTRAPORT_DAG_RETRIES") or 2)
RETRY_DELAY = dt.timedelta(minutes=float(os.environ.get("ONTRAPORT_DAG_RETRY_DELAY_MINUTES") or 10))
TIMEOUT = dt.timedelta(hours=float(os.environ.get("ONTRAPORT_DAG_TIMEOUT_HOURS") or 6))

# Jinja, rendered when the task runs: Variables are read then, not at every parse of this file.
PROJECT = "{{ var.value.get('ontraport_meltano_project', params.project) }}"
MELTANO_COMMAND = """\
set -eu
meltano="{{ var.value.get('ontraport_meltano_executable', params.executable) }}"
if [ -z "$meltano" ]; then meltano="$PWD/.venv-meltano/bin/meltano"; fi
environment="{{ var.value.get('ontraport_meltano_environment', params.environment) }}"
job="{{ var.value.get('ontraport_meltano_job', params.job) }}"
export MELTANO_CLI_DISABLE_VERSION_CHECK="${MELTANO_CLI_DISABLE_VERSION_CHECK:-true}"
export MELTANO_SEND_ANONYMOUS_USAGE_STATS="${MELTANO_SEND_ANONYMOUS_USAGE_STATS:-false}"
echo "Meltano project $PWD, executable $meltano, job $job, environment ${environment:-<default>}"
if [ -n "$environment" ]; then
  exec "$meltano" --environment="$environment" run "$job"
else
  exec "$meltano" run "$job"
fi
"""

with DAG(
    dag_id="ontraport_meltano",
    description="Ontraport -> PostgreSQL with Meltano (tap-ontraport, job daily-sync)",
    schedule=SCHEDULE,
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=TIMEOUT + dt.timedelta(hours=1),
    params={
        "project": PROJECT_DEFAULT,
        "executable": EXECUTABLE_DEFAULT,
        "job": JOB_DEFAULT,
        "environment": ENVIRONMENT_DEFAULT,
    },
    default_args={
        "owner": "data",
        "retries": RETRIES,
        "retry_delay": RETRY_DELAY,
        "retry_exponential_backoff": True,
        "execution_timeout": TIMEOUT,
    },
    tags=["meltano", "ontraport"],
    doc_md=__doc__,
) as dag:
    BashOperator(
        task_id="meltano_run",
        bash_command=MELTANO_COMMAND,
        cwd=PROJECT,
        append_env=True,
    )
