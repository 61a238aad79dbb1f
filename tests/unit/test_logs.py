"""The SDK's log lines the tap drops or hides: pinned against the installed singer-sdk.

`tap_ontraport/logs.py` recognises SDK lines by their text and hides the METRIC lines by the
level of the SDK's metrics logger; if a new SDK version rewords a line or renames that
logger, these tests say so instead of the lines quietly coming back.
"""

from __future__ import annotations

import inspect
import logging

import pytest
from singer_sdk import metrics, plugin_base
from singer_sdk.exceptions import AbortedSyncFailedException, MaxRecordsLimitException

from tap_ontraport.logs import SDK_ENV_CONFIG_LOGGER, filter_sdk_lines, set_metrics_logging
from tap_ontraport.tap import TapOntraport

# The SDK texts themselves are pinned in test_sdk_compat.py.


ENV_SETTINGS = {"TAP_ONTRAPORT_APP_ID": "app-1234", "TAP_ONTRAPORT_API_KEY": "key-5678",
                "TAP_ONTRAPORT_API_URL": "http://127.0.0.1:9/1"}  # nothing listens: no request is made


@pytest.mark.parametrize("level", [logging.INFO, logging.DEBUG])
def test_the_line_per_environment_variable_is_debug_only(caplog, monkeypatch, level):
    for name, value in ENV_SETTINGS.items():
        monkeypatch.setenv(name, value)
    with caplog.at_level(level, logger=SDK_ENV_CONFIG_LOGGER):
        tap = TapOntraport(config={}, parse_env_config=True, setup_mapper=False)
    assert tap.config["app_id"] == "app-1234"  # the variables were read
    lines = [r for r in caplog.records if "config from env variable" in r.getMessage()]
    if level == logging.INFO:
        assert lines == []
        return
    assert sorted(r.getMessage() for r in lines) == [
        f"Parsing '{name}' config from env variable 'TAP_ONTRAPORT_{name.upper()}'."
        for name in ("api_key", "api_url", "app_id")
    ]
    assert {r.levelname for r in lines} == {"DEBUG"}


def test_the_sdk_sets_the_metrics_level_in_the_constructor_we_run_after():
    assert metrics.METRICS_LOGGER_NAME == "singer_sdk.metrics"
    assert "self.metrics_logger.setLevel(" in inspect.getsource(plugin_base.PluginBase.__init__)


def test_routine_lines_are_dropped_and_others_kept(caplog):
    plugin_logger = logging.getLogger("tap-ontraport")
    filter_sdk_lines(plugin_logger)
    filter_sdk_lines(plugin_logger)  # once per process, however many taps are built
    assert sum(isinstance(f, type(plugin_logger.filters[0])) for f in plugin_logger.filters) == 1
    with caplog.at_level(logging.INFO, logger="tap-ontraport"):
        plugin_logger.info("Skipping parse of env var settings...")
        plugin_logger.info("Skipping deselected stream '%s'.", "tags")
        plugin_logger.info("Summary: tags: 30 records, 1 request, 0 retries, 0 x 429, 0.0s waiting")
    assert [r.getMessage() for r in caplog.records] == [
        "Summary: tags: 30 records, 1 request, 0 retries, 0 x 429, 0.0s waiting"
    ]


def _sync_that_raises(stream_logger: logging.Logger, error: Exception) -> None:
    """What singer_sdk's Stream.sync does when a stream's records raise."""
    try:
        raise error
    except Exception:
        stream_logger.log(logging.ERROR, "An unhandled error occurred while syncing '%s'", "tags")


@pytest.mark.parametrize("level", [logging.INFO, logging.DEBUG])
def test_the_sdk_failure_line_is_debug_with_its_traceback(caplog, level):
    stream_logger = logging.getLogger("tap-ontraport.tags")
    filter_sdk_lines(stream_logger)
    with caplog.at_level(level, logger="tap-ontraport.tags"):
        _sync_that_raises(stream_logger, RuntimeError("the page could not be read"))
    if level == logging.INFO:
        assert caplog.records == []  # the tap's exception hook says it, once
        return
    [record] = caplog.records
    assert record.levelno == logging.DEBUG and record.levelname == "DEBUG"
    assert record.exc_info is not None and str(record.exc_info[1]) == "the page could not be read"
    assert "RuntimeError: the page could not be read" in caplog.text  # the traceback


def test_a_dry_run_stopping_at_its_record_limit_logs_nothing(caplog):
    stream_logger = logging.getLogger("tap-ontraport.contacts")
    filter_sdk_lines(stream_logger)
    with caplog.at_level(logging.DEBUG, logger="tap-ontraport.contacts"):
        _sync_that_raises(stream_logger, AbortedSyncFailedException(MaxRecordsLimitException("limit (1)")))
    assert caplog.records == []


def test_metrics_follow_the_log_metrics_setting():
    metrics_logger = metrics.get_metrics_logger()
    config = {"app_id": "app-1234", "api_key": "key-5678", "api_url": "http://127.0.0.1:9/1"}
    TapOntraport(config=config, setup_mapper=False)  # no discovery: nothing listens there
    assert not metrics_logger.isEnabledFor(logging.INFO)
    TapOntraport(config={**config, "log_metrics": True}, setup_mapper=False)
    assert metrics_logger.isEnabledFor(logging.INFO)
    set_metrics_logging(metrics_logger, enabled=False)
