"""Incremental sync never loses a record: ties, bookmarks, changes during a sync, deletions.

Every test runs the real tap against the sandbox over sockets and compares what was
emitted with what the account holds. Duplicates are allowed (at-least-once; targets merge
on the primary key) and printed; a missing record fails the test.
"""

from __future__ import annotations

import random
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ontraport_sandbox import Sandbox
from tap_ontraport.fields import to_datetime
from tap_ontraport.paging import PAGE_SIZE
from tap_ontraport.streams import DELETED_AT, MIN_PAGES_PER_RANGE, epoch_seconds
from tests.tap.conftest import FAST_LIMIT, catalog_for, requests_to, sync

CONTACT = 0
PAST = 1_700_000_000  # a second well inside the sandbox's generated dates


def contact_ids(output) -> Counter:
    return Counter(record["id"] for record in output.records.get("contacts", []))


def report_duplicates(label: str, emitted: Counter) -> int:
    duplicates = sum(n - 1 for n in emitted.values() if n > 1)
    print(f"{label}: {sum(emitted.values())} records emitted, {duplicates} duplicates")
    return duplicates


def test_page_boundary_inside_a_tie_group(make_sandbox):
    sandbox = make_sandbox(sizes={CONTACT: 400})
    tied = [i for i in sandbox.account.ids(CONTACT) if 30 <= i <= 175]  # spans 3 page boundaries
    sandbox.account.set_dlm(CONTACT, tied, PAST)
    output = sync(sandbox, catalog=catalog_for(sandbox, "contacts"))
    emitted = contact_ids(output)
    assert set(emitted) == set(sandbox.account.ids(CONTACT))
    assert report_duplicates("tie across pages", emitted) == 0


def test_ten_thousand_records_in_one_second(make_sandbox):
    sandbox = make_sandbox(sizes={CONTACT: 10_000})
    every_id = sandbox.account.ids(CONTACT)
    sandbox.account.set_dlm(CONTACT, every_id, PAST)
    catalog = catalog_for(sandbox, "contacts")
    first = sync(sandbox, catalog=catalog)
    emitted = contact_ids(first)
    assert set(emitted) == set(every_id)
    assert report_duplicates("10,000-record tie", emitted) == 0
    state = first.state["bookmarks"]["contacts"]
    assert epoch_seconds(state["replication_key_value"]) == PAST
    assert state["bookmark_key"] == max(every_id)

    # The next run does not read the group again: it continues after its largest key.
    before = len(sandbox.counters.log)
    second = sync(sandbox, state=first.state, catalog=catalog)
    assert len(second.records.get("contacts", [])) == 0
    assert len(requests_to(sandbox, "/Contacts", before)) <= 3
    # ...yet a change inside the group is still seen
    sandbox.account.update(CONTACT, every_id[17])
    third = sync(sandbox, state=second.state, catalog=catalog)
    assert [r["id"] for r in third.records["contacts"]] == [every_id[17]]


def test_no_change_run_costs_one_request_per_incremental_stream(make_sandbox):
    sandbox = make_sandbox()
    first = sync(sandbox)
    incremental = [name for name, s in first.state["bookmarks"].items() if "replication_key" in s]
    assert {"contacts", "transactions", "purchases", "pets"} <= set(incremental)
    before = len(sandbox.counters.log)
    second = sync(sandbox, state=first.state)
    log = sandbox.counters.log[before:]
    assert sum(entry.path.endswith("/objects/meta") for entry in log) == 1
    for name in incremental:
        path = first.schemas and _path_of(sandbox, name)
        calls = [e for e in log if e.path.endswith(path[0]) and e.params.get("objectID", "") == path[1]]
        assert len(calls) <= 3, (name, len(calls))  # 1, or 3 after a tie group bigger than a page
        assert len(second.records.get(name, [])) < PAGE_SIZE, name
    assert sum(len(second.records.get(name, [])) for name in incremental) < 100


def _path_of(sandbox: Sandbox, stream: str) -> tuple[str, str]:
    from tap_ontraport.streams import OntraportStream
    from tap_ontraport.tap import TapOntraport
    from tests.tap.conftest import sandbox_config

    obj = TapOntraport(config=sandbox_config(sandbox)).streams[stream]
    assert isinstance(obj, OntraportStream)
    if obj.object_type.needs_object_id_param:
        return "/objects", str(obj.object_type.object_id)
    return obj.object_type.collection_path, ""


def test_bookmark_is_inclusive_and_looks_back(make_sandbox):
    sandbox = make_sandbox(sizes={CONTACT: 300})
    catalog = catalog_for(sandbox, "contacts")
    first = sync(sandbox, catalog=catalog, lookback_seconds=300)
    bookmark = epoch_seconds(first.state["bookmarks"]["contacts"]["replication_key_value"])
    ids = sandbox.account.ids(CONTACT)
    # Writes that became visible late: at the bookmark second, inside and outside the lookback.
    sandbox.account.set_dlm(CONTACT, [ids[0]], bookmark)
    sandbox.account.set_dlm(CONTACT, [ids[1]], bookmark - 200)
    sandbox.account.set_dlm(CONTACT, [ids[2]], bookmark - 5_000)
    second = sync(sandbox, state=first.state, catalog=catalog, lookback_seconds=300)
    emitted = set(contact_ids(second))
    assert ids[0] in emitted and ids[1] in emitted
    assert ids[2] not in emitted  # older than the lookback: the documented limit


def test_bookmark_stays_below_the_run_start(make_sandbox):
    sandbox = make_sandbox(sizes={CONTACT: 200})
    catalog = catalog_for(sandbox, "contacts")
    changed: list[int] = []

    def touch(sb, request):
        if request.path.endswith("/Contacts") and len(changed) < 3:
            changed.append(sb.account.insert(CONTACT))

    sandbox.after_collection(touch)
    output = sync(sandbox, catalog=catalog)
    bookmark = epoch_seconds(output.state["bookmarks"]["contacts"]["replication_key_value"])
    newest_changed = min(epoch_seconds(sandbox.account.get(CONTACT, i)["dlm"]) for i in changed)
    assert bookmark < newest_changed
    sandbox.after_collection(None)
    again = sync(sandbox, state=output.state, catalog=catalog)
    assert set(changed) <= set(contact_ids(again))


CHANGES = st.lists(
    st.tuples(st.sampled_from(["update", "insert", "delete"]), st.floats(0, 1)),
    min_size=5, max_size=60,
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=CHANGES, parallel=st.sampled_from([1, 4]), seed=st.integers(0, 1_000))
def test_changes_during_the_sync_are_never_lost(changes, parallel, seed):
    # 1,200 contacts: 24 pages, after each of which 1-3 changes land (all 60 fit in a run).
    # With 4 in flight, enough pages after the first for two parallel key ranges (1,600):
    # more ranges race the same way, and take twice as long to read.
    size = 1_200 if parallel == 1 else (2 * MIN_PAGES_PER_RANGE + 2) * PAGE_SIZE
    sandbox = Sandbox(seed=seed, sizes={CONTACT: size}, rate_limit=FAST_LIMIT).start()
    try:
        account = sandbox.account
        existed = set(account.ids(CONTACT))
        deleted: set[int] = set()
        inserted: set[int] = set()
        schedule = list(changes)
        rng = random.Random(seed)

        def mutate(sb, request):  # after every page the tap asks for
            if not request.path.endswith("/Contacts") or not schedule:
                return
            for _ in range(rng.randint(1, 3)):
                if not schedule:
                    break
                op, where = schedule.pop(0)
                live = account.ids(CONTACT)
                target = live[min(int(where * len(live)), len(live) - 1)]
                if op == "update":
                    account.update(CONTACT, target)
                elif op == "insert":
                    inserted.add(account.insert(CONTACT))
                elif target not in inserted:
                    account.delete(CONTACT, target)
                    deleted.add(target)

        catalog = catalog_for(sandbox, "contacts")
        sandbox.after_collection(mutate)
        first = sync(sandbox, catalog=catalog, max_parallel_requests=parallel)
        sandbox.after_collection(None)
        second = sync(sandbox, state=first.state, catalog=catalog, max_parallel_requests=parallel)

        both = contact_ids(first) + contact_ids(second)
        missing = (existed - deleted) - set(both)
        assert not missing, f"lost records: {sorted(missing)[:10]}"
        assert inserted <= set(both)
        # the latest version of every record has arrived by the end of the second run
        latest: dict[int, dict] = {}
        for output in (first, second):
            for record in output.records.get("contacts", []):
                latest[record["id"]] = record
        for record_id in account.ids(CONTACT):
            served = account.get(CONTACT, record_id)
            assert latest[record_id]["dlm"] == to_datetime(served["dlm"]), record_id
        report_duplicates(f"{len(changes)} changes, {parallel} in flight", both)
    finally:
        sandbox.stop()


def test_deletion_sweep_reports_deleted_records(make_sandbox):
    sandbox = make_sandbox(sizes={CONTACT: 500})
    catalog = catalog_for(sandbox, "contacts", detect_deletions=True)
    first = sync(sandbox, catalog=catalog, detect_deletions=True)
    assert not [r for r in first.records["contacts"] if r.get(DELETED_AT)]
    assert "known_keys" in first.state["bookmarks"]["contacts"]
    ids = sandbox.account.ids(CONTACT)
    gone = [ids[3], ids[250], ids[-1]]
    for record_id in gone:
        sandbox.account.delete(CONTACT, record_id)
    new = sandbox.account.insert(CONTACT)
    before = len(sandbox.counters.log)
    second = sync(sandbox, state=first.state, catalog=catalog, detect_deletions=True)
    reported = sorted(r["id"] for r in second.records["contacts"] if r.get(DELETED_AT))
    assert reported == sorted(gone)
    assert new in contact_ids(second)
    # the sweep lists keys only, 50 per request
    sweep = [e for e in requests_to(sandbox, "/Contacts", before) if e.params.get("listFields") == "id"]
    assert len(sweep) <= -(-len(sandbox.account.ids(CONTACT)) // PAGE_SIZE) + 1
    # a record deleted after it was first loaded but before any sweep knew it is caught too
    third_new = sandbox.account.insert(CONTACT)
    third = sync(sandbox, state=second.state, catalog=catalog, detect_deletions=True)
    assert third_new in contact_ids(third)
    sandbox.account.delete(CONTACT, third_new)
    fourth = sync(sandbox, state=third.state, catalog=catalog, detect_deletions=True)
    assert [r["id"] for r in fourth.records["contacts"] if r.get(DELETED_AT)] == [third_new]


def test_full_table_streams_activate_their_version_after_a_complete_pass(make_sandbox):
    sandbox = make_sandbox()
    catalog = catalog_for(sandbox, "tags")
    output = sync(sandbox, catalog=catalog)
    versions = output.activate_versions["tags"]
    assert len(versions) == 1
    record_versions = {m["version"] for m in output.messages if m["type"] == "RECORD" and m["stream"] == "tags"}
    assert record_versions == set(versions)
    # ACTIVATE_VERSION comes after the last record, never before the first
    kinds = [m["type"] for m in output.messages if m.get("stream") == "tags"]
    assert kinds.index("ACTIVATE_VERSION") > max(i for i, k in enumerate(kinds) if k == "RECORD")
