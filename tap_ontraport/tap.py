"""The tap: settings, one `/objects/meta` call, one stream per object of the account."""

from __future__ import annotations

import copy
import io
import json
import logging
import os
import sys
import threading
import time
import typing as t
from collections import Counter
from functools import cached_property
from pathlib import Path

import click
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
from tap_ontraport.fields import CoercionReport
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
from tap_ontraport.objects import ObjectType
from tap_ontraport.progress import RUN_SUMMARY_EVENT, rate_limit_line, run_summary, summary_lines, total_line
from tap_ontraport.scheduler import Prefetcher
from tap_ontraport.sdk_compat import (
    ENV_CONFIG_READER,
    SDK_ENV_CONFIG_LOGGER,
    TapWithRunHooks,
    missing_required_setting,
    raised_in,
)
from tap_ontraport.settings import (
    DEFAULT_API_URL,
    ENV_PREFIX,
    SETTINGS_SCHEMA,
    Settings,
    client_for,
    read_numbers_from_text,
    settings_problems,
)
from tap_ontraport.streams import FieldsStream, OntraportStream
from tap_ontraport.webhook_stream import WebhookEventsStream

logger = logging.getLogger("tap-ontraport")

#: Variables the SDK reads with ENV_PREFIX that are no setting (its log level).
SDK_VARIABLES = ("LOGLEVEL",)

class TapOntraport(TapWithRunHooks):
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

    config_jsonschema = SETTINGS_SCHEMA  # settings.py: defaults, minimum and maximum

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        install_redaction()
        filter_sdk_lines(self.logger)
        filter_sdk_lines(logging.getLogger(SDK_ENV_CONFIG_LOGGER))  # its line per variable read: DEBUG
        self.coercion_report = CoercionReport()
        self.skipped_streams: dict[str, str] = {}
        self.records_by_stream: Counter[str] = Counter()
        self.started = time.monotonic()
        # What this run learned of the account, asked once each: the SDK builds one tap per
        # command (discovery, sync), and the streams' threads share these.
        self._account_lock = threading.Lock()
        self._meta: dict | None = None
        self._samples: dict[int, dict | None] = {}
        #: True with `--config ENV`: the SDK then reads TAP_ONTRAPORT_* variables as settings.
        self.reads_environment = bool(kwargs.get("parse_env_config", False))
        super().__init__(*args, **kwargs)
        set_metrics_logging(self.metrics_logger, enabled=self.settings.log_metrics)

    def check_config_first(self, config: dict, *, raise_errors: bool) -> list[str]:
        """Our own checks first, so each problem gets a sentence that says what to fix."""
        REDACTOR.register([config.get("app_id"), config.get("api_key")])
        read_numbers_from_text(config)
        known = self.known_setting_names()
        misspelt = unknown_settings(config, known)
        if self.reads_environment:  # as strict as the config: a misspelt variable is a misspelt key
            misspelt += unknown_variables(os.environ, ENV_PREFIX, known, also_read=SDK_VARIABLES)
        meant = {unknown.closest for unknown in misspelt if unknown.closest}
        problems = [unknown.sentence() for unknown in misspelt] + [
            problem for problem in settings_problems(config)
            # `apikey` given, `api_key` missing: the "did you mean" line says it all.
            if not any(problem.startswith(f"`{name}` is missing") for name in meant)
        ]
        if problems and raise_errors:
            raise SettingsError("\n".join(problems))
        return problems

    @classmethod
    def known_setting_names(cls) -> list[str]:
        """Our settings and the SDK's built-in ones (stream maps, flattening)."""
        schema = copy.deepcopy(cls.config_jsonschema)
        cls.append_builtin_config(schema)
        return list(schema.get("properties", {}))

    # --- shared by every stream of this process ---

    @cached_property
    def settings(self) -> Settings:
        """Every setting, typed, defaults filled in: built once, from the validated config
        (the SDK builds the streams inside its constructor, after validating)."""
        return Settings.from_config(self.config)

    @property
    def account_key(self) -> tuple[str, str]:
        return self.settings.account_key

    @cached_property
    def client(self) -> OntraportClient:
        governor = RateGovernor(
            share=self.settings.rate_limit_share,
            max_requests_per_minute=self.settings.max_requests_per_minute,
        )
        return client_for(self.settings, governor, OntraportAuthenticator(self.settings.app_id, self.settings.api_key))

    @cached_property
    def prefetcher(self) -> Prefetcher | None:
        """Reads ahead the selected streams in sync order (none for a dry run: see scheduler.py)."""
        streams = [s for s in self.streams.values() if isinstance(s, OntraportStream) and s.selected]
        if any(s.ABORT_AT_RECORD_COUNT is not None for s in streams):
            return None
        return Prefetcher(streams, self.settings.max_parallel_requests)

    @property
    def account_meta(self) -> dict:
        """`GET /objects/meta` (every object of the account), once per run."""
        with self._account_lock:
            cached = self._meta
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
            with self._account_lock:
                self._meta = cached
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
        """One raw record of the object (`range=1`), once per run; None if it has none.

        Discovery must not fail here: an object that can't be read is skipped, with its
        warning, when its stream runs (a stream asks too: see OntraportStream).
        """
        key = object_type.object_id
        with self._account_lock:
            if key in self._samples:
                return self._samples[key]
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
        with self._account_lock:
            self._samples[key] = sample
        return sample

    def discover_streams(self) -> list:
        catalog = self.object_catalog()
        streams: list = [OntraportStream(self, found) for found in catalog]
        streams.append(FieldsStream(self, catalog))
        if self.settings.webhook_store:
            streams.append(WebhookEventsStream(self))
        return streams

    def order_streams(self, streams: list) -> list:
        """By name, as the SDK orders them, but `fields` last: it then also lists the
        fields the other streams met in records during the run."""
        streams = sorted(streams, key=lambda stream: isinstance(stream, FieldsStream))
        for stream in streams:
            filter_sdk_lines(stream.logger)  # its failure line: the exception hook's says it
        return streams

    # --- the run ---

    def before_sync(self) -> None:
        self.started = time.monotonic()

    def after_sync(self, *, completed: bool) -> None:
        """The summary, whatever happened; then `fail_on_stream_errors` for a completed run."""
        if self.prefetcher is not None:
            self.prefetcher.stop()
        self._report()
        if completed and self.skipped_streams and self.settings.fail_on_stream_errors:
            names = ", ".join(sorted(self.skipped_streams))
            raise ApiError(
                f"{len(self.skipped_streams)} stream(s) were skipped or read in full because Ontraport "
                f"refused their reads ({names}; see the warnings above), and `fail_on_stream_errors` is on. "
                "Every other stream was read and its state saved."
            )

    def _report(self) -> None:
        records = dict(self.records_by_stream)
        elapsed = time.monotonic() - self.started
        rate_limit = self.client.governor.snapshot()
        for line in summary_lines(records, self.client.stats):
            logger.info("Summary: %s", line)
        logger.info("%s", total_line(records, self.client.stats, elapsed))
        logger.info("%s", rate_limit_line(rate_limit))
        for line in self.coercion_report.lines():
            logger.warning("Data note: %s", line)
        for line in self.coercion_report.loaded_lines():
            logger.debug("Data note: %s", line)
        for name, reason in sorted(self.skipped_streams.items()):
            logger.info("Summary: %s: %s", name, reason)
        summary = run_summary(records, self.client.stats, elapsed=elapsed, rate_limit=rate_limit,
                              skipped=self.skipped_streams)
        # The same facts for programs: one record, "Summary: " and JSON (also in `extra`).
        logger.info("Summary: %s", json.dumps(summary, sort_keys=True), extra={RUN_SUMMARY_EVENT: summary})

    def after_termination_signal(self, signum: int) -> None:
        """SIGTERM/SIGINT: the SDK wrote the last STATE; we then exit non-zero (128+signal).

        The run did not finish, so a scheduler must not report it as a success; the STATE
        just written lets the next run resume where this one stopped.
        """
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
    if isinstance(exc, ValueError) and raised_in(tb, ENV_CONFIG_READER):
        # The SDK reads integer settings from TAP_ONTRAPORT_* with int(): name the variable.
        names = [k for k, v in os.environ.items() if k.startswith(ENV_PREFIX) and repr(v) in str(exc)]
        log.error("Setting problem: %s is not a whole number (%s).", " or ".join(names) or "a TAP_ONTRAPORT_* "
                  "variable", exc)
        return
    log.error("%s", exc.args[0] if exc.args else exc_type.__name__, exc_info=(exc_type, exc, tb))


def _reopen(path: str | None) -> io.StringIO | None:
    """A checked file's text, as the file object the SDK's invoke reads."""
    return None if not path else io.StringIO(Path(path).read_text(encoding="utf-8"))


def _explain_schema_error(error: str) -> str:
    name = missing_required_setting(error)
    if name is not None:
        return f"`{name}` is required: set it in the config or as {variable_name(ENV_PREFIX, name)}."
    return error


if __name__ == "__main__":
    TapOntraport.cli()
