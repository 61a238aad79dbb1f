"""What `tap_ontraport/sdk_compat.py` relies on in the installed singer-sdk, pinned.

Each test names one SDK behaviour the tap depends on beyond the SDK's documented API; if an
SDK upgrade changes it, the test says which piece of sdk_compat.py to revisit.
"""

from __future__ import annotations

import inspect
import io
import json
import sys

import pytest
from singer_sdk import Stream, Tap, plugin_base, tap_base
from singer_sdk.configuration import _dict_config
from singer_sdk.streams import core

from tap_ontraport import sdk_compat
from tap_ontraport.sdk_compat import SdkStream, TapWithRunHooks


class _Rows(SdkStream):
    name = "rows"
    schema = {"type": "object", "properties": {"id": {"type": "integer"}}}
    primary_keys = ("id",)
    rows: list[dict] = []

    def get_records(self, context):
        yield from self.rows


class _Tap(TapWithRunHooks):
    name = "tap-compat"
    config_jsonschema = {"type": "object", "properties": {}}
    calls: list[str] = []

    def discover_streams(self):
        return [_Rows(self)]

    def before_sync(self) -> None:
        self.calls.append("before")

    def after_sync(self, *, completed: bool) -> None:
        self.calls.append(f"after completed={completed}")


def _messages(tap: Tap, action) -> list[dict]:
    out = io.StringIO()
    real = sys.stdout
    sys.stdout = out
    try:
        action()
    finally:
        sys.stdout = real
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def _tap() -> _Tap:
    _Tap.calls = []
    return _Tap(config={}, validate_config=False)


# --- log texts and error shapes ---


def test_the_sdk_still_logs_the_routine_lines_dropped_by_text():
    source = inspect.getsource(plugin_base) + inspect.getsource(tap_base)
    for start in sdk_compat.SDK_ROUTINE_LINES:
        assert f'"{start}' in source, f"singer-sdk no longer logs {start!r}: update SDK_ROUTINE_LINES"


def test_the_sdk_still_logs_a_stream_failure_inside_its_except_block():
    sync_source = inspect.getsource(core.Stream.sync)
    assert f'"{sdk_compat.SDK_STREAM_FAILURE_LINE}' in sync_source, "update SDK_STREAM_FAILURE_LINE"
    after_except = sync_source.split("except Exception:")[1]
    assert after_except.index(sdk_compat.SDK_STREAM_FAILURE_LINE) < after_except.index("raise")


def test_the_sdk_still_logs_a_line_per_environment_variable_on_the_logger_we_filter():
    assert _dict_config.logger.name == sdk_compat.SDK_ENV_CONFIG_LOGGER, "update SDK_ENV_CONFIG_LOGGER"
    source = inspect.getsource(_dict_config.parse_environment_config)
    assert f'logger.info(\n                "{sdk_compat.SDK_ENV_VARIABLE_LINE}"' in source, "update SDK_ENV_VARIABLE_LINE"


def test_a_bad_integer_variable_raises_value_error_inside_the_named_function(monkeypatch):
    schema = {"type": "object", "properties": {"max_retries": {"type": "integer"}}}
    monkeypatch.setenv("TAP_X_MAX_RETRIES", "eight")
    with pytest.raises(ValueError) as caught:
        _dict_config.parse_environment_config(schema, "TAP_X_")
    assert sdk_compat.raised_in(caught.tb, sdk_compat.ENV_CONFIG_READER)
    assert not sdk_compat.raised_in(caught.tb, "some_other_function")


def test_jsonschema_still_words_a_missing_required_setting_as_parsed():
    from jsonschema import Draft7Validator

    errors = [e.message for e in Draft7Validator({"required": ["app_id"]}).iter_errors({})]
    assert [sdk_compat.missing_required_setting(e) for e in errors] == ["app_id"]
    assert sdk_compat.missing_required_setting("1 is not of type 'string'") is None


# --- the run hooks around sync_all ---


def test_sync_all_is_still_final_and_what_invoke_runs():
    assert getattr(Tap.sync_all, "__final__", False), "the SDK no longer marks sync_all final: use its hook"
    assert "tap.sync_all()" in inspect.getsource(Tap.invoke)


def test_the_run_hooks_bracket_a_completed_and_a_failed_run():
    _Rows.rows = [{"id": 1}]
    tap = _tap()
    _messages(tap, tap.sync_all)
    assert tap.calls == ["before", "after completed=True"]

    _Rows.rows = [{"id": "not a number"}]

    class Failing(_Rows):
        def get_records(self, context):
            raise RuntimeError("boom")
            yield

    tap = _tap()
    tap.discover_streams = lambda: [Failing(tap)]  # type: ignore[method-assign]
    tap._streams = None  # built again from discover_streams
    with pytest.raises(RuntimeError):
        _messages(tap, tap.sync_all)
    assert tap.calls == ["before", "after completed=False"]


# --- a stream's private pieces ---


def test_the_sdk_skips_changed_state_when_flushed_and_write_state_now_writes_it():
    _Rows.rows = []
    tap = _tap()
    stream = tap.streams["rows"]

    def move(position: int) -> None:
        stream.get_context_state(None)["position"] = position  # a move without a record

    def run() -> None:
        stream.state_manager.is_flushed = False
        stream._write_state_message()  # written; flushed from now on
        move(1)
        stream._write_state_message()  # the SDK: flushed, so the move is not written
        stream.write_state_now()  # written
        stream.write_state_now()  # unchanged: the SDK's writer drops a repeat
        move(2)
        stream.write_state_now()  # written

    states = [m["value"]["bookmarks"]["rows"] for m in _messages(tap, run) if m["type"] == "STATE"]
    assert states == [{}, {"position": 1}, {"position": 2}]


def test_the_record_version_and_activate_version_reach_the_messages():
    _Rows.rows = [{"id": 1}]
    tap = _tap()
    stream = tap.streams["rows"]
    assert "version=self._stream_version" in inspect.getsource(core.Stream._generate_record_messages)

    def run() -> None:
        stream.set_record_version(1234)
        stream._write_record_message({"id": 1})
        stream.write_activate_version(1234)

    messages = _messages(tap, run)
    assert [(m["type"], m.get("version")) for m in messages] == [("RECORD", 1234), ("ACTIVATE_VERSION", 1234)]


def test_the_input_schema_and_schema_message_are_where_the_stream_reads_them():
    tap = _tap()
    stream = tap.streams["rows"]
    assert stream.input_schema is None  # no catalog passed in
    assert "self._input_schema = " in inspect.getsource(core.Stream.apply_catalog)
    assert stream.plugin is tap
    messages = _messages(tap, stream.write_schema)
    assert [m["type"] for m in messages] == ["SCHEMA"]


def test_the_sdk_still_moves_bookmarks_per_record_through_the_method_switched_off():
    assert "self._increment_stream_state(" in inspect.getsource(core.Stream._sync_records)
    assert "_increment_stream_state" in vars(SdkStream)
    assert issubclass(SdkStream, Stream)


# --- the hooks where the SDK has private or final methods only ---


def test_the_sdk_validates_the_config_through_the_private_method_wrapped():
    assert "self._validate_config(raise_errors=" in inspect.getsource(plugin_base.PluginBase.__init__)

    class Checked(_Tap):
        seen: list[dict] = []

        def check_config_first(self, config, *, raise_errors):
            self.seen.append(dict(config))
            return ["first problem"]

    tap = Checked(config={"x": 1}, validate_config=False)
    assert Checked.seen == [{"x": 1}], "the raw config, before the SDK's validation"
    assert tap._validate_config(raise_errors=False)[0] == "first problem"


def test_streams_are_loaded_through_the_final_method_reordered():
    assert getattr(Tap.load_streams, "__final__", False)
    assert "self.load_streams()" in inspect.getsource(Tap.streams.fget)

    class Reordered(_Tap):
        def discover_streams(self):
            first, second = _Rows(self), _Rows(self)
            second.name = "a_rows"
            return [first, second]

        def order_streams(self, streams):
            return sorted(streams, key=lambda s: s.name != "rows")

    assert list(Reordered(config={}, validate_config=False).streams) == ["rows", "a_rows"]


def test_termination_signals_go_to_the_private_handler_wrapped(monkeypatch):
    assert "self._setup_signal_handlers()" in inspect.getsource(plugin_base.PluginBase.__init__)
    assert "signal.signal(signal.SIGTERM, self._handle_termination)" in inspect.getsource(
        plugin_base.PluginBase._setup_signal_handlers)
    _Rows.rows = []
    tap = _tap()
    signals: list[int] = []
    monkeypatch.setattr(tap, "after_termination_signal", signals.append)
    states = [m for m in _messages(tap, lambda: tap._handle_termination(15, None)) if m["type"] == "STATE"]
    assert signals == [15], "called after the SDK's handler (which exits 0) returned"
    assert states, "the SDK's handler wrote the last STATE first"
