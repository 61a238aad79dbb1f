"""Authentication (401) and the rolling rate limit (headers, 429, recovery)."""

from __future__ import annotations

import time

import requests

from ontraport_sandbox import Sandbox

from .conftest import Client

RATE_HEADERS = ("x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset")


def test_missing_or_wrong_credentials_get_the_plain_401_sentence():
    with Sandbox(app_id="app-1", api_key="key-1") as sb:
        url = sb.url + "/Contacts"
        for headers in ({}, {"Api-Appid": "app-1"}, {"Api-Key": "key-1"},
                        {"Api-Appid": "app-1", "Api-Key": "wrong"},
                        {"Api-Appid": "wrong", "Api-Key": "key-1"}):
            response = requests.get(url, headers=headers, timeout=10)
            assert response.status_code == 401
            assert response.text == "Your App ID and API Key do not authenticate."
            assert response.headers["Content-Type"] == "text/html;charset=UTF-8"
            assert all(h in response.headers for h in RATE_HEADERS)
        # header names are matched case-insensitively
        ok = requests.get(url, headers={"api-appid": "app-1", "API-KEY": "key-1"}, timeout=10)
        assert ok.status_code == 200
        assert requests.get(sb.url + "/objects/meta", timeout=10).status_code == 401


def test_every_answer_carries_rate_limit_headers():
    with Sandbox(rate_limit=180, rate_window=60) as sb:
        client = Client(sb)
        remaining = []
        for path in ("/Contacts", "/Contacts/getInfo", "/objects/meta", "/Nope"):
            response = client.get(path)
            assert response.headers["x-rate-limit-limit"] == "180"
            assert response.headers["x-rate-limit-reset"] == "60"  # window of the first, barely aged
            remaining.append(int(response.headers["x-rate-limit-remaining"]))
        assert remaining == [179, 178, 177, 176]


def test_full_window_answers_429_then_recovers():
    with Sandbox(rate_limit=5, rate_window=2) as sb:
        client = Client(sb)
        started = time.monotonic()
        seen = [client.get("/Contacts/getInfo") for _ in range(5)]
        assert [r.status_code for r in seen] == [200] * 5
        assert [r.headers["x-rate-limit-remaining"] for r in seen] == ["4", "3", "2", "1", "0"]
        refused = client.get("/Contacts/getInfo")
        assert refused.status_code == 429
        assert refused.headers["x-rate-limit-remaining"] == "0"
        assert refused.headers["x-rate-limit-limit"] == "5"
        reset = int(refused.headers["x-rate-limit-reset"])
        assert 1 <= reset <= 2
        assert "rate limit of 5 requests per 2 seconds" in refused.text
        # refusals are not counted in the window: hammering does not push recovery back
        for _ in range(5):
            assert client.get("/Contacts/getInfo").status_code == 429
        assert sb.counters.rate_limited == 6
        time.sleep(max(0.0, started + 2.05 - time.monotonic()))
        again = client.get("/Contacts/getInfo")
        assert again.status_code == 200
        assert again.headers["x-rate-limit-remaining"] == "4"


def test_reset_counts_down_to_the_oldest_request_leaving():
    with Sandbox(rate_limit=3, rate_window=3) as sb:
        client = Client(sb)
        assert client.get("/Contacts/getInfo").headers["x-rate-limit-reset"] == "3"
        time.sleep(1.2)
        later = client.get("/Contacts/getInfo")
        assert later.headers["x-rate-limit-reset"] == "2"  # 3 - 1.2 = 1.8, rounded up


def test_401s_count_in_the_window():
    with Sandbox(rate_limit=3, rate_window=30) as sb:
        for _ in range(3):
            assert requests.get(sb.url + "/Contacts", timeout=10).status_code == 401
        assert Client(sb).get("/Contacts").status_code == 429


def test_disabled_rate_limit_sends_no_headers():
    for limit in (0, None):
        with Sandbox(rate_limit=limit) as sb:
            client = Client(sb)
            for _ in range(3):
                response = client.get("/Contacts", range=1)
                assert response.status_code == 200
                assert not any(h in response.headers for h in RATE_HEADERS)
            assert not any(h in requests.get(sb.url + "/Contacts", timeout=10).headers for h in RATE_HEADERS)


def test_rate_limit_can_change_at_runtime():
    with Sandbox(rate_limit=0) as sb:
        client = Client(sb)
        assert "x-rate-limit-limit" not in client.get("/Contacts/getInfo").headers
        sb.set_rate_limit(2, 30)
        assert client.get("/Contacts/getInfo").headers["x-rate-limit-remaining"] == "1"
        client.get("/Contacts/getInfo")
        assert client.get("/Contacts/getInfo").status_code == 429
        sb.set_rate_limit(None, 60)
        assert client.get("/Contacts/getInfo").status_code == 200
