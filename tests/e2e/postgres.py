"""A PostgreSQL server for the end-to-end tests: a throwaway local one, or an external one.

* `E2E_POSTGRES_URL=postgresql://user:password@host:port/database` uses that server (CI
  services, a developer's own); nothing is started or stopped, and the tests only create and
  drop schemas of their own (`e2e_...`).
* Otherwise a server is started from the PostgreSQL binaries (`/usr/lib/postgresql/*/bin`,
  or the directory of `pg_ctl` on PATH, or `E2E_PG_BIN`): data directory and socket in a new
  temporary directory, 127.0.0.1 on a free port, trust authentication, `fsync=off`. As root
  it runs as the `postgres` user (initdb refuses root). It is stopped, and its directory
  removed, at the end of the session, also when tests fail or the run is interrupted.

Queries go through `psql` (no Python driver needed in the test venv), as JSON.
"""

from __future__ import annotations

import atexit
import glob
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit


class PostgresUnavailable(RuntimeError):
    """PostgreSQL can't be had; the message says what to install or set."""


@dataclass
class Postgres:
    host: str
    port: int
    user: str
    password: str
    database: str
    psql_path: str

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{self.database}"

    def target_env(self, schema: str) -> dict[str, str]:
        """The TARGET_POSTGRES_* variables that point target-postgres at `schema` here."""
        return {
            "TARGET_POSTGRES_HOST": self.host,
            "TARGET_POSTGRES_PORT": str(self.port),
            "TARGET_POSTGRES_USER": self.user,
            # target-postgres 0.8.1 refuses to start without a password, even with trust auth.
            "TARGET_POSTGRES_PASSWORD": self.password,
            "TARGET_POSTGRES_DATABASE": self.database,
            "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": schema,
        }

    def psql(self, sql: str) -> str:
        env = dict(os.environ, PGPASSWORD=self.password, PGCONNECT_TIMEOUT="10")
        result = subprocess.run(
            [self.psql_path, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
             "-h", self.host, "-p", str(self.port), "-U", self.user, "-d", self.database, "-c", sql],
            capture_output=True, text=True, env=env, timeout=60, stdin=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            raise RuntimeError(f"psql failed ({result.returncode}): {result.stderr.strip()}\nSQL: {sql}")
        return result.stdout

    def query(self, sql: str) -> list[dict]:
        """Rows of a SELECT as dicts (through json_agg, so types survive: numbers, booleans, arrays)."""
        text = self.psql(f"SELECT coalesce(json_agg(q), '[]'::json) FROM ({sql}) AS q").strip()
        return json.loads(text)

    def scalar(self, sql: str):
        rows = self.query(sql)
        return next(iter(rows[0].values())) if rows else None

    def drop_schema(self, schema: str) -> None:
        self.psql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def from_url(url: str) -> Postgres:
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "postgresql+psycopg") or not parts.hostname:
        raise PostgresUnavailable(
            f"E2E_POSTGRES_URL must look like postgresql://user:password@host:5432/db, got {url!r}")
    psql = shutil.which("psql") or _find_in_bin_dirs("psql")
    if not psql:
        raise PostgresUnavailable(
            "psql was not found: install the PostgreSQL client (apt-get install postgresql-client)")
    return Postgres(
        host=parts.hostname,
        port=parts.port or 5432,
        user=unquote(parts.username or "postgres"),
        password=unquote(parts.password or "postgres"),
        database=(parts.path or "/postgres").lstrip("/") or "postgres",
        psql_path=psql,
    )


def _bin_dirs() -> list[Path]:
    found = []
    if os.environ.get("E2E_PG_BIN"):
        found.append(Path(os.environ["E2E_PG_BIN"]))
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                      key=lambda p: [int(x) for x in re.findall(r"\d+", p)] or [0], reverse=True)
    found += [Path(p) for p in versions]
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl:
        found.append(Path(pg_ctl).resolve().parent)
    return found


def _find_in_bin_dirs(name: str) -> str | None:
    for directory in _bin_dirs():
        if (directory / name).exists():
            return str(directory / name)
    return None


def find_bin_dir() -> Path:
    for directory in _bin_dirs():
        if all((directory / tool).exists() for tool in ("initdb", "pg_ctl", "postgres")):
            return directory
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in /usr/lib/postgresql/*/bin "
        "or on PATH: install them (Debian/Ubuntu: apt-get install postgresql) or set "
        "E2E_POSTGRES_URL=postgresql://user:password@host:port/db to use a running server"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalPostgres:
    """initdb + pg_ctl in a temporary directory; `stop()` is idempotent and runs at exit."""

    def __init__(self, durable: bool = False) -> None:
        #: durable: fsync and synchronous commits on, as in production (the webhook benchmark);
        #: off by default, since the tests only need the data while the server runs.
        self.durable = durable
        self.bin_dir = find_bin_dir()
        self.as_user: list[str] = []
        self.tmp = Path(tempfile.mkdtemp(prefix="tap-ontraport-pg-"))
        self.data = self.tmp / "data"
        self.log = self.tmp / "server.log"
        self.port = _free_port()
        self.started = False
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            self._run_as_postgres_user()

    def _run_as_postgres_user(self) -> None:
        import pwd

        try:
            entry = pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresUnavailable(
                "running as root, and initdb refuses root: create a `postgres` user "
                "(apt-get install postgresql does) or set E2E_POSTGRES_URL"
            ) from None
        os.chown(self.tmp, entry.pw_uid, entry.pw_gid)
        runuser = shutil.which("runuser")
        if runuser:
            self.as_user = [runuser, "-u", "postgres", "--"]
        else:
            setpriv = shutil.which("setpriv")
            if not setpriv:
                raise PostgresUnavailable("running as root and neither runuser nor setpriv is installed (util-linux)")
            self.as_user = [setpriv, f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--init-groups", "--"]

    def _run(self, *cmd: str | Path, timeout: float = 120) -> None:
        result = subprocess.run([*self.as_user, *map(str, cmd)], capture_output=True, text=True,
                                timeout=timeout, stdin=subprocess.DEVNULL, cwd=self.tmp)
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{Path(str(cmd[0])).name} failed ({result.returncode}): "
                f"{result.stderr.strip() or result.stdout.strip()}"
                + (f"\nserver log:\n{log}" if log else "")
            )

    def start(self) -> Postgres:
        atexit.register(self.stop)
        started = time.monotonic()
        self._run(self.bin_dir / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--locale=C", "--no-sync")
        speed = "" if self.durable else "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
        options = f"-k {self.tmp} -c listen_addresses=127.0.0.1 -p {self.port} {speed}-c max_connections=50"
        self.started = True
        self._run(self.bin_dir / "pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", "-o", options, "start")
        server = Postgres(host="127.0.0.1", port=self.port, user="postgres", password="postgres",
                          database="postgres", psql_path=str(self._psql()))
        # CREATE DATABASE can't share an implicit transaction with other statements: one call.
        server.psql("CREATE DATABASE ontraport_e2e")
        server.database = "ontraport_e2e"
        self.seconds = time.monotonic() - started
        return server

    def _psql(self) -> Path | str:
        local = self.bin_dir / "psql"
        return local if local.exists() else (shutil.which("psql") or local)

    def stop(self) -> None:
        if self.started:
            try:
                self._run(self.bin_dir / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "-t", "30", "stop",
                          timeout=60)
            except Exception as exc:  # noqa: BLE001 - still remove the directory
                print(f"warning: stopping the test PostgreSQL failed: {exc}")
            # Not reached if interrupted: then the atexit call tries again.
            self.started = False
        shutil.rmtree(self.tmp, ignore_errors=True)
