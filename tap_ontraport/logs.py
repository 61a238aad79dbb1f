"""How much a run says: the SDK's routine lines it does not need, and its METRIC lines on request.

A small run should print a couple of lines per stream and the summary. The SDK adds a line
per run about environment variables, a line per stream left out of the catalog, and two
JSON `METRIC` lines per stream. The first two are dropped here by their text (the SDK has
no setting for them; `tests/unit/test_logs.py` pins the texts against the installed SDK);
the METRIC lines stay available with the `log_metrics` setting.
"""

from __future__ import annotations

import logging

#: Starts of SDK log lines that tell a user nothing (logged by singer_sdk's PluginBase and Tap).
SDK_ROUTINE_LINES = (
    "Skipping parse of env var settings",  # every run given a config file
    "Parsing env var for settings config",  # every run given --config ENV
    "Skipping deselected stream",  # one per stream the catalog leaves out
)


class _SdkRoutineFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(SDK_ROUTINE_LINES)


_ROUTINE_FILTER = _SdkRoutineFilter()


def drop_sdk_routine_lines(plugin_logger: logging.Logger) -> None:
    """Filter the SDK's routine lines out of the plugin's own logger (once per process)."""
    if _ROUTINE_FILTER not in plugin_logger.filters:
        plugin_logger.addFilter(_ROUTINE_FILTER)


def set_metrics_logging(metrics_logger: logging.Logger, *, enabled: bool) -> None:
    """The SDK's METRIC lines (timers and counters as JSON): INFO when enabled, else hidden."""
    metrics_logger.setLevel(logging.INFO if enabled else logging.WARNING)
