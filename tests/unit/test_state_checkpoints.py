"""STATE is written when a stream's position moves, with records or without."""

from __future__ import annotations

from ontraport_sandbox import Sandbox
from tap_ontraport.tap import TapOntraport
from tests.runner import run_in_process as run_tap
from tests.runner import select_only


def test_a_page_without_records_still_writes_the_moved_position():
    sandbox = Sandbox(rate_limit=100_000, sizes={0: 60}).start()
    try:
        config = {"app_id": sandbox.app_id, "api_key": sandbox.api_key, "api_url": sandbox.url,
                  "progress_interval_seconds": 0}
        catalog = select_only(TapOntraport(config=config).catalog_dict, ["contacts"])
        # A bookmark in the future: the run's only page (the probe) is empty, no record is emitted.
        future = {"replication_key": "dlm", "replication_key_value": "2099-01-01T00:00:00+00:00"}
        state = {"bookmarks": {"contacts": dict(future)}}
        output = run_tap(TapOntraport, config, state=state, catalog=catalog)
    finally:
        sandbox.stop()
    assert not output.records.get("contacts")
    contacts = [s["bookmarks"]["contacts"] for s in output.states]
    # The position after the empty page: the SDK alone skips it (no record since its last STATE).
    positions = [c["run"] for c in contacts if "run" in c]
    assert len(positions) == 1 and positions[0]["segments"] == []
    assert contacts.index(next(c for c in contacts if "run" in c)) > 0, "after the input state"
    # The run completed: no position left, the bookmark where it was.
    assert "run" not in contacts[-1]
    assert contacts[-1]["replication_key_value"].replace("Z", "+00:00") == future["replication_key_value"]
