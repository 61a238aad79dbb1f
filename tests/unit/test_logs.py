"""The SDK's log lines the tap drops or hides: pinned against the installed singer-sdk.

`tap_ontraport/logs.py` recognises SDK lines by their text and hides the METRIC lines by the
level of the SDK's metrics logger; if a new SDK version rewords a line or renames that
logger, these tests say so instead of the lines quietly coming back.
"""

from __future__ import annotations

import inspect
import logging

from singer_sdk import metrics, plugin_base, tap_base

from tap_ontraport.logs import SDK_ROUTINE_LINES, drop_sdk_routine_lines, set_metrics_logging
from tap_ontraport.tap import TapOntraport


def test_the_sdk_still_logs_the_lines_we_drop():
    source = inspect.getsource(plugin_base) + inspect.getsource(tap_base)
    for start in SDK_ROUTINE_LINES:
        assert f'"{start}' in source, f"singer-sdk no longer logs {start!r}: update SDK_ROUTINE_LINES"


def test_the_sdk_sets_the_metrics_level_in_the_constructor_we_run_after():
    assert metrics.METRICS_LOGGER_NAME == "singer_sdk.metrics"
    assert "self.metrics_logger.setLevel(" in inspect.getsource(plugin_base.PluginBase.__init__)


def test_routine_lines_are_dropped_and_others_kept(caplog):
    plugin_logger = logging.getLogger("tap-ontraport")
    drop_sdk_routine_lines(plugin_logger)
    drop_sdk_routine_lines(plugin_logger)  # once per process, however many taps are built
    assert sum(isinstance(f, type(plugin_logger.filters[0])) for f in plugin_logger.filters) == 1
    with caplog.at_level(logging.INFO, logger="tap-ontraport"):
        plugin_logger.info("Skipping parse of env var settings...")
        plugin_logger.info("Skipping deselected stream '%s'.", "tags")
        plugin_logger.info("Summary: tags: 30 records, 1 request, 0 retries, 0 x 429, 0.0s waiting")
    assert [r.getMessage() for r in caplog.records] == [
        "Summary: tags: 30 records, 1 request, 0 retries, 0 x 429, 0.0s waiting"
    ]


def test_metrics_follow_the_log_metrics_setting():
    metrics_logger = metrics.get_metrics_logger()
    config = {"app_id": "app-1234", "api_key": "key-5678", "api_url": "http://127.0.0.1:9/1"}
    TapOntraport(config=config, setup_mapper=False)  # no discovery: nothing listens there
    assert not metrics_logger.isEnabledFor(logging.INFO)
    TapOntraport(config={**config, "log_metrics": True}, setup_mapper=False)
    assert metrics_logger.isEnabledFor(logging.INFO)
    set_metrics_logging(metrics_logger, enabled=False)
