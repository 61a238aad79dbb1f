"""The tap's settings: their schema (defaults, minimum and maximum live only here), the
checks that explain a bad value in one sentence, and `Settings`, built once from the
validated config and handed to everything that needs a setting.
"""

from __future__ import annotations

import dataclasses
import typing as t
from decimal import Decimal
from urllib.parse import urlparse

from singer_sdk import typing as th

from tap_ontraport.client import OntraportAuthenticator, OntraportClient
from tap_ontraport.fields import parse_iso8601
from tap_ontraport.governor import RateGovernor
from tap_ontraport.inputs import variable_name
from tap_ontraport.objects import KNOWN_OBJECTS
from tap_ontraport.pool import DEFAULT_PARALLEL_REQUESTS

DEFAULT_API_URL = "https://api.ontraport.com/1"

#: The SDK reads setting `name` from the variable ENV_PREFIX + NAME (with `--config ENV`),
#: and its log level from ENV_PREFIX + LOGLEVEL, which is no setting.
ENV_PREFIX = "TAP_ONTRAPORT_"

#: Streams read by key after the first run (objects.py says which objects, and why).
APPEND_ONLY_STREAMS = tuple(sorted(obj.stream_name for obj in KNOWN_OBJECTS if obj.append_only))

SETTINGS_SCHEMA: dict[str, t.Any] = th.PropertiesList(
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
    th.Property("lookback_seconds", th.IntegerType(minimum=0, maximum=86_400 * 7), default=300, title="Lookback (seconds)",
                description="Each incremental run also re-reads records modified this many seconds "
                "before the bookmark, against writes that become visible late."),
    # singer-sdk types NumberType's bounds as int; JSON Schema takes any number.
    th.Property("rate_limit_share", th.NumberType(minimum=0.01, maximum=1),  # type: ignore[arg-type]
                default=1.0, title="Share of the rate limit",
                description="Fraction (0.01-1) of the account's request budget (x-rate-limit-limit per "
                "window) this tap may use; the rest stays free for your other Ontraport integrations."),
    th.Property("max_requests_per_minute", th.IntegerType(minimum=1, maximum=100_000), title="Max requests per minute",
                description="Optional absolute ceiling on this tap's request rate, on top of the share."),
    th.Property("max_parallel_requests", th.IntegerType(minimum=1, maximum=16), default=DEFAULT_PARALLEL_REQUESTS, title="Parallel requests",
                description="Requests kept in flight at once (1-16) when a large stream is read in key "
                "ranges; the rate governor still bounds the rate."),
    th.Property("request_timeout", th.NumberType(minimum=1, maximum=3_600), default=60, title="Request timeout (seconds)",
                description="A request with no answer after this many seconds is abandoned and retried."),
    th.Property("max_retries", th.IntegerType(minimum=0, maximum=50), default=8, title="Max retries",
                description="Retries of one request after transient faults (5xx, timeouts, resets, "
                "malformed bodies), with jittered exponential backoff up to a minute apart."),
    th.Property("max_rate_limit_wait_seconds", th.NumberType(minimum=0, maximum=86_400), default=900, title="Max rate-limit wait",
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
    th.Property("progress_interval_seconds", th.NumberType(minimum=0, maximum=86_400), default=60, title="Progress interval",
                description="Seconds between progress lines of a long stream (0: none)."),
    th.Property("fail_on_stream_errors", th.BooleanType, default=False, title="Fail on stream errors",
                description="Exit with status 1 after the run when any stream was skipped (HTTP 400/403/404/422 "
                "on its object) or read in full because Ontraport refused its incremental query. Off: such "
                "streams are warned about and listed in the summary, the others are read, and the run exits 0."),
    th.Property("log_metrics", th.BooleanType, default=False, title="Log SDK metrics",
                description="Also log the Singer SDK's `METRIC` lines (each stream's sync duration and "
                "record count, as JSON)."),
    th.Property("webhook_store", th.StringType, secret=True, title="Webhook store",
                description="The store of `ontraport-webhooks serve`: an SQLite path or a postgresql:// URL. "
                "Set, it adds the `webhook_events` stream (tags added and removed, forms submitted, purchases, "
                "as Ontraport pushed them), read incrementally by sequence number."),
).to_dict()

#: Numeric settings: name -> (lowest, highest), from the schema. Values outside are refused
#: before any request.
NUMERIC_LIMITS: dict[str, tuple[float, float]] = {
    name: (spec["minimum"], spec["maximum"])
    for name, spec in SETTINGS_SCHEMA["properties"].items()
    if "minimum" in spec and "maximum" in spec
}


def listed_names(value: t.Any) -> frozenset[str]:
    """A list setting given as a list, or as comma-separated text (an environment variable)."""
    if isinstance(value, str):
        return frozenset(name.strip() for name in value.split(",") if name.strip())
    return frozenset(value or ())


def schema_default(name: str) -> t.Any:
    """The default the settings schema declares for `name` (None when it declares none)."""
    return SETTINGS_SCHEMA["properties"][name].get("default")


@dataclasses.dataclass(frozen=True)
class Settings:
    """Every setting, typed, with the schema's defaults filled in."""

    app_id: str = dataclasses.field(repr=False)
    api_key: str = dataclasses.field(repr=False)
    api_url: str
    start_date: str | None
    lookback_seconds: int
    rate_limit_share: float
    max_requests_per_minute: int | None
    max_parallel_requests: int
    request_timeout: float
    max_retries: int
    max_rate_limit_wait_seconds: float
    detect_deletions: bool
    full_table_streams: frozenset[str]
    activate_version: bool
    progress_interval_seconds: float
    fail_on_stream_errors: bool
    log_metrics: bool
    webhook_store: str | None = dataclasses.field(repr=False)  # a PostgreSQL URL may hold a password

    @classmethod
    def from_config(cls, config: t.Mapping[str, t.Any]) -> Settings:
        """The settings of a config that passed `settings_problems` (missing: the default)."""
        values = {
            spec.name: _typed(spec.type, config.get(spec.name, schema_default(spec.name)))
            for spec in dataclasses.fields(cls)
        }
        values["start_date"] = values["start_date"] or None  # empty text: copy everything
        values["full_table_streams"] = listed_names(config.get("full_table_streams"))
        return cls(**values)

    @property
    def account_key(self) -> tuple[str, str]:
        """Which account this is: the API's base and the App ID."""
        return (self.api_url.rstrip("/"), str(self.app_id))


def _typed(annotation: t.Any, value: t.Any) -> t.Any:
    """A config value as the field's type (the SDK reads JSON numbers as Decimal)."""
    if value is None:
        return None
    if annotation in ("int", "int | None"):
        return int(value)
    if annotation == "float":
        return float(value)
    if annotation == "bool":
        return bool(value)
    if annotation in ("str", "str | None"):
        return str(value)
    return value


def settings_problems(config: t.Mapping[str, t.Any]) -> list[str]:
    """Every problem with the settings, one sentence each (checked before any request)."""
    problems = _credential_problems(config)
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
        problem = _number_problem(name, config.get(name), lowest, highest)
        if problem:
            problems.append(problem)
    problems += _full_table_streams_problems(config.get("full_table_streams"))
    return problems


def _credential_problems(config: t.Mapping[str, t.Any]) -> list[str]:
    problems = []
    for name in ("app_id", "api_key"):
        value = config.get(name)
        if not isinstance(value, str) or not value.strip():
            what = "missing" if value is None else "empty"
            problems.append(f"`{name}` is {what}: set it in the config or as {variable_name(ENV_PREFIX, name)}.")
    return problems


def _number_problem(name: str, value: t.Any, lowest: float, highest: float) -> str | None:
    if value is None:
        return None
    if isinstance(value, Decimal):  # the SDK reads JSON numbers as Decimal
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"`{name}` must be a number between {lowest:g} and {highest:g}, got {value!r}."
    if not lowest <= value <= highest:
        return f"`{name}` must be between {lowest:g} and {highest:g}, got {value!r}."
    return None


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


def read_numbers_from_text(config: dict) -> None:
    """Numeric settings given as text (TAP_ONTRAPORT_* variables arrive that way) as numbers."""
    for name in NUMERIC_LIMITS:
        value = config.get(name)
        if isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                continue  # left as text: settings_problems() explains it
            config[name] = int(number) if number.is_integer() else number


def client_for(settings: Settings, governor: RateGovernor, authenticator: OntraportAuthenticator, *,
               max_retries: int | None = None) -> OntraportClient:
    """The API client these settings describe (`max_retries`: a lower cap, for the check command)."""
    return OntraportClient(
        api_url=settings.api_url,
        authenticator=authenticator,
        governor=governor,
        request_timeout=settings.request_timeout,
        max_retries=settings.max_retries if max_retries is None else min(settings.max_retries, max_retries),
        max_rate_limit_wait_seconds=settings.max_rate_limit_wait_seconds,
    )
