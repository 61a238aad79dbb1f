"""A catalog asking for `dlm` where meta doesn't list it: the stream's own read checks it.

Discovery reads one record of every object to decide its replication; a run given a
catalog reads none. Where the catalog asks for `dlm` on an object whose meta doesn't list
it (Transactions, Deleted orders), the records may or may not carry it: the first record
the stream reads with a `dlm` settles it at no cost, and only an answer with no record at
all costs one more read (`range=1`, no condition). Whichever way the account behaves,
every record arrives.
"""

from __future__ import annotations

import logging
import math

import pytest

from ontraport_sandbox.variants import TRANSACTIONS_WITHOUT_DLM, UNKNOWN_FIELD_IGNORED
from tests.tap.conftest import catalog_for, requests_to, sync

TRANSACTION = 46
START_DATE = "2018-06-01T00:00:00Z"  # before every generated record
#: The one warning: Ontraport refused the dlm query, or the records turned out to lack dlm.
WARNINGS = ("refused a query on dlm", "asks for incremental replication on `dlm`")


def samples(entries: list) -> list:
    return [e for e in entries if e.params.get("range") == "1"]


def incremental_catalog(sandbox, *streams: str) -> dict:
    """Discovery's catalog with `streams` selected and asking for `dlm`, as a user's override
    (or a catalog older than the account) would; no sample left in the process's cache."""
    catalog = catalog_for(sandbox, *streams)
    for entry in catalog["streams"]:
        if entry["tap_stream_id"] in streams:
            entry.update(replication_key="dlm", replication_method="INCREMENTAL")
    return catalog


def test_a_no_change_run_with_a_catalog_reads_no_sample(make_sandbox):
    sandbox = make_sandbox()
    catalog = incremental_catalog(sandbox, "transactions", "deleted_orders")
    first = sync(sandbox, catalog=catalog)
    assert first.state["bookmarks"]["transactions"]["replication_key"] == "dlm"
    before = len(sandbox.counters.log)
    second = sync(sandbox, state=first.state, catalog=catalog)
    for path in ("/Transactions", "/DeletedOrders"):
        reads = requests_to(sandbox, path, before)
        assert len(reads) == 1 and not samples(reads), (path, [e.params for e in reads])
    assert second.state["bookmarks"]["deleted_orders"]["replication_key_value"]


def test_an_empty_answer_is_checked_with_one_record(make_sandbox):
    """No record of the run carries `dlm` (nothing at or after the bookmark): one sample."""
    sandbox = make_sandbox(sizes={TRANSACTION: 120})
    catalog = incremental_catalog(sandbox, "transactions")
    first = sync(sandbox, catalog=catalog)
    newest = max(sandbox.account.ids(TRANSACTION), key=lambda key: (sandbox.account.get(TRANSACTION, key)["dlm"], key))
    sandbox.account.delete(TRANSACTION, newest)  # the lookback now meets no record
    before = len(sandbox.counters.log)
    second = sync(sandbox, state=first.state, catalog=catalog, lookback_seconds=0)
    reads = requests_to(sandbox, "/Transactions", before)
    assert len(samples(reads)) == 1 and len(reads) == 2, [e.params for e in reads]
    assert second.state["bookmarks"]["transactions"]["replication_key"] == "dlm"  # still incremental


@pytest.mark.parametrize("variants", [(TRANSACTIONS_WITHOUT_DLM,), (TRANSACTIONS_WITHOUT_DLM, UNKNOWN_FIELD_IGNORED)],
                         ids=["refused", "ignored"])
@pytest.mark.parametrize("start_date", [START_DATE, None], ids=["start_date", "no_start_date"])
def test_records_without_dlm_are_read_in_full_and_every_change_arrives(make_sandbox, caplog, variants, start_date):
    sandbox = make_sandbox(variants=variants, sizes={TRANSACTION: 120})
    catalog = incremental_catalog(sandbox, "transactions")
    settings = {"start_date": start_date} if start_date else {}
    with caplog.at_level(logging.WARNING, logger="tap-ontraport"):
        first = sync(sandbox, catalog=catalog, **settings)
    assert {r["id"] for r in first.records["transactions"]} == set(sandbox.account.ids(TRANSACTION))
    assert first.activate_versions["transactions"]  # a complete full-table pass
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1 and "transactions" in warned[0] and any(w in warned[0] for w in WARNINGS), warned
    if start_date is None:  # nothing filtered: checked before reading, so read once
        pages = [e for e in requests_to(sandbox, "/Transactions") if e.params.get("range") != "1"]
        assert len(pages) == math.ceil(120 / 50), [e.params for e in pages]

    ids = sandbox.account.ids(TRANSACTION)
    sandbox.account.update(TRANSACTION, ids[3])
    changed = {ids[3], sandbox.account.insert(TRANSACTION)}
    second = sync(sandbox, state=first.state, catalog=catalog, **settings)
    assert changed <= {r["id"] for r in second.records["transactions"]}
