"""Injected faults: every kind, and when they fire."""

from __future__ import annotations

import json
import socket
import time

import pytest
import requests

from ontraport_sandbox import Fault, Sandbox

from .conftest import Client


def _faulted(kind: str, **options):
    return Sandbox(rate_limit=180, faults=[Fault(kind, at=[1], **options)])


@pytest.mark.parametrize("kind,status,marker", [
    ("500", 500, "Internal Server Error"),
    ("502", 502, "502 Bad Gateway"),
    ("503", 503, "503 Service Temporarily Unavailable"),
    ("504", 504, "504 Gateway Time-out"),
])
def test_server_errors(kind, status, marker):
    with _faulted(kind) as sb:
        client = Client(sb)
        response = client.get("/Contacts")
        assert response.status_code == status
        assert marker in response.text and "<html" in response.text.lower()
        assert client.get("/Contacts").status_code == 200  # only request 1
        assert sb.counters.faults == {kind: 1}


def test_injected_429_carries_rate_limit_headers_and_is_not_counted():
    with _faulted("429", reset_seconds=3) as sb:
        client = Client(sb)
        response = client.get("/Contacts")
        assert response.status_code == 429
        assert response.headers["x-rate-limit-remaining"] == "0"
        assert response.headers["x-rate-limit-reset"] == "3"
        assert response.headers["x-rate-limit-limit"] == "180"
        ok = client.get("/Contacts")
        assert ok.headers["x-rate-limit-remaining"] == "179"  # the injected one did not count
        assert sb.counters.rate_limited == 0 and sb.counters.faults["429"] == 1


def test_429_burst():
    with Sandbox(rate_limit=0, faults=[Fault("429", at=range(3, 6))]) as sb:
        client = Client(sb)
        statuses = [client.get("/Contacts/getInfo").status_code for _ in range(7)]
        assert statuses == [200, 200, 429, 429, 429, 200, 200]


def test_reset_closes_the_connection_with_an_rst():
    with _faulted("reset") as sb:
        with socket.create_connection((sb.host, sb.port), timeout=5) as raw:
            raw.sendall(b"GET /1/Contacts HTTP/1.1\r\nHost: x\r\nApi-Appid: sandbox\r\nApi-Key: sandbox\r\n\r\n")
            with pytest.raises(ConnectionResetError):
                if raw.recv(1024) == b"":  # some stacks report the RST on the next call
                    raw.recv(1024)
        assert Client(sb).get("/Contacts").status_code == 200
        assert sb.counters.faults == {"reset": 1}
        assert sb.counters.log[0].status == 0


def test_reset_through_requests_is_a_connection_error():
    with _faulted("reset") as sb:
        with pytest.raises(requests.ConnectionError):
            Client(sb).get("/Contacts")


def test_hang_holds_the_request_and_stop_does_not_wait_for_it():
    sb = _faulted("hang", hang_seconds=60).start()
    client = Client(sb)
    with pytest.raises(requests.Timeout):
        client.session.get(sb.url + "/Contacts", timeout=0.5)
    started = time.monotonic()
    sb.stop()
    assert time.monotonic() - started < 3


def test_short_hang_then_a_normal_answer():
    with _faulted("hang", hang_seconds=0.3) as sb:
        started = time.monotonic()
        response = Client(sb).get("/Contacts", range=2)
        assert response.status_code == 200 and len(response.json()["data"]) == 2
        assert time.monotonic() - started >= 0.3


def test_truncated_body_is_half_the_real_one():
    with Sandbox(rate_limit=0, faults=[Fault("truncated", at=[1])]) as sb:
        client = Client(sb)
        cut = client.get("/Contacts", sort="id", range=10)
        full = client.get("/Contacts", sort="id", range=10)
        assert cut.status_code == 200
        assert int(cut.headers["Content-Length"]) == len(cut.content) == len(full.content) // 2
        assert cut.content == full.content[: len(full.content) // 2]
        with pytest.raises(ValueError):
            json.loads(cut.content)


def test_html_maintenance_page_with_200():
    with _faulted("html") as sb:
        response = Client(sb).get("/Contacts")
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/html")
        with pytest.raises(ValueError):
            response.json()


def test_busy_envelope():
    with _faulted("busy") as sb:
        body = Client(sb).get("/Contacts").json()
        assert body == {"code": 1, "data": "The server is temporarily busy. Please try again.",
                        "account_id": sb.account.account_id}


def test_every_count_and_path():
    faults = [Fault("503", every=3, count=2, path="/Contacts")]
    with Sandbox(rate_limit=0, faults=faults) as sb:
        client = Client(sb)
        statuses = [client.get(p).status_code for p in ["/Contacts/getInfo", "/Tasks/getInfo"] * 6]
        # requests 3, 6, 9 and 12 are multiples of 3; only 3 and 9 are on a Contacts path, and count=2
        assert statuses == [200, 200, 503, 200, 200, 200, 200, 200, 503, 200, 200, 200]


def test_probability_is_reproducible_per_seed():
    def statuses(seed):
        with Sandbox(seed=seed, rate_limit=0, faults=[Fault("500", probability=0.3)]) as sb:
            client = Client(sb)
            return [client.get("/Contacts/getInfo").status_code for _ in range(30)]

    first = statuses(5)
    assert first == statuses(5)
    assert 2 <= first.count(500) <= 20
    assert first != statuses(6)


def test_faults_can_change_at_runtime():
    with Sandbox(rate_limit=0) as sb:
        client = Client(sb)
        assert client.get("/Contacts/getInfo").status_code == 200
        sb.set_faults([Fault("502", every=1, count=1)])
        assert client.get("/Contacts/getInfo").status_code == 502
        assert client.get("/Contacts/getInfo").status_code == 200
        sb.set_faults([])


def test_fault_spec_parsing():
    fault = Fault.parse("429:at=1-3|7,reset=2")
    assert (fault.kind, fault.at, fault.reset_seconds) == ("429", frozenset({1, 2, 3, 7}), 2)
    fault = Fault.parse("500:probability=0.25,count=4,path=/Contacts")
    assert (fault.probability, fault.count, fault.path) == (0.25, 4, "/Contacts")
    assert Fault.parse("hang:every=10,hang=5").hang_seconds == 5
    assert Fault.parse("busy").kind == "busy"
    for bad in ("boom", "500:often", "500:p=2", "500:colour=red"):
        with pytest.raises(ValueError):
            Fault.parse(bad)
