"""Webhooks in the sandbox: subscriptions through the API, deliveries when its data changes.

The API calls are Ontraport's (reference `real-account-evidence.md`, Webhooks):

    POST   /1/Webhook/subscribe     form fields url, event, optional data (a JSON string, {"format": ...})
    DELETE /1/Webhook/unsubscribe   id (query or form)   -> data "Deleted"
    GET    /1/Webhooks              the Webhook object (145), subscriptions included

The data changes that deliver are the methods of `WebhookHub` (`sandbox.webhooks`): each changes
the account and then POSTs to every subscription of the matching event, from a few delivery
threads, form-encoded with PHP bracket keys as Ontraport's support article shows
(`webhook_id=3&object_type_id=0&event[type]=sub_tag&event[tag_id]=4&data[id]=8&...&timestamp=...`).
A subscription's `data` format: all fields (default), `notify` (the record id only),
`lightweight` (id, names, email), or `json` (all fields, as a JSON body).

Not documented by Ontraport, chosen here: a delivery that gets no answer, a 5xx, a 408 or a
429 is sent again (the same bytes) up to `retries` times, backing off; other answers are final.
Which record `data` carries for purchase and transaction events is not documented either: the
sandbox sends the contact, and names the new purchase or transaction in `event`.
Only subscriptions made through the API deliver: the generated Webhook rows are history.
"""

from __future__ import annotations

import json
import queue
import re
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote

from .account import Account

CONTACT = 0
TAG, PRODUCT, PURCHASE, FORM, TRANSACTION, WEBHOOK = 14, 16, 17, 122, 46, 145
EVENT_PATTERN = re.compile(
    r"^(object_create|object_submits_form|sub_tag|unsub_tag|purchase_product|transaction_created_with_product)"
    r"\((\d+)\)$"
)
#: What the number in each event's parentheses is, and the key it is sent under in `event[...]`.
EVENT_ARGUMENT = {
    "object_create": None,  # the object type: sent as object_type_id
    "object_submits_form": "form_id",
    "sub_tag": "tag_id",
    "unsub_tag": "tag_id",
    "purchase_product": "product_id",
    "transaction_created_with_product": "product_id",
}
FORMATS = ("", "notify", "lightweight", "json")
LIGHTWEIGHT_FIELDS = ("id", "firstname", "lastname", "email")
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
SUBSCRIBE_PATH, UNSUBSCRIBE_PATH = "/1/Webhook/subscribe", "/1/Webhook/unsubscribe"
PATHS = (SUBSCRIBE_PATH, UNSUBSCRIBE_PATH)
_TAG_DELIMITER = "*/*"


class WebhookError(Exception):
    """A subscribe or unsubscribe the API refuses: HTTP status and the envelope's message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Subscription:
    id: int
    event: str
    url: str
    format: str = ""


@dataclass
class Delivery:
    """One POST the sandbox made (its last attempt); `status` 0: no answer."""

    subscription_id: int
    event: str
    body: bytes
    content_type: str
    attempts: int = 0
    status: int = 0


@dataclass
class _Pending:
    subscription: Subscription
    body: bytes
    content_type: str
    attempts: int = 0
    done: threading.Event = field(default_factory=threading.Event)


def form_encode(payload: dict[str, Any]) -> bytes:
    """Nested objects as PHP bracket keys (`data[id]=8`), brackets left readable as in the article."""
    pairs: list[tuple[str, str]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}[{key}]" if prefix else str(key), item)
        elif isinstance(value, list):
            for item in value:
                walk(f"{prefix}[]", item)
        else:
            pairs.append((prefix, "" if value is None else str(value)))

    walk("", payload)
    return "&".join(f"{quote(k, safe='[]')}={quote(v, safe='')}" for k, v in pairs).encode()


class WebhookHub:
    def __init__(self, account: Account, delivery_threads: int = 4, retries: int = 6,
                 first_retry_seconds: float = 0.2, timeout: float = 10.0) -> None:
        self.account = account
        self.retries, self.first_retry_seconds, self.timeout = retries, first_retry_seconds, timeout
        self.deliveries: list[Delivery] = []  # every delivery's final outcome, in completion order
        self._subscriptions: dict[int, Subscription] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._unfinished = 0
        self._idle = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._delivery_threads = delivery_threads
        self._threads: list[threading.Thread] = []  # started with the first delivery

    # -- the API -------------------------------------------------------------------------------

    def handle(self, method: str, path: str, params: dict[str, str], body: bytes) -> dict[str, Any]:
        """The envelope's `data` for a subscribe or unsubscribe; WebhookError when refused."""
        fields = {**params, **dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))}
        if path == SUBSCRIBE_PATH:
            if method != "POST":
                raise WebhookError(405, "Method Not Allowed: POST /Webhook/subscribe")
            return self.subscribe(fields.get("event", ""), fields.get("url", ""), fields.get("data", ""))
        if method != "DELETE":
            raise WebhookError(405, "Method Not Allowed: DELETE /Webhook/unsubscribe")
        return self.unsubscribe(fields.get("id", ""))

    def subscribe(self, event: str, url: str, data: str = "") -> dict[str, Any]:
        if not EVENT_PATTERN.match(event):
            raise WebhookError(400, f"Invalid event: {event[:60]!r}")
        if not url.startswith(("http://", "https://")):
            raise WebhookError(400, "Invalid url")
        fmt = self._format(data)
        record_id = self.account.insert(WEBHOOK, {"event": event, "url": url, "data": data,
                                                  "last_hook": "0", "last_code": "", "last_payload": ""})
        with self._lock:
            self._subscriptions[record_id] = Subscription(record_id, event, url, fmt)
        return {"url": url, "event": event, "id": record_id, "owner": "1"}

    @staticmethod
    def _format(data: str) -> str:
        if not data.strip():
            return ""
        try:
            options = json.loads(data)
        except ValueError:
            raise WebhookError(400, "Invalid data: a JSON object such as {\"format\": \"notify\"}") from None
        fmt = options.get("format", "") if isinstance(options, dict) else None
        if fmt not in FORMATS:
            raise WebhookError(400, f"Invalid data format: {fmt!r}")
        return str(fmt)

    def unsubscribe(self, text: str) -> Any:
        try:
            subscription_id = int(text)
        except ValueError:
            raise WebhookError(400, "Invalid request: id is required") from None
        try:
            self.account.delete(WEBHOOK, subscription_id)
        except KeyError:
            raise WebhookError(404, f"Webhook {subscription_id} not found") from None
        with self._lock:
            self._subscriptions.pop(subscription_id, None)
        return "Deleted"

    def subscriptions(self) -> list[Subscription]:
        with self._lock:
            return list(self._subscriptions.values())

    # -- data changes that deliver --------------------------------------------------------------

    def create(self, object_type_id: int, values: dict[str, Any] | None = None) -> int:
        record_id = self.account.insert(object_type_id, values)
        self._fire("object_create", object_type_id, object_type_id, record_id)
        return record_id

    def create_contact(self, values: dict[str, Any] | None = None) -> int:
        return self.create(CONTACT, values)

    def add_tag(self, contact_id: int, tag_id: int) -> None:
        self._set_tag(contact_id, tag_id, present=True)
        self._fire("sub_tag", tag_id, CONTACT, contact_id)

    def remove_tag(self, contact_id: int, tag_id: int) -> None:
        self._set_tag(contact_id, tag_id, present=False)
        self._fire("unsub_tag", tag_id, CONTACT, contact_id)

    def submit_form(self, form_id: int, values: dict[str, Any]) -> int:
        """A form filled in: a new contact with `values` (and its object_create event)."""
        if self.account.get(FORM, form_id) is None:
            raise KeyError(f"Form {form_id} does not exist")
        contact_id = self.create_contact(values)
        self._fire("object_submits_form", form_id, CONTACT, contact_id)
        return contact_id

    def purchase(self, contact_id: int, product_id: int, price: str = "10.00") -> int:
        """The contact buys the product: a Purchase row, then the purchase_product event."""
        self._require(CONTACT, contact_id)
        self._require(PRODUCT, product_id)
        purchase_id = self.account.insert(PURCHASE, {"contact_id": str(contact_id), "product_id": str(product_id),
                                                     "price": price, "quantity": "1"})
        self._fire("purchase_product", product_id, CONTACT, contact_id, purchase_id=purchase_id)
        return purchase_id

    def add_transaction(self, contact_id: int, product_id: int, total: str = "10.00") -> int:
        """A transaction for the product: a Transaction row, then its event."""
        self._require(CONTACT, contact_id)
        self._require(PRODUCT, product_id)
        transaction_id = self.account.insert(TRANSACTION, {"contact_id": str(contact_id), "total": total,
                                                           "subtotal": total, "status": "1"})
        self._fire("transaction_created_with_product", product_id, CONTACT, contact_id,
                   transaction_id=transaction_id)
        return transaction_id

    def _require(self, object_type_id: int, record_id: int) -> None:
        if self.account.get(object_type_id, record_id) is None:
            raise KeyError(f"{self.account.meta_name(object_type_id)} {record_id} does not exist")

    def _set_tag(self, contact_id: int, tag_id: int, *, present: bool) -> None:
        self._require(TAG, tag_id)
        contact = self.account.get(CONTACT, contact_id)
        if contact is None:
            raise KeyError(f"Contact {contact_id} does not exist")
        tags = [t for t in str(contact.get("contact_cat") or "").split(_TAG_DELIMITER) if t]
        tags = [t for t in tags if t != str(tag_id)] + ([str(tag_id)] if present else [])
        joined = _TAG_DELIMITER + _TAG_DELIMITER.join(tags) + _TAG_DELIMITER if tags else ""
        self.account.update(CONTACT, contact_id, {"contact_cat": joined})

    def _fire(self, event_type: str, argument: int, object_type_id: int, record_id: int, **extra: int) -> None:
        event_name = f"{event_type}({argument})"
        matching = [s for s in self.subscriptions() if s.event == event_name]
        if not matching:
            return
        record = self.account.get(object_type_id, record_id) or {"id": str(record_id)}
        timestamp = int(time.time())
        event: dict[str, Any] = {"type": event_type}
        argument_key = EVENT_ARGUMENT[event_type]
        if argument_key:
            event[argument_key] = str(argument)
        event.update({key: str(value) for key, value in extra.items()})
        for subscription in matching:
            payload = {"webhook_id": str(subscription.id), "object_type_id": str(object_type_id), "event": event,
                       "data": _shaped(record, subscription.format), "timestamp": str(timestamp)}
            if subscription.format == "json":
                self._enqueue(_Pending(subscription, json.dumps(payload).encode(), "application/json"))
            else:
                self._enqueue(_Pending(subscription, form_encode(payload), "application/x-www-form-urlencoded"))

    # -- delivering -------------------------------------------------------------------------------

    def _enqueue(self, pending: _Pending) -> None:
        with self._lock:
            self._unfinished += 1
            if not self._threads:
                self._stopping.clear()
                self._threads = [threading.Thread(target=self._deliver_loop, name=f"sandbox-webhooks-{n}",
                                                  daemon=True) for n in range(self._delivery_threads)]
                for thread in self._threads:
                    thread.start()
        self._queue.put(pending)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until every delivery so far got its final answer (or gave up); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._unfinished:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def stop(self) -> None:
        """End the delivery threads; deliveries still queued are dropped."""
        self._stopping.set()
        with self._lock:
            threads, self._threads = self._threads, []
        for _ in threads:
            self._queue.put(None)
        for thread in threads:
            thread.join(timeout=5)

    def _deliver_loop(self) -> None:
        while True:
            pending = self._queue.get()
            if pending is None:
                return
            status = self._post(pending)
            while status in RETRY_STATUSES | {0} and pending.attempts <= self.retries:
                backoff = min(self.first_retry_seconds * 2 ** (pending.attempts - 1), 5.0)
                if self._stopping.wait(backoff):
                    break
                status = self._post(pending)
            self._finish(pending, status)

    def _post(self, pending: _Pending) -> int:
        pending.attempts += 1
        request = urllib.request.Request(pending.subscription.url, data=pending.body, method="POST",
                                         headers={"Content-Type": pending.content_type, "User-Agent": "Ontraport"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                answer.read()
                return int(answer.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except (OSError, ValueError):  # refused, reset, timed out: no answer
            return 0

    def _finish(self, pending: _Pending, status: int) -> None:
        subscription = pending.subscription
        delivery = Delivery(subscription.id, subscription.event, pending.body, pending.content_type,
                            pending.attempts, status)
        try:
            self.account.update(WEBHOOK, subscription.id, {"last_hook": str(int(time.time())),
                                                           "last_code": str(status),
                                                           "last_payload": pending.body[:2000].decode()})
        except KeyError:
            pass  # unsubscribed meanwhile
        with self._idle:
            self.deliveries.append(delivery)
            self._unfinished -= 1
            self._idle.notify_all()


def _shaped(record: dict[str, Any], fmt: str) -> dict[str, Any]:
    if fmt == "notify":
        return {"id": record.get("id")}
    if fmt == "lightweight":
        return {name: record.get(name) for name in LIGHTWEIGHT_FIELDS if name in record}
    return record
