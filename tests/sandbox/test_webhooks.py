"""The sandbox's webhooks: subscriptions through the API, a delivery per matching data change."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest
import requests

from ontraport_sandbox import Sandbox
from ontraport_sandbox.webhooks import form_encode

from .conftest import API_KEY, APP_ID


class Catcher:
    """A tiny HTTP server that records what is POSTed to it and answers `status` (a list: one per call)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.bodies: list[tuple[str, bytes]] = []
        self.statuses = list(statuses or [])
        catcher = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = catcher.statuses.pop(0) if catcher.statuses else 200
                if status == 200:
                    catcher.bodies.append((self.headers["Content-Type"], body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/t"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def catcher():
    made = Catcher()
    yield made
    made.close()


def api(sandbox: Sandbox, method: str, path: str, **kwargs) -> requests.Response:
    headers = {"Api-Appid": APP_ID, "Api-Key": API_KEY}
    return requests.request(method, sandbox.url + path, headers=headers, timeout=30, **kwargs)


def subscribe(sandbox: Sandbox, event: str, url: str, data: str | None = None) -> int:
    form = {"url": url, "event": event, **({"data": data} if data else {})}
    answer = api(sandbox, "POST", "/Webhook/subscribe", data=form)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["data"]["id"])


def form_bodies(catcher: Catcher) -> list[dict[str, str]]:
    return [dict(parse_qsl(body.decode())) for _, body in catcher.bodies]


def test_subscribe_list_unsubscribe_through_the_api(sandbox, catcher):
    answer = api(sandbox, "POST", "/Webhook/subscribe", data={"url": catcher.url, "event": "sub_tag(4)"})
    data = answer.json()["data"]
    assert answer.status_code == 200 and data["event"] == "sub_tag(4)" and data["url"] == catcher.url
    listed = api(sandbox, "GET", "/Webhooks", params={"range": 50}).json()["data"]
    assert [row["event"] for row in listed if int(row["id"]) == data["id"]] == ["sub_tag(4)"]
    gone = api(sandbox, "DELETE", "/Webhook/unsubscribe", params={"id": data["id"]})
    assert gone.status_code == 200 and gone.json()["data"] == "Deleted"
    assert api(sandbox, "DELETE", "/Webhook/unsubscribe", params={"id": data["id"]}).status_code == 404
    sandbox.webhooks.add_tag(sandbox.account.ids(0)[0], 4)
    assert sandbox.webhooks.wait_idle() and catcher.bodies == []  # unsubscribed: nothing sent


@pytest.mark.parametrize("form, reason", [
    ({"url": "http://x/hooks/t", "event": "tag_added(4)"}, "Invalid event"),
    ({"url": "ftp://x", "event": "sub_tag(4)"}, "Invalid url"),
    ({"url": "http://x/hooks/t", "event": "sub_tag(4)", "data": '{"format": "xml"}'}, "format"),
])
def test_bad_subscriptions_are_refused(sandbox, form, reason):
    answer = api(sandbox, "POST", "/Webhook/subscribe", data=form)
    assert answer.status_code == 400 and reason in answer.json()["data"]
    assert api(sandbox, "GET", "/Webhook/subscribe").status_code == 405


def test_subscriptions_need_the_credentials(sandbox, catcher):
    answer = requests.post(sandbox.url + "/Webhook/subscribe", data={"url": catcher.url, "event": "sub_tag(4)"},
                           timeout=30)
    assert answer.status_code == 401 and sandbox.webhooks.subscriptions() == []


def test_each_data_change_delivers_to_its_subscriptions_in_ontraports_format(sandbox, catcher):
    hub, account = sandbox.webhooks, sandbox.account
    contact, tag, form, product = account.ids(0)[5], account.ids(14)[3], account.ids(122)[1], account.ids(16)[2]
    events = ["object_create(0)", f"sub_tag({tag})", f"unsub_tag({tag})", f"object_submits_form({form})",
              f"purchase_product({product})", f"transaction_created_with_product({product})"]
    ids = {event: subscribe(sandbox, event, catcher.url) for event in events}
    subscribe(sandbox, "sub_tag(999)", catcher.url)  # never matches
    created = hub.create_contact({"firstname": "Ada", "email": "ada@example.com"})
    hub.add_tag(contact, tag)
    assert f"*/*{tag}*/*" in account.get(0, contact)["contact_cat"]
    hub.remove_tag(contact, tag)
    assert f"*/*{tag}*/*" not in (account.get(0, contact)["contact_cat"] or "")
    submitted = hub.submit_form(form, {"firstname": "Grace"})
    purchase = hub.purchase(contact, product)
    transaction = hub.add_transaction(contact, product)
    assert hub.wait_idle()
    bodies = form_bodies(catcher)
    by_type = {}
    for body in bodies:
        by_type.setdefault(body["event[type]"], []).append(body)
    assert sorted(by_type) == sorted(["object_create", "sub_tag", "unsub_tag", "object_submits_form",
                                      "purchase_product", "transaction_created_with_product"])
    assert len(by_type["object_create"]) == 2  # the new contact, and the form's contact
    assert {b["data[id]"] for b in by_type["object_create"]} == {str(created), str(submitted)}
    tagged = by_type["sub_tag"][0]
    assert (tagged["webhook_id"], tagged["object_type_id"], tagged["event[tag_id]"], tagged["data[id]"]) == (
        str(ids[f"sub_tag({tag})"]), "0", str(tag), str(contact))
    assert tagged["data[firstname]"] == account.get(0, contact)["firstname"] and int(tagged["timestamp"]) > 0
    assert by_type["object_submits_form"][0]["event[form_id]"] == str(form)
    assert by_type["purchase_product"][0]["event[purchase_id]"] == str(purchase)
    assert account.get(17, purchase)["product_id"] == str(product)
    assert by_type["transaction_created_with_product"][0]["event[transaction_id]"] == str(transaction)
    assert all(content_type == "application/x-www-form-urlencoded" for content_type, _ in catcher.bodies)
    assert len(bodies) == 7
    last = api(sandbox, "GET", "/Webhook", params={"id": ids[f"sub_tag({tag})"]}).json()["data"]
    assert last["last_code"] == "200" and "event[type]=sub_tag" in last["last_payload"]


def test_notify_lightweight_and_json_formats(sandbox, catcher):
    tag, contact = sandbox.account.ids(14)[0], sandbox.account.ids(0)[0]
    for fmt in ("notify", "lightweight", "json"):
        subscribe(sandbox, f"sub_tag({tag})", catcher.url, json.dumps({"format": fmt}))
    sandbox.webhooks.add_tag(contact, tag)
    assert sandbox.webhooks.wait_idle()
    by_type = {content_type: body for content_type, body in catcher.bodies}
    payload = json.loads(by_type.pop("application/json"))
    assert payload["event"] == {"type": "sub_tag", "tag_id": str(tag)} and payload["data"]["id"] == str(contact)
    assert len(payload["data"]) > 50  # every field
    forms = sorted((dict(parse_qsl(body.decode())) for _, body in catcher.bodies if not body.startswith(b"{")),
                   key=len)
    notify, lightweight = forms
    assert {k for k in notify if k.startswith("data[")} == {"data[id]"}
    assert {k for k in lightweight if k.startswith("data[")} == {"data[id]", "data[firstname]", "data[lastname]",
                                                                 "data[email]"}


def test_deliveries_are_sent_again_after_no_answer_or_a_5xx(sandbox):
    flaky = Catcher(statuses=[503, 500])
    try:
        sandbox.webhooks.first_retry_seconds = 0.01
        subscribe(sandbox, "object_create(0)", flaky.url)
        sandbox.webhooks.create_contact({"firstname": "Retry"})
        assert sandbox.webhooks.wait_idle()
        [delivery] = sandbox.webhooks.deliveries
        assert (delivery.attempts, delivery.status) == (3, 200) and len(flaky.bodies) == 1
    finally:
        flaky.close()


def test_a_4xx_is_final(sandbox):
    refusing = Catcher(statuses=[404])
    try:
        subscribe(sandbox, "object_create(0)", refusing.url)
        sandbox.webhooks.create_contact()
        assert sandbox.webhooks.wait_idle()
        assert [(d.attempts, d.status) for d in sandbox.webhooks.deliveries] == [(1, 404)]
    finally:
        refusing.close()


def test_form_encoding_is_php_brackets():
    assert form_encode({"a": "1", "event": {"type": "sub_tag"}, "l": ["x", "y"], "n": None, "s": "a b&c"}) == (
        b"a=1&event[type]=sub_tag&l[]=x&l[]=y&n=&s=a%20b%26c")


def test_data_changes_of_missing_records_are_refused(sandbox):
    with pytest.raises(KeyError):
        sandbox.webhooks.add_tag(10**9, 1)
    with pytest.raises(KeyError):
        sandbox.webhooks.purchase(sandbox.account.ids(0)[0], 10**9)
    with pytest.raises(KeyError):
        sandbox.webhooks.submit_form(10**9, {})
