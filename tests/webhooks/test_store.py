"""The SQLite store: durable settings, sequence order, repeats, reading after a sequence number."""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timezone

import pytest

from ontraport_webhooks.commit import GroupCommitter
from ontraport_webhooks.parse import columns, parse_body
from ontraport_webhooks.store import Event, StoreError, _without_password, open_store
from tests.webhooks.conftest import FORM_BODY


def event(raw: str = FORM_BODY) -> Event:
    body = parse_body(raw.encode(), "")
    return Event(datetime.now(timezone.utc), columns(body), "application/x-www-form-urlencoded", body, raw)


def test_sqlite_is_wal_and_synchronous_full(tmp_path):
    store = open_store(str(tmp_path / "e.sqlite"))
    db = store._db  # type: ignore[attr-defined]
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    store.close()


def test_repeats_keep_the_first_and_sequence_follows_arrival(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'e.sqlite'}")
    other = FORM_BODY.replace("timestamp=1514940140", "timestamp=1514940141")
    results = store.insert_batch([event(), event(), event(other)])
    first, repeat, second = results
    assert (first.duplicate, repeat.duplicate, second.duplicate) == (False, True, False)
    assert repeat.seq == first.seq < second.seq  # numbers rise; a refused repeat may leave a gap
    assert store.insert_batch([event()])[0] == repeat  # a later batch too
    rows = store.read_after(0, 10)
    assert [row["seq"] for row in rows] == [first.seq, second.seq]
    assert rows[0]["body"]["data"] == {"id": "8", "firstname": "Mary", "lastname": "Smith"}
    assert rows[0]["raw_body"] == FORM_BODY and rows[0]["tag_id"] == 4 and rows[0]["event_type"] == "sub_tag"
    assert [row["seq"] for row in store.read_after(first.seq, 10)] == [second.seq]
    assert store.read_after(second.seq, 10) == []
    assert len(store.read_after(0, 1)) == 1


def test_bodies_without_a_timestamp_are_never_taken_for_repeats(tmp_path):
    store = open_store(str(tmp_path / "e.sqlite"))
    notify = "webhook_id=3&event[type]=sub_tag&data[id]=8"
    results = store.insert_batch([event(notify), event(notify)])
    assert [r.duplicate for r in results] == [False, False] and results[0].seq != results[1].seq


def test_a_reader_needs_an_existing_store(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        open_store(str(tmp_path / "missing.sqlite"), create=False)


def test_a_failed_batch_stores_nothing_and_fails_every_request(tmp_path):
    store = open_store(str(tmp_path / "e.sqlite"))
    store._db.execute("CREATE TRIGGER no BEFORE INSERT ON ontraport_webhook_events "  # type: ignore[attr-defined]
                      "WHEN NEW.record_id = 99 BEGIN SELECT RAISE(ABORT, 'refused'); END")
    committer = GroupCommitter(store)
    committer.max_batch = 10
    bad = FORM_BODY.replace("data[id]=8", "data[id]=99")
    futures = [committer.submit(event(bad))]
    for future in futures:
        with pytest.raises(sqlite3.Error):
            future.result(10)
    assert committer.submit(event()).result(10).seq >= 1  # the writer goes on
    committer.close()
    assert [row["record_id"] for row in store.read_after(0, 10)] == [8]
    assert committer.stats.snapshot()["failed_commits"] == 1


def test_concurrent_submissions_share_commits(tmp_path):
    store = open_store(str(tmp_path / "e.sqlite"))
    committer = GroupCommitter(store)
    results = []

    def send(worker: int) -> None:
        for n in range(50):
            raw = FORM_BODY.replace("timestamp=1514940140", f"timestamp={worker * 1000 + n}")
            results.append(committer.submit(event(raw)).result(30))

    threads = [threading.Thread(target=send, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    committer.close()
    stats = committer.stats.snapshot()
    assert stats["events_committed"] == 400 == len({r.seq for r in results})
    assert stats["commits"] < 400 and stats["largest_batch"] > 1  # several events per transaction


def test_printed_postgres_urls_hide_the_password():
    assert _without_password("postgresql://app:s3cret@db:5432/events") == "postgresql://app:***@db:5432/events"
    assert _without_password("postgresql://db/events") == "postgresql://db/events"
