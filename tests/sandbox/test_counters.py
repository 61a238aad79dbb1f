"""sb.counters and latency."""

from __future__ import annotations

import threading
import time

import requests

from ontraport_sandbox import Fault, Sandbox

from .conftest import Client


def test_counters_tally_every_request():
    with Sandbox(rate_limit=4, rate_window=60, app_id="the-app-id", api_key="the-secret-key",
                 faults=[Fault("502", at=[2])]) as sb:
        client = Client(sb, app_id="the-app-id", api_key="the-secret-key")
        before = time.monotonic()
        client.get("/Contacts", range=3, sort="id")
        client.get("/Contacts")  # 502
        client.get("/Tasks/getInfo")
        requests.get(sb.url + "/Tasks", timeout=10)  # 401
        client.get("/Nope")  # 404
        client.get("/Contacts")  # 429: the window is full
        counters = sb.counters
        assert counters.total == 6
        assert counters.by_path == {"/1/Contacts": 3, "/1/Tasks/getInfo": 1, "/1/Tasks": 1, "/1/Nope": 1}
        assert counters.by_status == {200: 2, 502: 1, 401: 1, 404: 1, 429: 1}
        assert counters.rate_limited == 1 and counters.faults == {"502": 1}
        assert len(counters.starts) == 6 and counters.starts == sorted(counters.starts)
        assert before <= counters.starts[0] <= time.monotonic()
        first = counters.log[0]
        assert (first.method, first.path, first.params, first.status) == (
            "GET", "/1/Contacts", {"range": "3", "sort": "id"}, 200)
        assert [e.status for e in counters.log] == [200, 502, 200, 401, 404, 429]
        assert "the-secret-key" not in repr(counters.log) and "the-app-id" not in repr(counters.log)
        assert counters.peak_concurrency == 1
        counters.reset()
        assert counters.total == 0 and not counters.by_path and counters.log == []


def test_peak_concurrency_and_latency():
    with Sandbox(rate_limit=0, latency=0.5) as sb:
        results = []

        def one():
            results.append(Client(sb).get("/Contacts/getInfo").status_code)

        threads = [threading.Thread(target=one) for _ in range(4)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        assert results == [200] * 4
        assert sb.counters.peak_concurrency >= 2  # 4 on an idle machine
        assert 0.5 <= elapsed < 1.9  # served side by side (one after another would take 2 s)


def test_jitter_varies_the_delay_and_latency_changes_at_runtime():
    with Sandbox(rate_limit=0, latency=0.1, jitter=0.08) as sb:
        client = Client(sb)
        durations = []
        for _ in range(5):
            started = time.monotonic()
            client.get("/Contacts/getInfo")
            durations.append(time.monotonic() - started)
        assert all(0.015 <= d <= 0.4 for d in durations)
        assert max(durations) - min(durations) > 0.005
        sb.set_latency(0.0)
        started = time.monotonic()
        client.get("/Contacts/getInfo")
        assert time.monotonic() - started < 0.1
