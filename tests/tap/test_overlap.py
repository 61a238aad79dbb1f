"""Streams overlap: the next streams' pages are read ahead while one stream is emitted,
and nothing of theirs is emitted or checkpointed before their turn (scheduler.py)."""

from __future__ import annotations

import math
import signal

from tests.runner import SingerOutput
from tests.tap.conftest import catalog_for, requests_to, sandbox_config, sync
from tests.tap.test_resume import keys_of, run_tap_process

#: In the order the SDK syncs them (by stream name).
STREAMS = {"notes": (12, "/Notes"), "purchases": (17, "/Purchases"), "tasks": (1, "/Tasks")}


def test_small_streams_are_read_side_by_side(make_sandbox):
    sandbox = make_sandbox(latency=0.1)
    output = sync(sandbox, catalog=catalog_for(sandbox, *STREAMS))
    # pages only: a one-record read (range=1) is discovery checking that the records carry `dlm`
    arrivals = {name: [e.time for e in requests_to(sandbox, path) if e.params.get("range") != "1"]
                for name, (_, path) in STREAMS.items()}
    # purchases and tasks are asked for before notes (synced first) has had its last page
    assert min(arrivals["purchases"]) < max(arrivals["notes"])
    assert min(arrivals["tasks"]) < max(arrivals["notes"])
    for name, (object_id, _) in STREAMS.items():
        assert sorted(keys_of(output, name)) == sorted(sandbox.account.ids(object_id)), name
        assert len(arrivals[name]) == math.ceil(len(sandbox.account.ids(object_id)) / 50)  # nothing read twice


def test_output_stays_one_stream_after_another(make_sandbox):
    sandbox = make_sandbox(latency=0.05)
    catalog = catalog_for(sandbox, *STREAMS)
    output = sync(sandbox, catalog=catalog)
    order = [m["stream"] for m in output.messages if m["type"] in ("SCHEMA", "RECORD")]
    firsts = [order.index(name) for name in STREAMS]
    assert firsts == sorted(firsts)
    for name in STREAMS:  # records of a stream after its SCHEMA, and all of them together
        start, end = order.index(name), len(order) - order[::-1].index(name)
        assert set(order[start:end]) == {name}


def test_a_kill_while_reading_ahead_loses_nothing(make_sandbox, tmp_path):
    sandbox = make_sandbox(latency=0.05)
    config = sandbox_config(sandbox)
    catalog = catalog_for(sandbox, *STREAMS)
    killed_lines, _ = run_tap_process(tmp_path, config, catalog, None, stop_after_lines=60, sig=signal.SIGKILL)
    killed = SingerOutput.parse("".join(killed_lines))
    assert keys_of(killed, "notes") and not keys_of(killed, "tasks")
    assert requests_to(sandbox, "/Tasks"), "the kill came before anything was read ahead"
    assert "tasks" not in (killed.state or {}).get("bookmarks", {})  # not checkpointed before its turn
    resumed_lines, status = run_tap_process(tmp_path, config, catalog, killed.state)
    assert status == 0
    resumed = SingerOutput.parse("".join(resumed_lines))
    for name, (object_id, _) in STREAMS.items():
        assert set(keys_of(killed, name)) | set(keys_of(resumed, name)) == set(sandbox.account.ids(object_id)), name
