"""The multi-account DAG under a real Airflow scheduler: the pool bounds the accounts, a retry resumes.

`airflow dags test` runs tasks one after another and ignores pools, so this module starts the
components of a small deployment instead: `airflow api-server` (the tasks' Execution API),
`airflow dag-processor` and `airflow scheduler` with the LocalExecutor, on a SQLite metadata
database in a throwaway AIRFLOW_HOME. The DAG folder holds only ontraport_accounts.py; its
schedule is `@once`, so the scheduler starts one run by itself.

Three sandbox accounts, the pool `ontraport_accounts` of 2 slots, one retry per task. The
third account's sandbox answers its Transactions with HTTP 500 until its first attempt has
failed (the tap is told not to retry a request), so that attempt fails mid-run, after the
streams it wrote before are loaded and their state saved; the retry must read only what is
left. All accounts share one Meltano system database (MELTANO_DATABASE_URI), as the workers
of one machine would: each keeps its own state id.

The tests read the task instances' tries (start and end times) from the metadata database,
the tap's per-stream summaries from the task logs, and the loaded tables.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from ontraport_sandbox import Sandbox
from ontraport_sandbox.faults import Fault
from tests.e2e.conftest import ROOT, TABLE_BY_OBJECT, Meltano, clean_env, dev, run_logged
from tests.e2e.postgres import Postgres
from tests.runner import read_summary

pytestmark = pytest.mark.e2e

DAG_FILE = ROOT / "orchestrate" / "airflow" / "dags" / "ontraport_accounts.py"
DAG_ID = "ontraport_accounts"
POOL_SLOTS = 2
EXTRACT = "account.extract_load"
FAILING = "gamma"  # the account whose first attempt fails mid-run
FAILING_STREAM, FAILING_PATH = "transactions", "/Transactions"
RESUMED_STREAMS = ("contacts", "notes", "purchases")  # incremental (dlm), written before transactions
CONTACTS = 0
LOG = ROOT / "output" / "logs" / "e2e-accounts-scheduler.log"
TASK_LOGS = ROOT / "output" / "logs" / "e2e-accounts-scheduler-tasks"
RUN_TIMEOUT = 900


@dataclass(frozen=True)
class Account:
    name: str
    sandbox: Sandbox

    @property
    def schema(self) -> str:
        return f"e2e_sched_{self.name}"


@dataclass(frozen=True)
class Try:
    """One try of one account's extract_load task instance."""

    account: str
    try_number: int
    state: str
    start: dt.datetime
    end: dt.datetime
    log: str


@dataclass
class Deployment:
    run_state: str
    tries: list[Try]
    seconds: float
    home: Path
    state_ids: str
    began: float  # time.time() when the components started


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def accounts():
    made = []
    for name, seed in (("alpha", 21), ("beta", 22), (FAILING, 23)):
        # The failing account's Transactions answer HTTP 500 until its first attempt has failed.
        faults = [Fault("500", path=FAILING_PATH, every=1)] if name == FAILING else []
        sandbox = Sandbox(seed=seed, scale=0.1, rate_limit=100_000, log="quiet", app_id=f"{name}-app",
                          api_key=f"{name}-key-{seed}", faults=faults).start()
        made.append(Account(name, sandbox))
    yield made
    for account in made:
        account.sandbox.stop()


def started(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """A component in its own process group (its children go with it at teardown)."""
    handle = open(log, "w", encoding="utf-8")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(args, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def wait_for_health(url: str, server: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, f"airflow api-server exited; see {LOG.with_name('e2e-scheduler-api-server.log')}"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise AssertionError(f"airflow api-server did not answer {url} within {timeout:.0f}s")


def parse_time(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def read_tries(database: Path, home: Path, names_by_index: dict[int, str]) -> list[Try]:
    """Every try of extract_load: the current one (task_instance) and earlier ones (history)."""
    columns = "map_index, try_number, state, start_date, end_date"
    with sqlite3.connect(database) as db:
        rows = db.execute(
            f"SELECT {columns} FROM task_instance WHERE dag_id = ? AND task_id = ? "
            f"UNION ALL SELECT {columns} FROM task_instance_history WHERE dag_id = ? AND task_id = ?",
            (DAG_ID, EXTRACT, DAG_ID, EXTRACT)).fetchall()
    tries = []
    for map_index, try_number, state, start, end in rows:
        logs = list((home / "logs").glob(f"dag_id={DAG_ID}/run_id=*/task_id={EXTRACT}/map_index={map_index}/"
                                         f"attempt={try_number}.log"))
        tries.append(Try(names_by_index[map_index], try_number, state, parse_time(start), parse_time(end),
                         logs[0].read_text(errors="replace") if logs else ""))
    return sorted(tries, key=lambda t: t.start)


def one_value(database: Path, sql: str, *params: object) -> str | None:
    try:
        with sqlite3.connect(database, timeout=10) as db:
            row = db.execute(sql, params).fetchone()
    except sqlite3.OperationalError:  # busy
        return None
    return row[0] if row else None


def dag_run_state(database: Path) -> str | None:
    return one_value(database, "SELECT state FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", DAG_ID)


def extract_state(database: Path, map_index: int) -> str | None:
    return one_value(database, "SELECT state FROM task_instance WHERE dag_id = ? AND task_id = ? AND map_index = ?",
                     DAG_ID, EXTRACT, map_index)


def most_at_once(tries: list[Try]) -> int:
    """The largest number of tries running at the same moment (one ending as another starts: not both)."""
    events = sorted([(t.start, 1) for t in tries] + [(t.end, -1) for t in tries], key=lambda e: (e[0], e[1]))
    running = peak = 0
    for _, change in events:
        running += change
        peak = max(peak, running)
    return peak


@pytest.fixture(scope="module")
def deployment(postgres: Postgres, meltano: Meltano, accounts: list[Account], e2e_dir: Path) -> Deployment:
    airflow = dev.ensure_airflow()
    for account in accounts:
        postgres.drop_schema(account.schema)
    home = e2e_dir / "airflow-scheduler-home"
    dags = home / "dags"
    dags.mkdir(parents=True)
    (dags / DAG_FILE.name).symlink_to(DAG_FILE)  # the DAG finds the project through the link
    state_dir = e2e_dir / "scheduler-state"
    state_dir.mkdir()
    port = free_port()
    entries = [{"name": a.name, "schema": a.schema, "api_url": a.sandbox.url} for a in accounts]
    env = clean_env(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(dags),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        AIRFLOW__CORE__EXECUTOR="LocalExecutor",
        AIRFLOW__CORE__PARALLELISM="8",  # more than the pool: the pool is what bounds the accounts
        AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{port}/execution/",
        AIRFLOW__API__HOST="127.0.0.1",
        AIRFLOW__API__PORT=str(port),
        AIRFLOW__API__WORKERS="1",
        AIRFLOW__API_AUTH__JWT_SECRET="e2e-scheduler-secret-not-for-production",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="True",
        AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT="600",
        ONTRAPORT_ACCOUNTS_DAG_SCHEDULE="@once",
        ONTRAPORT_ACCOUNTS=json.dumps(entries),
        ONTRAPORT_MELTANO_ENVIRONMENT="ci",
        ONTRAPORT_DAG_RETRIES="1",
        ONTRAPORT_DAG_RETRY_DELAY_MINUTES="0.25",
        ONTRAPORT_DAG_TRANSFORM="false",
        # What every account's Meltano job gets from the worker: one shared system database
        # (state), no retry of a failed request (the fault fails the run at once), no lookback
        # (a resumed stream re-reads nothing it has).
        MELTANO_DATABASE_URI=f"sqlite:///{state_dir / 'meltano.db'}",
        TAP_ONTRAPORT_MAX_RETRIES="0",
        TAP_ONTRAPORT_LOOKBACK_SECONDS="0",
        **{f"AIRFLOW_CONN_ONTRAPORT_{a.name.upper()}": json.dumps(
            {"conn_type": "generic", "login": a.sandbox.app_id, "password": a.sandbox.api_key}) for a in accounts},
        **postgres.target_env("e2e_sched_unused"),
    )
    LOG.write_text("")
    shutil.rmtree(TASK_LOGS, ignore_errors=True)
    run_logged([airflow, "db", "migrate"], env, LOG, timeout=300).check()
    run_logged([airflow, "pools", "set", "ontraport_accounts", str(POOL_SLOTS), "Ontraport accounts synced at once"],
               env, LOG, timeout=120).check()
    database = home / "airflow.db"
    begun, began = time.monotonic(), time.time()
    processes = [started([str(airflow), "api-server"], env, LOG.with_name("e2e-scheduler-api-server.log"))]
    try:
        # The tasks report to the api-server: the scheduler starts once it answers.
        wait_for_health(f"http://127.0.0.1:{port}/api/v2/monitor/health", processes[0])
        processes += [started([str(airflow), component], env, LOG.with_name(f"e2e-scheduler-{component}.log"))
                      for component in ("dag-processor", "scheduler")]
        state, failing, healed = None, len(accounts) - 1, False
        while time.monotonic() - begun < RUN_TIMEOUT:
            state = dag_run_state(database)
            if state in ("success", "failed"):
                break
            if not healed and extract_state(database, failing) == "up_for_retry":
                # The first attempt failed; the retry, ~10 s later, meets a healthy API.
                accounts[failing].sandbox.set_faults([])
                healed = True
            dead = [p.args[1] for p in processes if p.poll() is not None]
            assert not dead, f"airflow {', '.join(dead)} exited early; see {LOG.parent}/e2e-scheduler-*.log"
            time.sleep(0.5)
        seconds = time.monotonic() - begun
    finally:
        for process in reversed(processes):
            stop(process)
    print(f"\nscheduler run of {DAG_ID} (3 accounts, pool of {POOL_SLOTS}, one retry): {seconds:.0f}s "
          f"from starting the components; state {state}")
    # The task logs, kept beside the other logs of the suite (the temporary home goes).
    shutil.copytree(home / "logs", TASK_LOGS, dirs_exist_ok=True)
    assert state in ("success", "failed"), f"no finished DAG run after {RUN_TIMEOUT}s; logs in {LOG.parent}"
    with sqlite3.connect(database) as db:
        unmapped = db.execute("SELECT task_id, state FROM task_instance WHERE dag_id = ? AND map_index = -1 "
                              "AND task_id LIKE 'account.%'", (DAG_ID,)).fetchall()
    assert not unmapped, f"the account groups were never mapped: {unmapped}; task logs in {TASK_LOGS}"
    state_ids = meltano("state", "list", env=meltano.env(state_dir)).check().output
    tries = read_tries(database, home, dict(enumerate(a.name for a in accounts)))
    return Deployment(state, tries, seconds, home, state_ids, began)


def records(log: str) -> dict[str, int]:
    return {stream: summary.records for stream, summary in read_summary(log).items()}


def test_the_pool_bounds_how_many_accounts_run_at_once(deployment: Deployment, accounts: list[Account]):
    assert deployment.run_state == "success", [(t.account, t.try_number, t.state) for t in deployment.tries]
    tries = deployment.tries
    assert {t.account for t in tries} == {a.name for a in accounts}
    assert len(tries) == len(accounts) + 1  # one retry, of the failing account
    # Never more accounts at once than the pool has slots, and the slots were used: two ran together.
    assert most_at_once(tries) == POOL_SLOTS, [(t.account, t.start.isoformat(), t.end.isoformat()) for t in tries]


def test_a_retried_account_resumes_from_its_own_state(deployment: Deployment, accounts: list[Account],
                                                      postgres: Postgres):
    failing = next(a for a in accounts if a.name == FAILING)
    first, retry = sorted((t for t in deployment.tries if t.account == FAILING), key=lambda t: t.try_number)
    assert (first.try_number, first.state, retry.try_number, retry.state) == (1, "failed", 2, "success")
    assert f"Stream '{FAILING_STREAM}'" in first.log and "HTTP 500" in first.log, first.log[-3000:]
    store = failing.sandbox.account
    counts = {TABLE_BY_OBJECT[oid]: store.count(oid) for oid in store.object_ids() if oid in TABLE_BY_OBJECT}
    before, after = records(first.log), records(retry.log)
    # The first attempt loaded the incremental streams before the failing one, not the
    # transactions; the retry read those streams from their bookmarks (the record at the
    # bookmark again: the tap's condition is inclusive) and all the transactions.
    for stream in RESUMED_STREAMS:
        assert before.get(stream) == counts[stream] > 1, (stream, before)
        assert after.get(stream, 0) <= 1, (stream, after)
    assert before.get(FAILING_STREAM, 0) == 0
    assert after[FAILING_STREAM] == counts[FAILING_STREAM] > 0, after
    # Records landed once: these tables have exactly the sandbox's rows, each key once.
    for table in (*RESUMED_STREAMS, FAILING_STREAM):
        row = postgres.query(f'SELECT count(*) AS n, count(DISTINCT id) AS k FROM "{failing.schema}".{table}')[0]
        assert row == {"n": counts[table], "k": counts[table]}, table


def test_accounts_share_the_system_database_but_not_their_state(deployment: Deployment, accounts: list[Account],
                                                                postgres: Postgres):
    for account in accounts:
        assert f"ci:tap-ontraport-to-target-postgres:{account.name}" in deployment.state_ids
        store = account.sandbox.account
        loaded = postgres.scalar(f'SELECT count(*) AS n FROM "{account.schema}".contacts')
        assert loaded == store.count(CONTACTS), account.name
    # Each account's job wrote its plugins' files (catalog, state) in a .meltano of its own,
    # none in the project's shared .meltano/run/, so two at once never wrote one file.
    for account in accounts:
        own = ROOT / ".meltano" / "accounts" / account.name
        assert (own / "run" / "tap-ontraport" / "tap.properties.json").is_file(), account.name
        assert (own / "extractors").is_symlink()
        assert f".meltano: {own}" in " ".join(t.log for t in deployment.tries if t.account == account.name)
    shared = ROOT / ".meltano" / "run" / "tap-ontraport" / "tap.properties.json"
    assert not shared.exists() or shared.stat().st_mtime < deployment.began
    # A try of one account never logged another's sync.
    for attempt in deployment.tries:
        others = [a.schema for a in accounts if a.name != attempt.account]
        assert not [s for s in others if s in attempt.log], attempt.account
    assert re.search(r"\bloaded into schema\b", " ".join(t.log for t in deployment.tries))
