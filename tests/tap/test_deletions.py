"""Deletions found against the sandbox at a cost that follows the deletions; a sweep
killed mid-way (a real process, SIGKILL) resumes where it stopped.

Runs that are not killed run in-process, each as a new process would start (no cached
meta); the command line itself is tested in test_operating.py and test_faults.py."""

from __future__ import annotations

import logging
import random

import pytest

from ontraport_sandbox.variants import NO_COLLECTION_COUNT
from tap_ontraport.deletions import decode_keys, encode_keys
from tap_ontraport.paging import PAGE_SIZE
from tap_ontraport.streams import DELETED_AT
from tests.runner import SingerOutput
from tests.tap.conftest import catalog_for, requests_to, sandbox_config, sync
from tests.tap.test_resume import run_tap_process

CONTACT = 0


def deleted_keys(output: SingerOutput, stream: str = "contacts") -> list[int]:
    return sorted(r["id"] for r in output.records.get(stream, []) if r.get(DELETED_AT))


def sweep_requests(sandbox, since: int, path: str = "/Contacts") -> list:
    return [e for e in requests_to(sandbox, path, since) if e.params.get("listFields") == "id"]


def run(sandbox, catalog, state=None, **settings) -> SingerOutput:
    """One complete run, in-process, starting like a new process."""
    return sync(sandbox, state=state, catalog=catalog, **settings)


@pytest.mark.parametrize("seed", [1, 2])
def test_deletions_are_found_by_counting_not_by_listing(make_sandbox, seed):
    sandbox = make_sandbox(seed=seed, sizes={CONTACT: 5_000})
    catalog = catalog_for(sandbox, "contacts", detect_deletions=True)
    first = run(sandbox, catalog, detect_deletions=True)
    assert deleted_keys(first) == []
    assert first.state["bookmarks"]["contacts"]["known_keys"].startswith("z1:")
    ids = sandbox.account.ids(CONTACT)
    rng = random.Random(seed)
    gone = sorted(set(rng.sample(ids, 4)) | set(ids[3_000:3_080]))  # scattered, and a bulk delete
    for key in gone:
        sandbox.account.delete(CONTACT, key)
    new = sandbox.account.insert(CONTACT)
    before = len(sandbox.counters.log)
    second = run(sandbox, catalog, first.state, detect_deletions=True)
    assert deleted_keys(second) == gone
    assert new in [r["id"] for r in second.records["contacts"]]
    listing = -(-len(ids) // PAGE_SIZE)
    assert len(sweep_requests(sandbox, before)) <= 50 < listing  # a listing is 100 requests
    saved = second.state["bookmarks"]["contacts"]
    assert "sweep" not in saved
    assert list(decode_keys(saved["known_keys"])) == sandbox.account.ids(CONTACT)
    # nothing changed: the sweep is one count
    before = len(sandbox.counters.log)
    third = run(sandbox, catalog, second.state, detect_deletions=True)
    assert deleted_keys(third) == [] and len(sweep_requests(sandbox, before)) == 1


def test_yesterdays_text_ranges_still_work(make_sandbox):
    sandbox = make_sandbox(sizes={CONTACT: 800})
    catalog = catalog_for(sandbox, "contacts", detect_deletions=True)
    first = run(sandbox, catalog, detect_deletions=True)
    state = first.state
    keys = decode_keys(state["bookmarks"]["contacts"]["known_keys"])
    text = ",".join(str(k) for k in keys)  # the older format, no runs merged: still valid
    state["bookmarks"]["contacts"]["known_keys"] = text
    gone = keys[100]
    sandbox.account.delete(CONTACT, gone)
    second = run(sandbox, catalog, state, detect_deletions=True)
    assert deleted_keys(second) == [gone]
    assert second.state["bookmarks"]["contacts"]["known_keys"] == encode_keys(sandbox.account.ids(CONTACT))


@pytest.mark.parametrize("seed", range(2))
def test_sigkill_mid_sweep_then_resume(make_sandbox, tmp_path, seed):
    sandbox = make_sandbox(sizes={CONTACT: 3_000}, latency=0.001)
    catalog = catalog_for(sandbox, "contacts", detect_deletions=True)
    config = sandbox_config(sandbox, detect_deletions=True)
    first = run(sandbox, catalog, detect_deletions=True)
    ids = sandbox.account.ids(CONTACT)
    gone = sorted(random.Random(seed).sample(ids, 60))
    for key in gone:
        sandbox.account.delete(CONTACT, key)

    complete_lines, status = run_tap_process(tmp_path, config, catalog, first.state)
    assert status == 0
    sweeping = [i for i, line in enumerate(complete_lines) if '"sweep"' in line]
    assert len(sweeping) > 10, "the sweep saves its progress after each request"
    first_found = min(i for i, line in enumerate(complete_lines) if DELETED_AT in line and "RECORD" in line)
    after_found = [i for i in sweeping if i > first_found]
    stop_at = random.Random(seed).randint(after_found[0] + 1, after_found[-3])
    killed_lines, _ = run_tap_process(tmp_path, config, catalog, first.state, stop_after_lines=stop_at)
    killed = SingerOutput.parse("".join(killed_lines))
    assert "sweep" in killed.state["bookmarks"]["contacts"]

    before = len(sandbox.counters.log)
    resumed_lines, status = run_tap_process(tmp_path, config, catalog, killed.state)
    assert status == 0
    resumed = SingerOutput.parse("".join(resumed_lines))
    assert sorted(set(deleted_keys(killed)) | set(deleted_keys(resumed))) == gone
    # resumed, not restarted: what was settled before the kill is not asked again
    last_state = max(i for i, line in enumerate(killed_lines) if '"type":"STATE"' in line.replace(" ", ""))
    settled = deleted_keys(SingerOutput.parse("".join(killed_lines[:last_state])))
    assert settled and not set(settled) & set(deleted_keys(resumed))
    complete_sweep = sum('"sweep"' in line for line in complete_lines)
    assert len(sweep_requests(sandbox, before)) < complete_sweep
    saved = resumed.state["bookmarks"]["contacts"]
    assert "sweep" not in saved and list(decode_keys(saved["known_keys"])) == sandbox.account.ids(CONTACT)


TAG_SUBSCRIBER = 138


def collection_requests(sandbox, since: int, path: str) -> list:
    return requests_to(sandbox, path, since)


def test_append_only_objects_are_read_by_key_with_removals_found(make_sandbox):
    sandbox = make_sandbox(sizes={TAG_SUBSCRIBER: 3_000})
    catalog = catalog_for(sandbox, "tag_subscribers")
    stream = next(s for s in catalog["streams"] if s["tap_stream_id"] == "tag_subscribers")
    assert stream["replication_method"] == "INCREMENTAL" and stream["replication_key"] == "id"
    first = run(sandbox, catalog)
    assert sorted(r["id"] for r in first.records["tag_subscribers"]) == sandbox.account.ids(TAG_SUBSCRIBER)
    assert not first.activate_versions.get("tag_subscribers")

    # nothing changed: one request, which lists the newest rows and counts the rest
    before = len(sandbox.counters.log)
    quiet = run(sandbox, catalog, first.state)
    assert quiet.records.get("tag_subscribers", []) == []
    assert len(collection_requests(sandbox, before, "/TagSubscribers")) == 1

    ids = sandbox.account.ids(TAG_SUBSCRIBER)
    removed = sorted(random.Random(4).sample(ids, 12))
    for key in removed:
        sandbox.account.delete(TAG_SUBSCRIBER, key)
    added = [sandbox.account.insert(TAG_SUBSCRIBER) for _ in range(120)]
    before = len(sandbox.counters.log)
    second = run(sandbox, catalog, quiet.state)
    rows = second.records["tag_subscribers"]
    assert sorted(r["id"] for r in rows if not r.get(DELETED_AT)) == added  # only the new rows are read
    assert deleted_keys(second, "tag_subscribers") == removed
    assert len(collection_requests(sandbox, before, "/TagSubscribers")) < 3_000 // PAGE_SIZE

    # turned off for this stream: read in full again, removals left to ACTIVATE_VERSION
    full_catalog = catalog_for(sandbox, "tag_subscribers", full_table_streams=["tag_subscribers"])
    third = run(sandbox, full_catalog, second.state, full_table_streams=["tag_subscribers"])
    assert sorted(r["id"] for r in third.records["tag_subscribers"]) == sandbox.account.ids(TAG_SUBSCRIBER)
    assert third.activate_versions.get("tag_subscribers")


def test_an_api_without_counts_has_the_sweep_list_keys_with_one_warning(make_sandbox, caplog):
    """Collection reads that ignore `count=true`: every deletion is still found, by listing."""
    sandbox = make_sandbox(variants=(NO_COLLECTION_COUNT,), sizes={CONTACT: 1_000, TAG_SUBSCRIBER: 600})
    catalog = catalog_for(sandbox, "contacts", "tag_subscribers", detect_deletions=True)
    first = sync(sandbox, catalog=catalog, detect_deletions=True)
    rng = random.Random(3)
    contacts = sandbox.account.ids(CONTACT)
    gone = {"contacts": sorted(set(rng.sample(contacts, 7)) | set(contacts[400:460])),
            "tag_subscribers": sorted(rng.sample(sandbox.account.ids(TAG_SUBSCRIBER), 5))}
    for name, object_id in (("contacts", CONTACT), ("tag_subscribers", TAG_SUBSCRIBER)):
        for key in gone[name]:
            sandbox.account.delete(object_id, key)
    before = len(sandbox.counters.log)
    with caplog.at_level(logging.WARNING, logger="tap-ontraport"):
        second = sync(sandbox, state=first.state, catalog=catalog, detect_deletions=True)
    for name in gone:
        assert deleted_keys(second, name) == gone[name], name
        warned = [r.getMessage() for r in caplog.records if r.getMessage().startswith(f"{name}: the API answered")]
        assert len(warned) == 1 and "without a count" in warned[0], warned
    listing = len(sandbox.account.ids(CONTACT)) // PAGE_SIZE + 1
    assert len(sweep_requests(sandbox, before)) <= listing
    assert list(decode_keys(second.state["bookmarks"]["contacts"]["known_keys"])) == sandbox.account.ids(CONTACT)
