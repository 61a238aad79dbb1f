"""Where deliveries are kept: an SQLite file (the default) or a PostgreSQL table, one schema.

Only the standard library is imported here (psycopg when a PostgreSQL store is opened), so the
tap can read a store without the receiver's web server installed.

Sequence numbers follow commit order: SQLite writers take the database's write lock before a
number is given, and a receiver writes through one connection (see `GroupCommitter`). Two
receivers writing one PostgreSQL table could commit numbers out of order, and a reader that
had passed a gap would skip the late one: run one receiver per PostgreSQL store.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from ontraport_webhooks.parse import Columns

TABLE = "ontraport_webhook_events"
#: The parsed columns, in `Columns` order; the same names in the store, the stream and the docs.
PARSED_COLUMNS = ("event_type", "webhook_id", "object_type_id", "record_id", "tag_id", "form_id",
                  "product_id", "event_timestamp")
#: What a reader gets for each event, in this order.
EVENT_COLUMNS = ("seq", "received_at", *PARSED_COLUMNS, "content_type", "body", "raw_body")

_SQLITE_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at TEXT NOT NULL,
    event_type TEXT, webhook_id INTEGER, object_type_id INTEGER, record_id INTEGER,
    tag_id INTEGER, form_id INTEGER, product_id INTEGER, event_timestamp INTEGER,
    content_type TEXT NOT NULL, body TEXT NOT NULL, raw_body TEXT NOT NULL,
    dedup_key TEXT UNIQUE
)"""
_POSTGRES_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at TIMESTAMPTZ NOT NULL,
    event_type TEXT, webhook_id BIGINT, object_type_id BIGINT, record_id BIGINT,
    tag_id BIGINT, form_id BIGINT, product_id BIGINT, event_timestamp BIGINT,
    content_type TEXT NOT NULL, body JSONB NOT NULL, raw_body TEXT NOT NULL,
    dedup_key TEXT UNIQUE
)"""
_INSERT_NAMES = ("received_at", *PARSED_COLUMNS, "content_type", "body", "raw_body", "dedup_key")


class StoreError(Exception):
    """The store can't be opened or written; the message says which store and why (never a password)."""


@dataclass(frozen=True)
class Event:
    """One accepted delivery, ready to insert."""

    received_at: datetime
    columns: Columns
    content_type: str
    body: dict[str, Any]
    raw_body: str

    @property
    def dedup_key(self) -> str | None:
        """A repeat is a byte-identical body that carries Ontraport's `timestamp`.

        Ontraport builds each delivery once, its `timestamp` the second the event happened, so a
        repeated delivery has the same bytes. A body without a timestamp is never taken for a repeat:
        nothing in it tells two events apart from one sent twice.
        """
        if self.columns.event_timestamp is None:
            return None
        return hashlib.sha256(self.raw_body.encode("utf-8")).hexdigest()

    def row(self) -> tuple[Any, ...]:
        parsed = (getattr(self.columns, name) for name in PARSED_COLUMNS)
        return (self.received_at.isoformat(), *parsed, self.content_type,
                json.dumps(self.body, ensure_ascii=False), self.raw_body, self.dedup_key)


@dataclass(frozen=True)
class Stored:
    """The outcome of one insert: its sequence number, and whether it repeated a stored event."""

    seq: int
    duplicate: bool


class Store(Protocol):
    description: str

    def insert_batch(self, events: Sequence[Event]) -> list[Stored]:
        """All of `events` in one transaction, committed (durable) before this returns."""

    def read_after(self, seq: int, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` events with a sequence number above `seq`, in order."""

    def close(self) -> None: ...


def is_postgres(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))


def open_store(location: str, *, create: bool = True) -> Store:
    """The store at `location`: a PostgreSQL URL, or an SQLite path (optionally `sqlite:///...`)."""
    if is_postgres(location):
        return PostgresStore(location, create=create)
    path = location.removeprefix("sqlite://") if location.startswith("sqlite:///") else location
    return SqliteStore(Path(path), create=create)


def _row_dict(row: Sequence[Any]) -> dict[str, Any]:
    event = dict(zip(EVENT_COLUMNS, row))
    if isinstance(event["body"], str):
        event["body"] = json.loads(event["body"])
    if isinstance(event["received_at"], datetime):
        event["received_at"] = event["received_at"].astimezone(timezone.utc).isoformat()
    return event


def _statements(marker: str) -> tuple[str, str, str]:
    """The insert, the look-up of a repeat and the read, in a driver's parameter style (? or %s)."""
    values = ", ".join([marker] * len(_INSERT_NAMES))
    insert = (f"INSERT INTO {TABLE} ({', '.join(_INSERT_NAMES)}) VALUES ({values}) "
              "ON CONFLICT (dedup_key) DO NOTHING RETURNING seq")
    repeat = f"SELECT seq FROM {TABLE} WHERE dedup_key = {marker}"
    read = f"SELECT {', '.join(EVENT_COLUMNS)} FROM {TABLE} WHERE seq > {marker} ORDER BY seq LIMIT {marker}"
    return insert, repeat, read


def _store_one(db: Any, statements: tuple[str, str, str], event: Event) -> Stored:
    """Insert `event` in the open transaction, or find the stored repeat of it."""
    insert, repeat, _ = statements
    returned = db.execute(insert, event.row()).fetchone()
    if returned is not None:
        return Stored(int(returned[0]), duplicate=False)
    existing = db.execute(repeat, (event.dedup_key,)).fetchone()
    assert existing is not None  # the insert was refused for this key alone
    return Stored(int(existing[0]), duplicate=True)


class SqliteStore:
    """An SQLite file in WAL mode with synchronous=FULL: a commit is on disk when it returns."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.description = f"SQLite store {str(path)!r}"
        if not create and not path.exists():
            raise StoreError(f"{self.description} does not exist (has the receiver run yet?)")
        try:
            # check_same_thread off: the group committer writes from its own thread, one at a time.
            self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            if create:
                self._db.execute(_SQLITE_SCHEMA)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.description} could not be opened: {exc}") from None
        self._lock = threading.Lock()
        self._statements = _statements("?")

    def insert_batch(self, events: Sequence[Event]) -> list[Stored]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                stored = [_store_one(self._db, self._statements, event) for event in events]
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return stored

    def read_after(self, seq: int, limit: int) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(self._statements[2], (seq, limit)).fetchall()
        return [_row_dict(row) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()


class PostgresStore:
    """A PostgreSQL table; psycopg (the `[webhooks]` extra) is needed only for this store."""

    def __init__(self, url: str, *, create: bool = True) -> None:
        self.description = "PostgreSQL store " + _without_password(url)
        try:
            import psycopg
        except ImportError:
            raise StoreError(f"{self.description} needs psycopg: pip install 'tap-ontraport[webhooks]'") from None
        self._psycopg = psycopg
        self._url = url
        try:
            self._db = psycopg.connect(url, autocommit=False)
            if create:
                with self._db.transaction():
                    self._db.execute(_POSTGRES_SCHEMA)
            self._db.commit()
        except psycopg.Error as exc:
            raise StoreError(f"{self.description} could not be opened: {str(exc).strip().splitlines()[0]}") from None
        self._lock = threading.Lock()
        self._statements = _statements("%s")

    def insert_batch(self, events: Sequence[Event]) -> list[Stored]:
        with self._lock:
            try:
                if self._db.broken or self._db.closed:  # the server restarted: a new connection
                    self._db = self._psycopg.connect(self._url, autocommit=False)
                with self._db.transaction():
                    stored = [_store_one(self._db, self._statements, event) for event in events]
                self._db.commit()
            except self._psycopg.Error as exc:
                if not (self._db.broken or self._db.closed):
                    self._db.rollback()
                raise StoreError(f"{self.description}: {str(exc).strip().splitlines()[0]}") from None
            return stored

    def read_after(self, seq: int, limit: int) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(self._statements[2], (seq, limit)).fetchall()
            self._db.commit()  # end the read's transaction: the next read sees newer commits
        return [_row_dict(row) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _without_password(url: str) -> str:
    """The URL as it may be printed: `postgresql://user:***@host/db`."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    return f"{scheme}{sep}{credentials.split(':', 1)[0]}:***@{host}"
