"""Airflow 3 DAG: many Ontraport accounts, one mapped task group each, then the dbt models.

Ontraport's rate limit is per account, so one account's sync is bound by its own budget and
the way to go faster is many accounts at once. This DAG maps one task group per account over
a list of accounts (dynamic task mapping: the list is read when the DAG runs, so adding an
account needs no change here). Each group runs that account's Meltano job with:

* the account's credentials, from the Airflow Connection `ontraport_<name>` (login = App ID,
  password = API key, host = API URL if not the real API): in any secrets backend, never in
  the DAG, an XCom or a rendered template;
* its own Meltano state id, `<environment>:tap-ontraport-to-target-postgres:<name>`
  (`meltano run --state-id-suffix=<name>`), so a retry resumes from that account's last
  state and never from another's;
* its own target schema (`schema`, default `ontraport_<name>`);
* its own Meltano run directory: `meltano run` writes a plugin's config, catalog and state
  files to `.meltano/run/<plugin>/`, one directory per plugin name, so two accounts of one
  project running at once on one worker would overwrite each other's files between writing
  and reading them. Each account's job gets a `.meltano` of its own
  (MELTANO_SYS_DIR_ROOT=<project>/.meltano/accounts/<name>) that links to the installed
  plugins and keeps `run/` and `logs/` to itself; the system database (state) stays the
  project's, or MELTANO_DATABASE_URI.

An Airflow pool (`ontraport_accounts`; create it with
`airflow pools set ontraport_accounts 4 "Ontraport accounts synced at once"`) bounds how many
accounts run at once across every run of the DAG. One account's failure doesn't stop the
others: groups share nothing, and `transform` (`meltano invoke dbt-postgres:build` over every
account schema) runs when all groups are done, whatever their outcome; `any_account_failed`
then marks the DAG run failed, so the failed account is seen.

The accounts: the Airflow Variable `ontraport_accounts` (or the worker's environment variable
ONTRAPORT_ACCOUNTS), a JSON list such as
    [{"name": "acme"}, {"name": "globex", "schema": "crm_globex", "connection_id": "globex_api"}]
Keys: `name` (required; lower case letters, digits, _), `schema` (default `ontraport_<name>`),
`connection_id` (default `ontraport_<name>`), `api_url` (default: the connection's host, else
the project's setting).

Where Meltano is, as in ontraport_meltano.py (Variables, else environment variables, read
when a task runs): ontraport_meltano_project / ONTRAPORT_MELTANO_PROJECT (default: this
repository), ontraport_meltano_executable / ONTRAPORT_MELTANO_EXECUTABLE (default
<project>/.venv-meltano/bin/meltano), ontraport_meltano_environment /
ONTRAPORT_MELTANO_ENVIRONMENT (default: the project's). Read when the file is parsed
(environment only): ONTRAPORT_ACCOUNTS_DAG_SCHEDULE (`@daily`), ONTRAPORT_DAG_POOL
(`ontraport_accounts`), ONTRAPORT_DAG_RETRIES (2), ONTRAPORT_DAG_RETRY_DELAY_MINUTES (10),
ONTRAPORT_DAG_TIMEOUT_HOURS (6), ONTRAPORT_DAG_TRANSFORM (`true`).

Workers (Celery: every worker machine; Kubernetes: the pod image) need the Meltano project
with `.venv-meltano/` and `.venv-dbt/` installed (`meltano install`, `scripts/dev.py setup
--dbt`), the warehouse's TARGET_POSTGRES_* (and DBT_POSTGRES_*) variables, access to the
Connections, and one Meltano state backend shared by all of them
(MELTANO_STATE_BACKEND_URI=s3://..., gs://..., azure://..., or a shared
MELTANO_DATABASE_URI); see docs/operating.md, "Many accounts".
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from airflow.sdk import DAG, Connection, TriggerRule, Variable, get_current_context, task, task_group

PROJECT_DEFAULT = os.environ.get("ONTRAPORT_MELTANO_PROJECT") or str(Path(__file__).resolve().parents[3])
SCHEDULE = os.environ.get("ONTRAPORT_ACCOUNTS_DAG_SCHEDULE") or "@daily"
POOL = os.environ.get("ONTRAPORT_DAG_POOL") or "ontraport_accounts"
RETRIES = int(os.environ.get("ONTRAPORT_DAG_RETRIES") or 2)
RETRY_DELAY = dt.timedelta(minutes=float(os.environ.get("ONTRAPORT_DAG_RETRY_DELAY_MINUTES") or 10))
TIMEOUT = dt.timedelta(hours=float(os.environ.get("ONTRAPORT_DAG_TIMEOUT_HOURS") or 6))
TRANSFORM = (os.environ.get("ONTRAPORT_DAG_TRANSFORM") or "true").strip().lower() in ("1", "true", "yes")
ACCOUNT_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
ACCOUNT_KEYS = {"name", "schema", "connection_id", "api_url"}
# Taken out of the worker's environment before each account's run: an account runs with its
# own values or the project's, never with the worker's or another account's.
ACCOUNT_VARIABLES = ("TAP_ONTRAPORT_APP_ID", "TAP_ONTRAPORT_API_KEY", "TAP_ONTRAPORT_API_URL",
                     "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA")


@dataclass(frozen=True)
class Account:
    """One Ontraport account to sync: nothing secret, so it may travel in XComs."""

    name: str
    schema: str
    connection_id: str
    api_url: str = ""


class AccountListError(ValueError):
    """The list of accounts can't be used; the message says what to fix."""


def parse_accounts(text: str) -> list[Account]:
    """The accounts of a JSON list; one clear error for the first problem found."""
    try:
        entries = json.loads(text)
    except ValueError as exc:
        raise AccountListError(
            f"ontraport_accounts is not JSON ({exc}); expected e.g. [{{\"name\": \"acme\"}}]") from None
    if not isinstance(entries, list) or not entries:
        raise AccountListError('ontraport_accounts must be a non-empty JSON list, e.g. [{"name": "acme"}]')
    accounts = [_account(entry, position) for position, entry in enumerate(entries, 1)]
    for attribute in ("name", "schema"):
        values = [getattr(a, attribute) for a in accounts]
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            raise AccountListError(f"ontraport_accounts: {attribute} {', '.join(repeated)} appears more than once; "
                                   "each account needs its own (two would share one state id or schema)")
    return accounts


def _account(entry: object, position: int) -> Account:
    if isinstance(entry, str):
        entry = {"name": entry}
    if not isinstance(entry, dict):
        raise AccountListError(
            f"ontraport_accounts entry {position}: expected an object such as {{\"name\": \"acme\"}}")
    unknown = sorted(set(entry) - ACCOUNT_KEYS)
    if unknown:
        raise AccountListError(f"ontraport_accounts entry {position}: unknown key(s) {', '.join(unknown)} "
                               f"(allowed: {', '.join(sorted(ACCOUNT_KEYS))}); secrets go in the Connection")
    name = str(entry.get("name") or "")
    if not ACCOUNT_NAME.fullmatch(name):
        raise AccountListError(f"ontraport_accounts entry {position}: name {name!r} must be lower case letters, "
                               "digits and _ (it names the state id, the schema and the Connection)")
    schema = str(entry.get("schema") or f"ontraport_{name}")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", schema):
        raise AccountListError(f"ontraport_accounts entry {position}: schema {schema!r} is not a plain schema name")
    return Account(name=name, schema=schema, connection_id=str(entry.get("connection_id") or f"ontraport_{name}"),
                   api_url=str(entry.get("api_url") or ""))


def setting(variable: str, environment: str, default: str = "") -> str:
    """An Airflow Variable, else the worker's environment variable, else the default."""
    return Variable.get(variable, default=None) or os.environ.get(environment) or default


def meltano_command(*args: str) -> tuple[list[str], Path]:
    """The Meltano command line (its own executable, the chosen environment) and the project."""
    project = Path(setting("ontraport_meltano_project", "ONTRAPORT_MELTANO_PROJECT", PROJECT_DEFAULT))
    executable = setting("ontraport_meltano_executable", "ONTRAPORT_MELTANO_EXECUTABLE",
                         str(project / ".venv-meltano" / "bin" / "meltano"))
    environment = setting("ontraport_meltano_environment", "ONTRAPORT_MELTANO_ENVIRONMENT")
    command = [executable, "--log-format=uncolored"]
    if environment:
        command.append(f"--environment={environment}")
    return [*command, *args], project


#: What an account's own `.meltano` keeps to itself; every other directory (the installed
#: plugins: extractors/, loaders/, utilities/, ...) is a link to the project's.
OWN_SYSTEM_DIRS = {"run", "logs", "accounts"}


def account_system_dir(project: Path, name: str, env: dict[str, str]) -> dict[str, str]:
    """MELTANO_SYS_DIR_ROOT (and the database it would move) for one account's job."""
    shared = Path(env.get("MELTANO_SYS_DIR_ROOT") or project / ".meltano")
    own = shared / "accounts" / name
    own.mkdir(parents=True, exist_ok=True)
    for entry in shared.iterdir():
        link = own / entry.name
        if entry.is_dir() and entry.name not in OWN_SYSTEM_DIRS and not link.is_symlink():
            link.symlink_to(entry, target_is_directory=True)
    # The default system database lives in the .meltano directory: keep the project's, so
    # the state of every account stays where `meltano state` and the other runs find it.
    database = env.get("MELTANO_DATABASE_URI") or f"sqlite:///{shared / 'meltano.db'}"
    return {"MELTANO_SYS_DIR_ROOT": str(own), "MELTANO_DATABASE_URI": database}


def run_meltano(args: list[str], env_overrides: dict[str, str], account: str | None = None) -> None:
    """Run Meltano in the project, its output in the task log; a failure fails the task.

    With `account`, in that account's own `.meltano` (account_system_dir)."""
    command, project = meltano_command(*args)
    env = {k: v for k, v in os.environ.items() if k not in ACCOUNT_VARIABLES}
    env.setdefault("MELTANO_CLI_DISABLE_VERSION_CHECK", "true")
    env.setdefault("MELTANO_SEND_ANONYMOUS_USAGE_STATS", "false")
    if account:
        env.update(account_system_dir(project, account, env))
    env.update(env_overrides)
    where = f" (.meltano: {env['MELTANO_SYS_DIR_ROOT']})" if account else ""
    print(f"Meltano project {project}{where}: {' '.join(command[1:])}", flush=True)
    with subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL, text=True, errors="replace") as proc:
        for line in proc.stdout:
            print(line.rstrip("\n"), flush=True)
    if proc.returncode != 0:
        raise RuntimeError(f"`meltano {' '.join(args)}` failed with exit status {proc.returncode}; "
                           "its output is above")


def account_env(account: Account) -> dict[str, str]:
    """The account's settings for Meltano; the secrets come from its Connection, masked in logs."""
    from airflow.sdk.log import mask_secret

    connection = Connection.get(account.connection_id)
    if not connection.login or not connection.password:
        raise RuntimeError(
            f"Connection {account.connection_id!r} needs the App ID as login and the API key as password")
    mask_secret(connection.login)
    mask_secret(connection.password)
    env = {
        "TAP_ONTRAPORT_APP_ID": connection.login,
        "TAP_ONTRAPORT_API_KEY": connection.password,
        "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": account.schema,
    }
    api_url = account.api_url or (connection.host or "")
    if api_url:
        env["TAP_ONTRAPORT_API_URL"] = api_url
    return env


with DAG(
    dag_id="ontraport_accounts",
    description="Many Ontraport accounts -> PostgreSQL with Meltano, one mapped task group each, then dbt",
    schedule=SCHEDULE,
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    # Two runs at once would run one account twice on one state id and one rate limit.
    max_active_runs=1,
    dagrun_timeout=TIMEOUT + dt.timedelta(hours=2),
    default_args={
        "owner": "data",
        "retries": RETRIES,
        "retry_delay": RETRY_DELAY,
        "retry_exponential_backoff": True,
        "execution_timeout": TIMEOUT,
    },
    tags=["meltano", "ontraport", "dbt"],
    doc_md=__doc__,
) as dag:

    @task(retries=0)
    def list_accounts() -> list[dict]:
        """The accounts to sync, checked (a bad list fails here, before any sync)."""
        text = setting("ontraport_accounts", "ONTRAPORT_ACCOUNTS")
        if not text:
            raise AccountListError("no accounts: set the Airflow Variable ontraport_accounts (or ONTRAPORT_ACCOUNTS) "
                                   'to a JSON list such as [{"name": "acme"}]')
        accounts = parse_accounts(text)
        # The accounts' jobs start together and share the system database: a new one must be
        # created (migrated) once, here, or two of them race to create its tables and fail.
        run_meltano(["upgrade", "database"], {})
        print("Accounts: " + ", ".join(f"{a.name} -> schema {a.schema}" for a in accounts), flush=True)
        return [asdict(a) for a in accounts]

    @task_group(group_id="account")
    def sync_account(account: dict) -> None:
        @task(retries=0)
        def check_connection(account: dict) -> dict:
            """Fail fast, without retries, when the account's Connection is missing or incomplete."""
            account_env(Account(**account))
            return account

        @task(pool=POOL, map_index_template="{{ account_name }}")
        def extract_load(account: dict) -> str:
            """`meltano run --state-id-suffix=<name> tap-ontraport target-postgres` for this account."""
            chosen = Account(**account)
            get_current_context()["account_name"] = chosen.name  # names the mapped task in the UI
            run_meltano(["run", f"--state-id-suffix={chosen.name}", "tap-ontraport", "target-postgres"],
                        account_env(chosen), account=chosen.name)
            print(f"Account {chosen.name}: loaded into schema {chosen.schema}", flush=True)
            return chosen.schema

        extract_load(check_connection(account))

    @task(trigger_rule=TriggerRule.ALL_DONE, retries=0)
    def transform(accounts: list[dict]) -> None:
        """`dbt build` over every account's schema (an account that failed keeps its last load)."""
        schemas = ",".join(a["schema"] for a in accounts)
        run_meltano(["invoke", "dbt-postgres:build"], {"DBT_POSTGRES_ACCOUNT_SCHEMAS": schemas})

    @task(trigger_rule=TriggerRule.ONE_FAILED, retries=0)
    def any_account_failed() -> None:
        """Runs only when an account's sync failed, and fails, so the DAG run is marked failed
        (a run's state follows its last tasks, and `transform` succeeds without that account)."""
        raise RuntimeError("at least one account's sync failed: see its account.extract_load task; "
                           "a retry or the next run resumes from that account's state")

    accounts = list_accounts()
    groups = sync_account.expand(account=accounts)
    groups >> any_account_failed()
    if TRANSFORM:
        groups >> transform(accounts)
