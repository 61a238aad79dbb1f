"""Everything the tap relies on in singer-sdk beyond its documented API, in one place.

The tap uses the SDK as a plain `Stream` (it makes its own requests: client.py), so the
SDK's public surface is `get_records`, `Tap.discover_streams` and the message writers. A
few things it needs have no public form in singer-sdk 0.54; each is named here, with why,
and `tests/unit/test_sdk_compat.py` pins the SDK behaviour it relies on, so that an SDK
upgrade that changes one fails a test instead of quietly changing what the tap writes.
"""

from __future__ import annotations

import sys
import typing as t

from singer_sdk import Stream, Tap

# --- log lines recognised by their text (logs.py) ---------------------------------------

#: Starts of SDK log lines that tell a user nothing (logged by singer_sdk's PluginBase and Tap).
SDK_ROUTINE_LINES = (
    "Skipping parse of env var settings",  # every run given a config file
    "Parsing env var for settings config",  # every run given --config ENV
    "Skipping deselected stream",  # one per stream the catalog leaves out
)

#: Start of the line singer_sdk's Stream.sync logs at ERROR when a stream's sync raises.
SDK_STREAM_FAILURE_LINE = "An unhandled error occurred while syncing"

#: singer_sdk's logger for settings read from environment variables (`--config ENV`), and the
#: line it logs at INFO for each variable it reads: one per setting, every run. Kept at DEBUG.
SDK_ENV_CONFIG_LOGGER = "singer_sdk.configuration._dict_config"
SDK_ENV_VARIABLE_LINE = "Parsing '%s' config from env variable '%s'."

# --- errors recognised by where they were raised or by their text (tap.py) -----------------

#: The SDK function that reads settings from environment variables; it converts integer
#: settings with int(), so a ValueError raised inside it is a badly written variable.
ENV_CONFIG_READER = "parse_environment_config"

#: How jsonschema says a required setting is missing: "'app_id' is a required property".
REQUIRED_PROPERTY_TEXT = "is a required property"


def raised_in(tb: t.Any, function: str) -> bool:
    """Whether the traceback `tb` passes through a function named `function`."""
    while tb is not None:
        if tb.tb_frame.f_code.co_name == function:
            return True
        tb = tb.tb_next
    return False


def missing_required_setting(error: str) -> str | None:
    """The setting a jsonschema 'required' message names, or None for any other message."""
    if REQUIRED_PROPERTY_TEXT not in error:
        return None
    return error.split("'")[1] if "'" in error else error


# --- the run: summary after the SDK's sync_all -------------------------------------------


class TapWithRunHooks(Tap):
    """A Tap with hooks where singer-sdk has private or final methods only.

    - `before_sync` / `after_sync` bracket the run: the SDK's `invoke` calls `sync_all`,
      which it marks final and offers no hook around; the summary, the read-ahead's stop and
      `fail_on_stream_errors` need one.
    - `check_config_first`: the tap's own checks of the raw config, before the SDK's
      jsonschema validation (in its private `_validate_config`), so that each problem gets a
      sentence that says what to fix.
    - `order_streams`: the order of the streams the SDK loads (its `load_streams` is final).
    - `after_termination_signal`: after the SDK wrote the last STATE on SIGTERM/SIGINT (its
      private `_handle_termination`, which then exits 0).
    """

    def check_config_first(self, config: dict, *, raise_errors: bool) -> list[str]:
        """Problems with the raw `config` (may raise instead, when `raise_errors`)."""
        return []

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        problems = self.check_config_first(self._config, raise_errors=raise_errors)
        return problems + super()._validate_config(raise_errors=raise_errors)

    def order_streams(self, streams: list[Stream]) -> list[Stream]:
        """The streams in the order they are synced (the SDK's: by name)."""
        return streams

    def load_streams(self) -> list[Stream]:  # type: ignore[misc]  # final in the SDK: reordered only
        return self.order_streams(super().load_streams())

    def after_termination_signal(self, signum: int) -> None:
        """Called once the SDK wrote the last STATE after signal `signum` (then exits 0)."""
        sys.exit(0)

    def _handle_termination(self, signum: int, frame: t.Any) -> None:
        try:
            super()._handle_termination(signum, frame)
        except SystemExit:
            pass
        self.after_termination_signal(signum)

    def before_sync(self) -> None:
        """Called before any stream is synced."""

    def after_sync(self, *, completed: bool) -> None:
        """Called when the run ends, `completed` or not (an error is on its way up)."""

    def sync_all(self) -> None:  # type: ignore[misc]  # final in the SDK: wrapped, not changed
        self.before_sync()
        completed = False
        try:
            super().sync_all()
            completed = True
        finally:
            self.after_sync(completed=completed)


# --- a stream's messages and state -----------------------------------------------------------


class SdkStream(Stream):
    """A plain SDK `Stream` with the few private SDK pieces the tap's streams need, named."""

    @property
    def plugin(self) -> Tap:
        """The tap this stream belongs to (the SDK keeps it in `_tap`)."""
        return self._tap

    @property
    def input_schema(self) -> dict | None:
        """The schema of this stream in the catalog passed in (`--catalog`), if any."""
        return self._input_schema

    def write_schema(self) -> None:
        """Send the stream's SCHEMA again (after it widened) through its stream maps."""
        self._write_schema_message()

    def write_state_now(self) -> None:
        """Write STATE now, even when the SDK thinks nothing changed.

        The SDK marks its state "flushed" after writing it and unmarks it only after a
        RECORD; the tap's state also moves without records (an empty page ends a segment,
        a run completes, a deletion sweep counts a range), and that must be saved too.
        """
        self.state_manager.is_flushed = False
        self._write_state_message()

    def set_record_version(self, version: int | None) -> None:
        """The table version the RECORDs of this stream carry from now on (full-table passes)."""
        self._stream_version = version

    def write_activate_version(self, version: int) -> None:
        """Send ACTIVATE_VERSION for `version`, once per stream map (the SDK's own way)."""
        self._write_activate_version_message(version)

    def _increment_stream_state(self, latest_record: dict, *, context: dict | None = None) -> None:  # type: ignore[override]
        """Bookmarks move once per completed run (paging.py), not per record: the SDK's
        per-record bookmark update is switched off."""
