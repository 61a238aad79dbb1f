"""Fixtures of the end-to-end suite: real Meltano, real target-postgres, real PostgreSQL, real Airflow.

Everything is installed on first use, under the repository (gitignored), by the same code as
`scripts/dev.py`: `.venv-meltano/` (Meltano; its plugins go to `.meltano/`), `.venv-airflow/`.
PostgreSQL: see postgres.py (`E2E_POSTGRES_URL` for an external server).
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.e2e.postgres import LocalPostgres, Postgres, PostgresUnavailable, from_url
from tests.runner import read_summary

ROOT = Path(__file__).resolve().parents[2]
# The tables users get, by Ontraport objectID (the stream names are part of the contract).
TABLE_BY_OBJECT = {
    0: "contacts", 1: "tasks", 2: "users", 3: "groups", 5: "sequences", 6: "rules", 7: "messages",
    12: "notes", 14: "tags", 16: "products", 17: "purchases", 20: "landing_pages",
    30: "purchase_history_logs", 38: "commissions", 44: "open_orders", 45: "credit_cards",
    46: "transactions", 52: "orders", 65: "offers", 99: "custom_objects", 122: "forms", 123: "coupons",
    138: "tag_subscribers", 140: "campaign_builder_items", 145: "webhooks", 146: "deleted_orders",
    149: "deals", 150: "companies", 163: "webhook_logs", 10000: "pets", 10001: "properties",
}
# Variables of the developer's shell that would change what the runs do.
LEAKY_PREFIXES = ("TAP_ONTRAPORT_", "TARGET_POSTGRES_", "TARGET_JSONL_", "MELTANO_", "AIRFLOW_", "AIRFLOW__",
                  "ONTRAPORT_DAG_", "ONTRAPORT_MELTANO_")


def _load_dev():
    spec = importlib.util.spec_from_file_location("tap_ontraport_dev", ROOT / "scripts" / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


dev = _load_dev()


def pytest_configure(config: pytest.Config) -> None:
    # A terminated run (CI timeout, `kill`) still tears down: stop PostgreSQL, the sandboxes.
    if hasattr(signal, "SIGTERM") and signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)


def _raise_keyboard_interrupt(signum, frame):  # noqa: ANN001
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the teardown short
    raise KeyboardInterrupt


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(LEAKY_PREFIXES)}
    env.update(dev.QUIET_MELTANO_ENV)
    env.setdefault("UV_COMPILE_BYTECODE", "1")
    env.setdefault("UV_LINK_MODE", "copy")
    env.update(extra)
    return env


@dataclass
class RunResult:
    args: list[str]
    returncode: int
    output: str
    seconds: float
    stdout: str = ""
    records: dict[str, int] = field(default_factory=dict)

    def json(self):  # noqa: ANN201
        """The JSON document the command printed on stdout (its logs go to stderr)."""
        return json.loads(self.stdout)

    def check(self) -> RunResult:
        assert self.returncode == 0, (
            f"`{' '.join(self.args)}` failed ({self.returncode}) after {self.seconds:.0f}s:\n{self.output[-6000:]}"
        )
        return self


def run_logged(args: list[str | Path], env: dict[str, str], log: Path, timeout: float = 600,
               cwd: Path = ROOT) -> RunResult:
    args = [str(a) for a in args]
    started = time.monotonic()
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                            stdin=subprocess.DEVNULL)
    output = result.stdout + result.stderr
    seconds = time.monotonic() - started
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(f"\n$ {' '.join(args)}   # exit {result.returncode} in {seconds:.1f}s\n{output}")
    records = {stream: summary.records for stream, summary in read_summary(output).items()}
    return RunResult(args, result.returncode, output, seconds, result.stdout, records)


@dataclass
class Meltano:
    """The repository's own Meltano project, run with `.venv-meltano/bin/meltano`."""

    executable: Path
    log: Path

    def env(self, state_dir: Path, **extra: str) -> dict[str, str]:
        """Environment `ci`, state in its own SQLite system database under `state_dir`."""
        state_dir.mkdir(parents=True, exist_ok=True)
        return clean_env(
            MELTANO_ENVIRONMENT="ci",
            MELTANO_DATABASE_URI=f"sqlite:///{state_dir / 'meltano.db'}",
            **extra,
        )

    def __call__(self, *args: str, env: dict[str, str], timeout: float = 600) -> RunResult:
        return run_logged([self.executable, "--log-format=uncolored", *args], env, self.log, timeout)


@pytest.fixture(scope="session")
def e2e_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def meltano(e2e_dir: Path) -> Meltano:
    """Meltano installed, with tap-ontraport (editable, from this checkout) and target-postgres."""
    executable = dev.ensure_meltano()
    log = ROOT / "output" / "logs" / "e2e-meltano.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    runner = Meltano(executable, log)
    result = runner("install", "tap-ontraport", "target-postgres", env=runner.env(e2e_dir / "install"))
    result.check()
    print(f"\nmeltano install: {result.seconds:.1f}s (log: {log})")
    return runner


@pytest.fixture(scope="session")
def postgres() -> Postgres:
    """An external server (E2E_POSTGRES_URL) or a local one started for this session."""
    url = os.environ.get("E2E_POSTGRES_URL")
    try:
        if url:
            server = from_url(url)
            server.psql("SELECT 1")
            yield server
            return
        local = LocalPostgres()
    except PostgresUnavailable as exc:
        pytest.exit(f"e2e: {exc}", returncode=1)
    try:
        server = local.start()
        print(f"\nPostgreSQL {local.bin_dir} on 127.0.0.1:{local.port}, started in {local.seconds:.1f}s")
        yield server
    finally:
        local.stop()


def sandbox_counts(sandbox) -> dict[int, int]:  # noqa: ANN001
    account = sandbox.account
    return {oid: account.count(oid) for oid in account.object_ids()}


def sandbox_meta(sandbox) -> dict:  # noqa: ANN001
    """GET /objects/meta of the sandbox, as the tap sees it."""
    import urllib.request

    request = urllib.request.Request(
        f"{sandbox.url}/objects/meta?format=byId",
        headers={"Api-Appid": sandbox.app_id, "Api-Key": sandbox.api_key},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback sandbox
        return json.load(response)["data"]


__all__ = ["ROOT", "TABLE_BY_OBJECT", "Meltano", "RunResult", "clean_env", "dev", "run_logged", "sandbox_counts",
           "sandbox_meta"]
