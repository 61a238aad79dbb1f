"""100,000 contacts: start-up, memory, and pages that do not slow down with depth."""

from __future__ import annotations

import json
import resource
import time

from ontraport_sandbox import Sandbox

from .conftest import Client, cond


def _rss_mb() -> float:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(client: Client, **params) -> tuple[float, dict]:
    started = time.perf_counter()
    response = client.get("/Contacts", **params)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text[:200]
    return elapsed, response.json()


def test_one_hundred_thousand_contacts():
    rss_before = _rss_mb()
    started = time.perf_counter()
    sb = Sandbox(sizes={0: 100_000}, rate_limit=0).start()
    startup = time.perf_counter() - started
    rss_after = _rss_mb()
    try:
        client = Client(sb)
        ids = sb.account.ids(0)
        assert len(ids) == 100_000
        window = [cond("dlm", ">=", 1700000000), "AND", cond("dlm", "<", 1790000000)]
        shallow, _ = _timed(client, sort="id", range=50, condition=window + ["AND", cond("id", ">", ids[100])])
        deep, body = _timed(client, sort="id", range=50, count="true",
                            condition=window + ["AND", cond("id", ">", ids[99_000])])
        assert [int(r["id"]) for r in body["data"]] == sorted(int(r["id"]) for r in body["data"])
        assert int(body["data"][0]["id"]) > ids[99_000]
        expected = sum(1 for i in ids[99_001:]
                       if 1700000000 <= int(sb.account.get(0, i)["dlm"]) < 1790000000)
        assert body["count"] == str(expected)
        deep_desc, _ = _timed(client, sort="id", sortDir="desc", range=50, listFields="id",
                              condition=window + ["AND", cond("id", "<", ids[500])])
        by_dlm, body = _timed(client, sort="dlm", range=50, listFields="id,dlm", count="true",
                              condition=[cond("dlm", ">=", 1780000000)])
        dlms = [int(r["dlm"]) for r in body["data"]]
        assert dlms == sorted(dlms) and dlms[0] >= 1780000000
        count_only, body = _timed(client, sort="id", range=1, count="true", listFields="id",
                                  condition=json.dumps(window))
        assert int(body["count"]) > 10_000
        deep_offset, _ = _timed(client, sort="id", start=99_900, listFields="id")
        print(f"\n100k contacts: startup {startup:.2f}s, RSS {rss_before:.0f} -> {rss_after:.0f} MB; "
              f"keyset page shallow {shallow * 1000:.1f} ms, deep+count {deep * 1000:.1f} ms, "
              f"desc {deep_desc * 1000:.1f} ms, dlm-sorted+count {by_dlm * 1000:.1f} ms, "
              f"count {count_only * 1000:.1f} ms, offset 99,900 {deep_offset * 1000:.1f} ms")
        assert startup < 30
        assert rss_after < 1024 and rss_after - rss_before < 500
        assert deep < max(1.0, shallow * 5)  # the depth of the page does not matter
        assert count_only < 1.0 and deep_offset < 1.0
    finally:
        sb.stop()
