"""The receiver over real sockets: what is stored, what is refused, and that serving goes on."""

from __future__ import annotations

import json
import logging
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from ontraport_webhooks.receiver import COUNTERS, Receiver, ReceiverSettings
from ontraport_webhooks.store import open_store
from tests.webhooks.conftest import FORM_BODY, TOKEN

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def post(url: str, body: bytes | str, headers: dict | None = None) -> requests.Response:
    return requests.post(url, data=body, headers=headers if headers is not None else FORM, timeout=30)


def test_a_delivery_is_stored_then_acknowledged_and_a_repeat_is_not_stored_again(make_receiver):
    running = make_receiver()
    first = post(running.hook(), FORM_BODY)
    assert first.status_code == 200 and first.json()["duplicate"] is False
    stored = running.stored()  # already committed when the 200 arrived
    assert len(stored) == 1 and stored[0]["seq"] == first.json()["seq"]
    assert stored[0]["event_type"] == "sub_tag" and stored[0]["record_id"] == 8 and stored[0]["tag_id"] == 4
    again = post(running.hook(), FORM_BODY)
    assert again.status_code == 200 and again.json() == {"seq": first.json()["seq"], "duplicate": True}
    assert len(running.stored()) == 1
    health = running.health()
    assert (health["stored"], health["duplicates"]) == (1, 1)


def test_json_bodies_are_stored_as_the_same_object(make_receiver):
    running = make_receiver()
    body = {"webhook_id": 4, "object_type_id": 0, "event": {"type": "object_create"}, "data": {"id": 21}, "timestamp": 7}
    assert post(running.hook(), json.dumps(body), {"Content-Type": "application/json"}).status_code == 200
    [row] = running.stored()
    assert row["body"] == body and row["event_type"] == "object_create" and row["record_id"] == 21


@pytest.mark.parametrize("token", ["wrong-token-0123456789abcdef", TOKEN[:-1], TOKEN + "x", "x"])
def test_unknown_tokens_get_404_and_nothing_is_stored(make_receiver, token):
    running = make_receiver()
    assert post(running.hook(token), FORM_BODY).status_code == 404
    assert running.stored() == [] and running.health()["unknown_token"] == 1


def test_garbage_is_400_counted_and_serving_goes_on(make_receiver):
    running = make_receiver()
    for body in (b"\xff\xfe\x00", b"no equals sign here", b"{broken", b""):
        answer = post(running.hook(), body, {"Content-Type": "application/x-www-form-urlencoded"})
        assert answer.status_code == 400, body
    assert running.health()["malformed"] == 4 and running.stored() == []
    assert post(running.hook(), FORM_BODY).status_code == 200


def test_bodies_over_the_limit_are_413_whether_announced_or_chunked(make_receiver):
    running = make_receiver(max_body_bytes=1000)
    big = "data[note]=" + "x" * 2000
    assert post(running.hook(), big).status_code == 413
    assert post(running.hook(), iter([big.encode()[:800], big.encode()[800:]])).status_code == 413  # chunked
    assert running.health()["too_large"] == 2 and running.stored() == []
    assert post(running.hook(), FORM_BODY).status_code == 200


def test_a_slow_client_is_timed_out_and_others_are_served_meanwhile(make_receiver):
    running = make_receiver(body_timeout=0.5)
    host, port = running.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as slow:
        slow.sendall(f"POST /hooks/{TOKEN} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
                     f"\r\nContent-Length: {len(FORM_BODY)}\r\n\r\n{FORM_BODY[:10]}".encode())
        started = time.monotonic()
        assert post(running.hook(), FORM_BODY).status_code == 200  # not held up by the slow one
        answer = slow.recv(1000).decode()
        assert answer.startswith("HTTP/1.1 408") and time.monotonic() - started < 5
    assert running.health()["timed_out"] == 1 and len(running.stored()) == 1


def test_concurrent_deliveries_all_stored_in_fewer_commits(make_receiver):
    running = make_receiver()
    bodies = [FORM_BODY.replace("timestamp=1514940140", f"timestamp={n}") for n in range(200)]
    with requests.Session() as session, ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda b: session.post(running.hook(), data=b, headers=FORM, timeout=30), bodies))
    assert [a.status_code for a in answers] == [200] * 200
    seqs = sorted(a.json()["seq"] for a in answers)
    assert seqs == [row["seq"] for row in running.stored()]
    health = running.health()
    assert health["events_committed"] == 200 and health["commits"] <= 200


def test_health_lists_every_counter_and_no_secret(make_receiver):
    running = make_receiver()
    health = running.health()
    assert set(COUNTERS) <= set(health) and health["status"] == "ok"
    assert TOKEN not in json.dumps(health)


def test_the_token_never_reaches_the_log(make_receiver, caplog):
    running = make_receiver()
    with caplog.at_level(logging.DEBUG):
        post(running.hook(), FORM_BODY)
        post(running.hook(), b"garbage")
        post(running.hook(TOKEN + "zz"), FORM_BODY)
    # the server side's loggers (the test's own HTTP client logs the URLs it calls)
    server_side = [r for r in caplog.records if r.name.startswith(("ontraport-webhooks", "aiohttp"))]
    assert len(server_side) >= 2 and all(TOKEN not in record.getMessage() for record in server_side)


def test_short_or_no_tokens_are_refused(tmp_path):
    store = open_store(str(tmp_path / "e.sqlite"))
    for tokens in ((), ("short",)):
        with pytest.raises(ValueError, match="16 characters"):
            Receiver(store, ReceiverSettings(tokens=tokens))
