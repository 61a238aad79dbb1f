"""How much a run says: the SDK's routine lines it does not need, and its METRIC lines on request.

A small run should print a couple of lines per stream and the summary. The SDK adds a line
per run about environment variables, a line per stream left out of the catalog, and two
JSON `METRIC` lines per stream. The first two are dropped here by their text (the SDK has
no setting for them; the texts live in sdk_compat.py, pinned against the installed SDK);
the METRIC lines stay available with the `log_metrics` setting. With `--config ENV` the SDK
also logs one line per variable it reads as a setting: those are DEBUG lines here, shown
with `TAP_ONTRAPORT_LOGLEVEL=DEBUG`.

When a stream fails, the SDK logs its own ERROR line ("An unhandled error occurred while
syncing ...") before the tap's exception hook says what happened and what to do. One
sentence is enough: the SDK's line is kept at DEBUG, with the traceback, for
`TAP_ONTRAPORT_LOGLEVEL=DEBUG`; a dry run's stop at its record limit (`--test`) is not a
failure and is dropped.
"""

from __future__ import annotations

import logging
import sys

from singer_sdk.exceptions import AbortedSyncExceptionBase

from tap_ontraport.sdk_compat import (
    SDK_ENV_CONFIG_LOGGER,
    SDK_ENV_VARIABLE_LINE,
    SDK_ROUTINE_LINES,
    SDK_STREAM_FAILURE_LINE,
)

__all__ = [
    "SDK_ENV_CONFIG_LOGGER",
    "SDK_ENV_VARIABLE_LINE",
    "SDK_ROUTINE_LINES",
    "SDK_STREAM_FAILURE_LINE",
    "filter_sdk_lines",
    "set_metrics_logging",
]


class _SdkLinesFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        text = str(record.msg)
        if text.startswith(SDK_ROUTINE_LINES):
            return False
        if text == SDK_ENV_VARIABLE_LINE:
            return _as_debug(record)
        if text.startswith(SDK_STREAM_FAILURE_LINE):
            return _demote_to_debug(record)
        return True


def _demote_to_debug(record: logging.LogRecord) -> bool:
    """The SDK's failure line as a DEBUG line with the traceback, if DEBUG is on.

    The SDK logs it inside its `except` block, so the exception is still the one in hand.
    """
    exc_info = sys.exc_info()
    if isinstance(exc_info[1], AbortedSyncExceptionBase):
        return False  # a dry run stopping at its record limit, on purpose
    if not _as_debug(record):
        return False
    if exc_info[1] is not None:
        record.exc_info = exc_info
    return True


def _as_debug(record: logging.LogRecord) -> bool:
    """The line as a DEBUG line, if its logger shows DEBUG lines; else dropped."""
    if not logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
        return False
    record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
    return True


_SDK_LINES_FILTER = _SdkLinesFilter()


def filter_sdk_lines(sdk_logger: logging.Logger) -> None:
    """Apply the filter above to a logger the SDK writes to: the plugin's, a stream's, or
    the one it reads environment variables with (`SDK_ENV_CONFIG_LOGGER`).

    Filters act only on the logger a line is logged to, not on its children, so each
    stream's logger (`tap-ontraport.<stream>`) gets it too; loggers live as long as the
    process, so each gets it once.
    """
    if _SDK_LINES_FILTER not in sdk_logger.filters:
        sdk_logger.addFilter(_SDK_LINES_FILTER)


def set_metrics_logging(metrics_logger: logging.Logger, *, enabled: bool) -> None:
    """The SDK's METRIC lines (timers and counters as JSON): INFO when enabled, else hidden."""
    metrics_logger.setLevel(logging.INFO if enabled else logging.WARNING)
