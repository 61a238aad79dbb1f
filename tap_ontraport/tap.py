"""The tap: settings, one `/objects/meta` call, one stream per object of the account."""

from __future__ import annotations

import copy
import io
import logging
import os
import sys
import threading
import time
import typing as t
from collections import Counter
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from urllib.parse import urlparse

import click
from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import PluginCapabilities, TapCapabilities

from tap_ontraport.client import OntraportAuthenticator, OntraportClient
from tap_ontraport.discovery import AccountObject, account_objects
from tap_ontraport.errors import (
    REDACTOR,
    ApiError,
    AuthenticationError,
    ObjectUnavailableError,
    OntraportError,
    SettingsError,
    install_redaction,
)
from tap_ontraport.fields import CoercionReport, parse_iso8601
from tap_ontraport.governor import RateGovernor
from tap_ontraport.inputs import (
    check_catalog,
    check_state,
    read_json_object,
    unknown_settings,
    unknown_variables,
    variable_name,
)
from tap_ontraport.logs import filter_sdk_lines, set_metrics_logging
from tap_ontraport.objects import KNOWN_OBJECTS, ObjectType
from tap_ontraport.pool import DEFAULT_PARALLEL_REQUESTS
from tap_ontraport.progress import rate_limit_line, summary_lines, total_line
from tap_ontraport.scheduler import Prefetcher
from tap_ontraport.streams import FieldsStream, OntraportStream
from tap_ontraport.webhook_stream import WEBHOOK_STORE_SETTING, WebhookEventsStream

logger = logging.getLogger("tap-ontraport")

DEFAULT_API_URL = "https://api.ontraport.com/1"

# Numeric settings: (name, lowest, highest). Values outside are refused before any request.
NUMERIC_LIMITS: dict[str, tuple[float, float]] = {
    "lookback_seconds": (0, 86_400 * 7),
    "rate_limit_share": (0.01, 1.0),
    "max_requests_per_minute": (1, 100_000),
    "max_parallel_requests": (1, 16),
    "request_timeout": (1, 3_600),
    "max_retries": (0, 50),
    "max_rate_limit_wait_seconds": (0, 86_400),
    "progress_interval_seconds": (0, 86_400),
}

#: The SDK reads setting `name` from the variable ENV_PREFIX + NAME (with `--config ENV`),
#: and its log level from ENV_PREFIX + LOGLEVEL, which is no setting.
ENV_PREFIX = "TAP_ONTRAPORT_"
SDK_VARIABLES = ("LOGLEVEL",)

#: Streams read by key after the first run (objects.py says which objects, and why).
APPEND_ONLY_STREAMS = tuple(sorted(obj.stream_name for obj in KNOWN_OBJECTS if obj.append_only))

# The account's /objects/meta, fetched once per process and account: the SDK builds the
# tap several times per run (discovery, sync, tests) and each must not cost a request.
_META_CACHE: dict[tuple[str, str], dict] = {}
_GOVERNORS: dict[tuple[str, str], RateGovernor] = {}
_SAMPLE_CACHE: dict[tuple[str, str, int], dict | None] = {}
_SHARED_LOCK = threading.Lock()


def clear_meta_cache() -> None:
    """Forget the cached meta (tests that change an account's fields between runs)."""
    with _SHARED_LOCK:
        _META_CACHE.clear()
        _SAMPLE_CACHE.clear()
        _GOVERNORS.clear()


class TapOntraport(Tap):
    """Singer tap for Ontraport."""

    name = "tap-ontraport"
    package_name = "tap-ontraport"
    dynamic_catalog = True  # discovery reads the account, so credentials are checked first
    message_writer_class = MsgSpecWriter  # several times faster than the default JSON writer
    # BATCH is left out: its files would bypass the per-page STATE that makes runs resumable.
    capabilities = [
        TapCapabilities.CATALOG,
        TapCapabilities.STATE,
        TapCapabilities.DISCOVER,
        PluginCapabilities.ABOUT,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.FLATTENING,
        PluginCapabilities.ACTIVATE_VERSION,
        PluginCapabilities.STRUCTURED_LOGGING,
    ]

    config_jsonschema = th.PropertiesList(
        th.Property("app_id", th.StringType(nullable=False), required=True, secret=True, title="App ID",
                    description="Ontraport App ID (the `Api-Appid` header), from Administration > Integrations > "
                    "Ontraport API Instructions and Key Manager."),
        th.Property("api_key", th.StringType(nullable=False), required=True, secret=True, title="API Key",
                    description="Ontraport API key (the `Api-Key` header) of a user allowed to read the objects "
                    "you want; objects it may not read are skipped with a warning."),
        th.Property("api_url", th.StringType, default=DEFAULT_API_URL, title="API URL",
                    description="Base URL of the API. The local sandbox is `http://127.0.0.1:8765/1`."),
        th.Property("start_date", th.DateTimeType, title="Start date",
                    description="Earliest `dlm` (last modified) incremental streams copy, ISO 8601. Empty: "
                    "copy everything. A stream with a bookmark in the state reads from the later of the two, "
                    "so an earlier start_date takes effect only on a run without state (a full refresh)."),
        th.Property("lookback_seconds", th.IntegerType, default=300, title="Lookback (seconds)",
                    description="Each incremental run also re-reads records modified this many seconds "
                    "before the bookmark, against writes that become visible late."),
        th.Property("rate_limit_share", th.NumberType, default=1.0, title="Share of the rate limit",
                    description="Fraction (0.01-1) of the account's request budget (x-rate-limit-limit per "
                    "window) this tap may use; the rest stays free for your other Ontraport integrations."),
        th.Property("max_requests_per_minute", th.IntegerType, title="Max requests per minute",
                    description="Optional absolute ceiling on this tap's request rate, on top of the share."),
        th.Property("max_parallel_requests", th.IntegerType, default=DEFAULT_PARALLEL_REQUESTS, title="Parallel requests",
                    description="Requests kept in flight at once (1-16) when a large stream is read in key "
                    "ranges; the rate governor still bounds the rate."),
        th.Property("request_timeout", th.NumberType, default=60, title="Request timeout (seconds)",
                    description="A request with no answer after this many seconds is abandoned and retried."),
        th.Property("max_retries", th.IntegerType, default=8, title="Max retries",
                    description="Retries of one request after transient faults (5xx, timeouts, resets, "
                    "malformed bodies), with jittered exponential backoff up to a minute apart."),
        th.Property("max_rate_limit_wait_seconds", th.NumberType, default=900, title="Max rate-limit wait",
                    description="Total seconds one request may spend waiting out HTTP 429 before the run fails."),
        th.Property("detect_deletions", th.BooleanType, default=False, title="Detect deletions",
                    description="After each incremental stream, find the records deleted in Ontraport by "
                    "counting key ranges (a few requests per deletion, never more than listing every key) "
                    "and emit them with `_sdc_deleted_at`."),
        th.Property("full_table_streams", th.ArrayType(th.StringType), title="Append-only streams read in full",
                    description="Append-only streams (" + ", ".join(APPEND_ONLY_STREAMS) + ") to read in full "
                    "every run, as before, instead of only the keys above the highest seen with removals "
                    "found by counting key ranges."),
        th.Property("activate_version", th.BooleanType, default=True, title="Activate version",
                    description="Send ACTIVATE_VERSION after each complete pass of a full-table stream, so "
                    "targets can remove rows that disappeared from Ontraport."),
        th.Property("progress_interval_seconds", th.NumberType, default=60, title="Progress interval",
                    description="Seconds between progress lines of a long stream (0: none)."),
        th.Property("fail_on_stream_errors", th.BooleanType, default=False, title="Fail on stream errors",
                    description="Exit with status 1 after the run when any stream was skipped (HTTP 400/403/404/422 "
                    "on its object) or read in full because Ontraport refused its incremental query. Off: such "
                    "streams are warned about and listed in the summary, the others are read, and the run exits 0."),
        th.Property("log_metrics", th.BooleanType, default=False, title="Log SDK metrics",
                    description="Also log the Singer SDK's `METRIC` lines (each stream's sync duration and "
                    "record count, as JSON)."),
        WEBHOOK_STORE_SETTING,
    ).to_dict()

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        install_redaction()
        filter_sdk_lines(self.logger)
        self.coercion_report = CoercionReport()
        self.skipped_streams: dict[str, str] = {}
        self.records_by_stream: Counter[str] = Counter()
        self.started = time.monotonic()
        #: True with `--config ENV`: the SDK then reads TAP_ONTRAPORT_* variables as settings.
        self.reads_environment = bool(kwargs.get("parse_env_config", False))
        super().__init__(*args, **kwargs)
        set_metrics_logging(self.metrics_logger, enabled=bool(self.config.get("log_metrics")))

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """Our own checks first, so each problem gets a sentence that says what to fix."""
        REDACTOR.register([self._config.get("app_id"), self._config.get("api_key")])
        _read_numbers_from_text(self._config)
        known = self.known_setting_names()
        misspelt = unknown_settings(self._config, known)
        if self.reads_environment:  # as strict as the config: a misspelt variable is a misspelt key
            misspelt += unknown_variables(os.environ, ENV_PREFIX, known, also_read=SDK_VARIABLES)
        meant = {unknown.closest for unknown in misspelt if unknown.closest}
        problems = [unknown.sentence() for unknown in misspelt] + [
            problem for problem in settings_problems(self._config)
            # `apikey` given, `api_key` missing: the "did you mean" line says it all.
            if not any(problem.startswith(f"`{name}` is missing") for name in meant)
        ]
        if problems and raise_errors:
            raise SettingsError("\n".join(problems))
        return problems + super()._validate_config(raise_errors=raise_errors)

    @classmethod
    def known_setting_names(cls) -> list[str]:
        """Our settings and the SDK's built-in ones (stream maps, flattening)."""
        schema = copy.deepcopy(cls.config_jsonschema)
        cls.append_builtin_config(schema)
        return list(schema.get("properties", {}))

    # --- shared by every stream of this process ---

    @property
    def account_key(self) -> tuple[str, str]:
        return (self.config.get("api_url", DEFAULT_API_URL).rstrip("/"), str(self.config.get("app_id")))

    @cached_property
    def client(self) -> OntraportClient:
        with _SHARED_LOCK:
            governor = _GOVERNORS.get(self.account_key)
            if governor is None:
                governor = RateGovernor(
                    share=float(self.config.get("rate_limit_share", 1.0)),
                    max_requests_per_minute=self.config.get("max_requests_per_minute"),
                )
                _GOVERNORS[self.account_key] = governor
        return OntraportClient(
            api_url=self.config.get("api_url", DEFAULT_API_URL),
            authenticator=OntraportAuthenticator(self.config["app_id"], self.config["api_key"]),
            governor=governor,
            request_timeout=float(self.config.get("request_timeout", 60)),
            max_retries=int(self.config.get("max_retries", 8)),
            max_rate_limit_wait_seconds=float(self.config.get("max_rate_limit_wait_seconds", 900)),
        )

    @cached_property
    def prefetcher(self) -> Prefetcher | None:
        """Reads ahead the selected streams in sync order (none for a dry run: see scheduler.py)."""
        streams = [s for s in self.streams.values() if isinstance(s, OntraportStream) and s.selected]
        if any(s.ABORT_AT_RECORD_COUNT is not None for s in streams):
            return None
        return Prefetcher(streams, int(self.config.get("max_parallel_requests", DEFAULT_PARALLEL_REQUESTS)))

    @property
    def account_meta(self) -> dict:
        """`GET /objects/meta` (every object of the account), once per process."""
        with _SHARED_LOCK:
            cached = _META_CACHE.get(self.account_key)
        if cached is None:
            try:
                cached = self.client.get("/objects/meta", {"format": "byId"}).data
            except ObjectUnavailableError as exc:
                hint = (
                    f"check `api_url` ({self.client.api_url}): it must be the API's base, "
                    f"such as {DEFAULT_API_URL}"
                    if exc.status == 404
                    else "the API key's user may not read the account's object definitions"
                )
                raise ApiError(f"Could not read the account's objects: {exc}; {hint}.") from None
            if not isinstance(cached, dict):
                cached = {}
            with _SHARED_LOCK:
                _META_CACHE[self.account_key] = cached
        return cached

    # --- discovery ---

    def object_catalog(self) -> list[AccountObject]:
        """Every object of the account with its fields and replication (discovery.py).

        Discovery samples every object. A run given a catalog samples none: the discovery
        that wrote it did (Meltano discovers, then runs with --catalog), and a stream whose
        catalog asks for a `dlm` meta doesn't list checks it during its own read.
        """
        return account_objects(self.account_meta, self.sample_record if self.input_catalog is None else None)

    def sample_record(self, object_type: ObjectType) -> dict | None:
        """One raw record of the object (`range=1`), once per process; None if it has none.

        Discovery must not fail here: an object that can't be read is skipped, with its
        warning, when its stream runs (a stream asks too: see OntraportStream).
        """
        key = (*self.account_key, object_type.object_id)
        with _SHARED_LOCK:
            if key in _SAMPLE_CACHE:
                return _SAMPLE_CACHE[key]
        params: dict[str, t.Any] = {"range": 1}
        if object_type.needs_object_id_param:
            params["objectID"] = object_type.object_id
        try:
            rows = self.client.get(object_type.collection_path, params).data
        except AuthenticationError:
            raise
        except OntraportError as exc:
            logger.info("%s: could not read a sample record (%s)", object_type.stream_name, exc)
            rows = None
        sample = rows[0] if isinstance(rows, list) and rows and isinstance(rows[0], dict) else None
        with _SHARED_LOCK:
            _SAMPLE_CACHE[key] = sample
        return sample

    def discover_streams(self) -> list:
        catalog = self.object_catalog()
        streams: list = [OntraportStream(self, found) for found in catalog]
        streams.append(FieldsStream(self, catalog))
        if self.config.get("webhook_store"):
            streams.append(WebhookEventsStream(self))
        return streams

    def load_streams(self) -> list:  # type: ignore[misc]  # final in the SDK; only reorders its list
        """By name, as the SDK orders them, but `fields` last: it then also lists the
        fields the other streams met in records during the run."""
        streams = sorted(super().load_streams(), key=lambda stream: isinstance(stream, FieldsStream))
        for stream in streams:
            filter_sdk_lines(stream.logger)  # its failure line: the exception hook's says it
        return streams

    # --- the run ---

    def sync_all(self) -> None:  # type: ignore[misc]  # final in the SDK; wrapped for the summary
        self.started = time.monotonic()
        try:
            super().sync_all()
        finally:
            if self.prefetcher is not None:
                self.prefetcher.stop()
            self._report()
        if self.skipped_streams and self.config.get("fail_on_stream_errors", False):
            names = ", ".join(sorted(self.skipped_streams))
            raise ApiError(
                f"{len(self.skipped_streams)} stream(s) were skipped or read in full because Ontraport "
                f"refused their reads ({names}; see the warnings above), and `fail_on_stream_errors` is on. "
                "Every other stream was read and its state saved."
            )

    def _report(self) -> None:
        records = dict(self.records_by_stream)
        for line in summary_lines(records, self.client.stats):
            logger.info("Summary: %s", line)
        logger.info("%s", total_line(records, self.client.stats, time.monotonic() - self.started))
        logger.info("%s", rate_limit_line(self.client.governor.snapshot()))
        for line in self.coercion_report.lines():
            logger.warning("Data note: %s", line)
        for line in self.coercion_report.loaded_lines():
            logger.debug("Data note: %s", line)
        for name, reason in sorted(self.skipped_streams.items()):
            logger.info("Summary: %s: %s", name, reason)

    def _handle_termination(self, signum: int, frame: t.Any) -> None:
        """SIGTERM/SIGINT: the SDK writes the last STATE; we then exit non-zero (128+signal).

        The run did not finish, so a scheduler must not report it as a success; the STATE
        just written lets the next run resume where this one stopped.
        """
        try:
            super()._handle_termination(signum, frame)
        except SystemExit:
            pass
        logger.warning("Stopped by signal %d; the next run resumes from the last STATE.", signum)
        sys.exit(128 + signum)

    # --- clean errors on the command line ---

    @classmethod
    def get_singer_command(cls):  # noqa: ANN206
        command = super().get_singer_command()
        command.excepthook = _excepthook  # one clear line, not a traceback, for our errors
        for param in command.params:
            if param.name in ("state", "catalog"):
                # A path, read by invoke() with errors that name the file (click.File's
                # "No such file" would be a usage error, exit status 2).
                param.type = click.STRING
        return command

    @classmethod
    def cb_config(cls, ctx: click.Context, param: click.Option, value: tuple[str, ...]):  # noqa: ANN206
        """Each --config file must hold a JSON object; say which one does not, and why."""
        for path in value:
            if path != "ENV":
                read_json_object(path, "config")
        return super().cb_config(ctx, param, value)

    @classmethod
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: t.Any = None,
        state: str | None = None,
        catalog: str | None = None,
    ) -> None:
        """The SDK's invoke, given --state and --catalog files that were checked first."""
        if not about:
            if state:
                check_state(read_json_object(state, "state"), state)
            if catalog:
                check_catalog(read_json_object(catalog, "catalog"), catalog)
        super().invoke(
            about=about, about_format=about_format, config=config,
            state=_reopen(state), catalog=_reopen(catalog),
        )

    @classmethod
    def cli(cls):  # noqa: ANN206
        # --discover and --test run in option callbacks, before the command installs its
        # own hook: install ours first so their errors are one clear line too.
        sys.excepthook = _excepthook
        return super().cli()


def _excepthook(exc_type: type[BaseException], exc: BaseException, tb: t.Any) -> None:
    log = logging.getLogger("tap-ontraport")
    if isinstance(exc, OntraportError):
        for line in str(exc).splitlines():
            log.error("%s", line)
        return
    if isinstance(exc, ConfigValidationError):
        for error in exc.errors or [str(exc)]:
            log.error("Setting problem: %s", _explain_schema_error(error))
        return
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    if isinstance(exc, ValueError) and _raised_in(tb, "parse_environment_config"):
        # The SDK reads integer settings from TAP_ONTRAPORT_* with int(): name the variable.
        names = [k for k, v in os.environ.items() if k.startswith(ENV_PREFIX) and repr(v) in str(exc)]
        log.error("Setting problem: %s is not a whole number (%s).", " or ".join(names) or "a TAP_ONTRAPORT_* "
                  "variable", exc)
        return
    log.error("%s", exc.args[0] if exc.args else exc_type.__name__, exc_info=(exc_type, exc, tb))


def _reopen(path: str | None) -> io.StringIO | None:
    """A checked file's text, as the file object the SDK's invoke reads."""
    return None if not path else io.StringIO(Path(path).read_text(encoding="utf-8"))


def _raised_in(tb: t.Any, function: str) -> bool:
    while tb is not None:
        if tb.tb_frame.f_code.co_name == function:
            return True
        tb = tb.tb_next
    return False


def _explain_schema_error(error: str) -> str:
    if "is a required property" in error:
        name = error.split("'")[1] if "'" in error else error
        return f"`{name}` is required: set it in the config or as {variable_name(ENV_PREFIX, name)}."
    return error


def _read_numbers_from_text(config: dict) -> None:
    """Numeric settings given as text (TAP_ONTRAPORT_* variables arrive that way) as numbers."""
    for name in NUMERIC_LIMITS:
        value = config.get(name)
        if isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                continue  # left as text: settings_problems() explains it
            config[name] = int(number) if number.is_integer() else number


def settings_problems(config: t.Mapping[str, t.Any]) -> list[str]:
    """Every problem with the settings, one sentence each (checked before any request)."""
    problems = []
    for name in ("app_id", "api_key"):
        value = config.get(name)
        if not isinstance(value, str) or not value.strip():
            what = "missing" if value is None else "empty"
            problems.append(f"`{name}` is {what}: set it in the config or as {variable_name(ENV_PREFIX, name)}.")
    api_url = config.get("api_url", DEFAULT_API_URL)
    parsed = urlparse(str(api_url))
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        problems.append(f"`api_url` must be an http(s) URL such as {DEFAULT_API_URL}, got {api_url!r}.")
    start_date = config.get("start_date")
    if start_date not in (None, ""):
        if parse_iso8601(str(start_date)) is None:
            problems.append(
                f"`start_date` must be an ISO 8601 date such as 2024-01-31 or 2024-01-31T00:00:00Z, "
                f"got {start_date!r}."
            )
    for name, (lowest, highest) in NUMERIC_LIMITS.items():
        value = config.get(name)
        if value is None:
            continue
        if isinstance(value, Decimal):  # the SDK reads JSON numbers as Decimal
            value = float(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"`{name}` must be a number between {lowest:g} and {highest:g}, got {value!r}.")
        elif not lowest <= value <= highest:
            problems.append(f"`{name}` must be between {lowest:g} and {highest:g}, got {value!r}.")
    problems += _full_table_streams_problems(config.get("full_table_streams"))
    return problems


def _full_table_streams_problems(value: t.Any) -> list[str]:
    if value is None:
        return []
    names = [n.strip() for n in value.split(",")] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return [f"`full_table_streams` must be a list of stream names, got {value!r}."]
    unknown = sorted(set(names) - set(APPEND_ONLY_STREAMS))
    if unknown:
        return [f"`full_table_streams` lists {', '.join(unknown)}: only append-only streams are read by key, "
                f"so it takes {', '.join(APPEND_ONLY_STREAMS)}."]
    return []



if __name__ == "__main__":
    TapOntraport.cli()
