"""The `webhook_events` stream: what Ontraport pushed, read from the webhook receiver's store.

Polling shows the account as it is; these events are its history (a tag added then removed,
which form a contact filled in and when). The stream exists only when `webhook_store` is set.
It reads the store in sequence order, `seq` its bookmark, so a run picks up after the last event
the previous run's state holds: at least once, and exactly once while that state is kept.
"""

from __future__ import annotations

import typing as t
from datetime import datetime, timezone

from singer_sdk import Stream

from ontraport_webhooks.store import PARSED_COLUMNS, StoreError, open_store
from tap_ontraport.errors import SettingsError

STREAM_NAME = "webhook_events"
#: Rows read from the store per query.
PAGE_SIZE = 1_000

_INTEGER = {"type": ["integer", "null"]}
_TIME = {"type": ["string", "null"], "format": "date-time"}
SCHEMA: dict[str, t.Any] = {
    "type": "object",
    "properties": {
        "seq": {"type": "integer"},
        "received_at": {"type": "string", "format": "date-time"},
        "event_type": {"type": ["string", "null"]},
        **{name: _INTEGER for name in PARSED_COLUMNS if name not in ("event_type", "event_timestamp")},
        "event_timestamp": _TIME,  # Ontraport's `timestamp` (Unix seconds) as a time
        "content_type": {"type": ["string", "null"]},
        "body": {"type": "object", "additionalProperties": True},  # the delivery as a nested object
        "raw_body": {"type": "string"},  # the bytes as received (UTF-8)
    },
    "required": ["seq", "received_at", "body", "raw_body"],
}


class WebhookEventsStream(Stream):
    name = STREAM_NAME
    primary_keys = ("seq",)
    replication_key = "seq"
    is_sorted = True  # the store hands events out in sequence order: the bookmark moves page by page
    schema = SCHEMA

    def get_records(self, context: dict | None) -> t.Iterable[dict[str, t.Any]]:  # type: ignore[override]
        location = str(self.config["webhook_store"])
        after = int(self.get_starting_replication_key_value(context) or 0)
        try:
            store = open_store(location, create=False)
        except StoreError as exc:
            raise SettingsError(f"`webhook_store`: {exc}") from None
        try:
            while True:
                page = store.read_after(after, PAGE_SIZE)
                for event in page:
                    yield _record(event)
                    self._tap.records_by_stream[self.name] += 1  # type: ignore[attr-defined]
                if len(page) < PAGE_SIZE:
                    return
                after = int(page[-1]["seq"])
        finally:
            store.close()


def _record(event: dict[str, t.Any]) -> dict[str, t.Any]:
    record = dict(event)
    stamp = record.get("event_timestamp")
    record["event_timestamp"] = (datetime.fromtimestamp(stamp, timezone.utc).isoformat()
                                 if isinstance(stamp, int) and 0 < stamp < 253_402_300_800 else None)
    return record
