"""Deletions and resume on every sandbox variant.

Whichever way a real account behaves (ontraport_sandbox/variants.py), the records deleted
between two runs are reported exactly, by every stream that sweeps (incremental on `dlm`,
or read by key), and a run killed mid-way resumes to every record.
"""

from __future__ import annotations

import signal

import pytest

from tap_ontraport.streams import DELETED_AT, OntraportStream
from tap_ontraport.tap import TapOntraport
from tests.runner import SingerOutput, select_only
from tests.tap.conftest import sandbox_config, sync
from tests.tap.test_resume import run_tap_process
from tests.tap.test_variants import CASES, START_DATE, readable_objects

#: Custom object definitions are literal records; they are never deleted here.
DEFINITIONS = 99


def sweeping_streams(output: SingerOutput) -> dict[str, OntraportStream]:
    """The streams of a run that look for deleted records."""
    found = {}
    for name, stream in output.tap.streams.items():
        if not isinstance(stream, OntraportStream) or name in output.tap.skipped_streams:
            continue
        if stream.reads_by_key or stream.replication_key_field is not None:
            found[name] = stream
    return found


@pytest.mark.parametrize("variants", CASES)
def test_deletions_are_found_exactly_on_every_variant(make_sandbox, variants):
    sandbox = make_sandbox(variants=variants, scale=0.2)
    first = sync(sandbox, start_date=START_DATE, detect_deletions=True)
    streams = sweeping_streams(first)
    assert "contacts" in streams and "tag_subscribers" in streams
    gone: dict[str, set[int]] = {}
    for name, stream in streams.items():
        object_id = stream.object_type.object_id
        ids = sandbox.account.ids(object_id)
        if object_id == DEFINITIONS or len(ids) < 3:
            continue
        gone[name] = {ids[0], ids[len(ids) // 2]}
        for key in gone[name]:
            sandbox.account.delete(object_id, key)
    second = sync(sandbox, state=first.state, start_date=START_DATE, detect_deletions=True)
    for name, stream in streams.items():
        reported = {r[stream.key] for r in second.records.get(name, []) if r.get(DELETED_AT)}
        assert reported == gone.get(name, set()), name


@pytest.mark.parametrize("variants", CASES)
def test_a_killed_run_resumes_to_every_record_on_every_variant(make_sandbox, tmp_path, variants):
    sandbox = make_sandbox(variants=variants, scale=0.2)
    config = sandbox_config(sandbox, start_date=START_DATE)
    tap = TapOntraport(config=config)
    catalog = select_only(tap.catalog_dict, list(tap.streams))
    stream_by_object = {s.object_type.object_id: s for s in tap.streams.values() if isinstance(s, OntraportStream)}
    killed_lines, _ = run_tap_process(tmp_path, config, catalog, None, stop_after_lines=900, sig=signal.SIGKILL)
    killed = SingerOutput.parse("".join(killed_lines))
    assert killed.state, "the kill came before the first STATE"
    resumed_lines, status = run_tap_process(tmp_path, config, catalog, killed.state)
    assert status == 0
    resumed = SingerOutput.parse("".join(resumed_lines))
    for object_id in readable_objects(sandbox):
        stream = stream_by_object[object_id]
        seen = {r[stream.key] for output in (killed, resumed) for r in output.records.get(stream.name, [])}
        assert seen == set(sandbox.account.ids(object_id)), stream.name
