"""`tap-ontraport-check`: what a real account does where the API's behaviour is unconfirmed.

    tap-ontraport-check --config config.json [--format text|json]

It reads `/objects/meta`, then probes each object with a few list reads and reports, per
object: its field count, whether it carries `dlm` (in meta and in the sampled rows), whether
list rows hold every field meta lists, whether `sort=<key>` with a `<key> >` condition comes
back ordered and bounded, whether `count=true` answers a count, whether `range` is capped at
50, and what the tap will do with it. Account-wide: how an unknown condition field is
answered and the rate-limit headers.

It goes through the tap's own client (settings checks, rate governor, retries, one-line
errors) and spends at most `PER_OBJECT_LIMIT` requests per object and `REQUEST_LIMIT` in all:
the limit is enforced on every request sent, retries included. The report carries field
names, counts and verdicts only: no credential and no record value, so it can be pasted into
a bug report as it is.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tap_ontraport import __version__
from tap_ontraport.client import ApiResponse, OntraportAuthenticator, OntraportClient
from tap_ontraport.errors import (
    REDACTOR,
    ApiError,
    BadRequestError,
    ObjectUnavailableError,
    OntraportError,
    RetriesExhaustedError,
    SettingsError,
    install_redaction,
)
from tap_ontraport.governor import LIMIT_HEADER, REMAINING_HEADER, RESET_HEADER, RateGovernor
from tap_ontraport.objects import ObjectType, describe_object
from tap_ontraport.settings import Settings, client_for, settings_problems

REQUEST_LIMIT = 100
PER_OBJECT_LIMIT = 3
#: Retries of one probe after a transient fault (each one is a request against the budget).
CHECK_MAX_RETRIES = 2
#: The range a probe asks for: above 50, so the answer shows whether the API caps it.
PROBE_RANGE = 60
MAX_PAGE = 50
DLM = "dlm"
#: A field no account has, for the unknown-field probe.
UNKNOWN_FIELD = "tap_ontraport_check_no_such_field"
#: Meta field types records never carry as such (computed or shown under other keys).
NOT_IN_RECORDS = frozenset({"mergefield", "related_data"})
#: How many field names a report lists before it only counts.
NAMES_SHOWN = 8

class BudgetExceeded(OntraportError):
    """The check would send more requests than it may."""


# --- the request budget -----------------------------------------------------------------


@dataclass
class RequestBudget:
    """Counts every request sent; refuses one that would break either limit."""

    total_limit: int = REQUEST_LIMIT
    per_object_limit: int = PER_OBJECT_LIMIT
    spent: int = 0
    by_object: Counter[int] = field(default_factory=Counter)
    current: int | None = None  # the object the next requests are for (None: the account)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def has_room(self, object_id: int | None = None) -> bool:
        with self._lock:
            return self._room(object_id)

    def _room(self, object_id: int | None) -> bool:
        if self.spent >= self.total_limit:
            return False
        return object_id is None or self.by_object[object_id] < self.per_object_limit

    def spend(self) -> None:
        """Called as each request is sent (by the authenticator, so retries count too)."""
        with self._lock:
            if not self._room(self.current):
                raise BudgetExceeded(f"request budget reached ({self.spent} requests sent)")
            self.spent += 1
            if self.current is not None:
                self.by_object[self.current] += 1

    @contextmanager
    def charging(self, object_id: int | None) -> Iterator[None]:
        """Charge the requests sent inside to this object (the check sends one at a time)."""
        self.current = object_id
        try:
            yield
        finally:
            self.current = None


class BudgetedAuthenticator(OntraportAuthenticator):
    """The tap's authenticator, charging the budget for every request it signs."""

    def __init__(self, app_id: str, api_key: str, budget: RequestBudget) -> None:
        super().__init__(app_id, api_key)
        self.budget = budget

    def authenticate_request(self, request):  # noqa: ANN001, ANN201 (the SDK's signature)
        self.budget.spend()
        return super().authenticate_request(request)


# --- what the report holds -------------------------------------------------------------


@dataclass
class RateLimitSeen:
    """The x-rate-limit-* headers of the last answer that had them."""

    limit: str | None = None
    reset_seconds: str | None = None
    remaining: str | None = None
    window_seconds: float | None = None  # the window the tap's governor learned from them


@dataclass
class ObjectFindings:
    """What the probes found about one object (field names and counts, never values)."""

    object_id: int
    meta_name: str
    stream_name: str
    meta_fields: int
    dlm_in_meta: bool
    dlm_in_records: bool | None = None  # None: no row sampled
    refused: str | None = None  # why the object could not be read at all
    rows_sampled: int = 0
    row_keys: int = 0
    missing_from_rows: list[str] = field(default_factory=list)  # meta fields no row had
    not_in_meta: list[str] = field(default_factory=list)  # row keys meta doesn't list
    keyset: str = "not probed"
    count: str = "not probed"
    range_capped: bool | None = None  # None: cannot tell (few records, or not probed)
    requests: int = 0
    plan: str = ""

    @property
    def full_rows(self) -> bool | None:
        if self.refused or not self.rows_sampled or not self.meta_fields:
            return None
        return not self.missing_from_rows


@dataclass
class CheckReport:
    api_url: str
    requests_spent: int = 0
    request_limit: int = REQUEST_LIMIT
    per_object_limit: int = PER_OBJECT_LIMIT
    unknown_field: str = "not probed"
    rate_limit: RateLimitSeen = field(default_factory=RateLimitSeen)
    objects: list[ObjectFindings] = field(default_factory=list)
    version: str = __version__

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for entry, findings in zip(data["objects"], self.objects):
            entry["full_rows"] = findings.full_rows
        return data


# --- what the tap will do --------------------------------------------------------------


def planned_replication(findings: ObjectFindings) -> str:
    """What the tap does with an object, by its replication rules:

    * an object whose plain list read was refused (HTTP 400/422 such as "Invalid object type",
      403, 404, or an error envelope) is skipped, with the reason;
    * an object is incremental on `dlm` when meta lists `dlm` or a sampled record carries it;
    * anything else is read as a full table.

    An object with no sampled record (left unread by the budget, or empty) is judged on meta
    alone, and says so.
    """
    if findings.refused:
        return f"skipped ({findings.refused})"
    if findings.dlm_in_meta or findings.dlm_in_records:
        return "incremental on dlm"
    if findings.dlm_in_records is None:  # not read (budget), or no record to sample
        return "full table (no record sampled: incremental if records carry dlm)"
    return "full table"


# --- the probes ---------------------------------------------------------------------------


@dataclass
class _Target:
    """One object while it is probed: what the report says, and what the probes need."""

    object_type: ObjectType
    field_types: dict[str, str]  # meta's {field: type}
    findings: ObjectFindings
    rows: list[dict] = field(default_factory=list)  # the plain read's rows (never reported)

    @property
    def object_id(self) -> int:
        return self.object_type.object_id

    @property
    def ids(self) -> list[int]:
        return sorted(_ids(self.rows, self.object_type.primary_key))


@dataclass
class _KeysetAnswer:
    data: Any
    envelope: dict
    params: dict[str, Any]  # what was asked


#: Errors that mean the API refused what was asked (as opposed to the budget running out).
_REFUSALS = (BadRequestError, ObjectUnavailableError, ApiError, RetriesExhaustedError)


class Checker:
    """Runs the probes against one account through the tap's client."""

    def __init__(self, client: OntraportClient, budget: RequestBudget) -> None:
        self.client = client
        self.budget = budget
        self.report = CheckReport(api_url=client.api_url, request_limit=budget.total_limit,
                                  per_object_limit=budget.per_object_limit)

    def run(self) -> CheckReport:
        """Meta, then one plain read of every object first (it decides the plan), then the
        keyset/count probe of each, then the unknown-field probe on one readable object."""
        meta = self._get(None, "/objects/meta", {"format": "byId"})
        targets = [_target(object_id, entry) for object_id, entry in meta_entries(meta.data)]
        for target in targets:
            self._probe_rows(target)
        for target in targets:
            self._probe_keyset(target)
        readable = next((t for t in targets if t.rows and self.budget.has_room(t.object_id)), None)
        if readable is not None:
            self._probe_unknown_field(readable)
        for target in targets:
            target.findings.requests = self.budget.by_object[target.object_id]
            target.findings.plan = planned_replication(target.findings)
        self.report.objects = [t.findings for t in targets]
        self.report.requests_spent = self.budget.spent
        return self.report

    # -- requests ----------------------------------------------------------------------

    def _get(self, object_id: int | None, path: str, params: dict[str, Any]) -> ApiResponse:
        with self.budget.charging(object_id):
            answer = self.client.get(path, params, label="check")
        self._note_rate_limit(answer.headers)
        return answer

    def _list(self, target: _Target, **params: Any) -> ApiResponse:
        if target.object_type.needs_object_id_param:
            params = {"objectID": target.object_id, **params}
        return self._get(target.object_id, target.object_type.collection_path, params)

    def _note_rate_limit(self, headers: Mapping[str, str]) -> None:
        if headers.get(LIMIT_HEADER) is None:
            return
        self.report.rate_limit = RateLimitSeen(
            limit=headers.get(LIMIT_HEADER), reset_seconds=headers.get(RESET_HEADER),
            remaining=headers.get(REMAINING_HEADER), window_seconds=self.client.governor.window)

    # -- the probes ----------------------------------------------------------------------

    def _probe_rows(self, target: _Target) -> None:
        """A plain list read (no sort, no condition): can the object be read, what rows hold."""
        if not self.budget.has_room(target.object_id):
            return
        try:
            answer = self._list(target, range=PROBE_RANGE)
        except _REFUSALS as error:
            target.findings.refused = refusal_reason(error)
            return
        except BudgetExceeded:
            return
        target.rows = _rows(answer.data)
        describe_rows(target.findings, target.rows, target.field_types)

    def _probe_keyset(self, target: _Target) -> None:
        """`sort=<key>` with `<key> > X` and `count=true` (X: the lower median of the sampled
        ids); if that is refused, once more without `count`, to tell which part was refused."""
        findings = target.findings
        if findings.refused or not findings.rows_sampled:
            return
        after = _split_point(target.ids)
        answer = self._keyset_read(target, after, count=True)
        if answer is None and findings.keyset.startswith("refused"):
            findings.count = findings.keyset
            answer = self._keyset_read(target, after, count=False)
            if answer is not None:
                findings.count = f"{findings.count}; without count=true the read works"
        if answer is None:
            return
        got = _ids(_rows(answer.data), target.object_type.primary_key)
        count = answer.envelope.get("count")
        findings.keyset = keyset_verdict(got, after, [i for i in target.ids if i > after])
        if answer.params.get("count"):
            findings.count = count_verdict(count, len(got))
        findings.range_capped = range_verdict(findings.rows_sampled, count, len(got),
                                              sum(1 for i in target.ids if i <= after))

    def _keyset_read(self, target: _Target, after: int, *, count: bool) -> _KeysetAnswer | None:
        """One keyset read; None (with the verdict noted) when refused or out of budget."""
        if not self.budget.has_room(target.object_id):
            return None
        key = target.object_type.primary_key
        params = {"sort": key, "sortDir": "asc", "range": PROBE_RANGE,
                  "condition": json.dumps([{"field": {"field": key}, "op": ">", "value": {"value": after}}])}
        if count:
            params["count"] = "true"
        try:
            answer = self._list(target, **params)
        except _REFUSALS as error:
            target.findings.keyset = f"refused ({refusal_reason(error)})"
            return None
        except BudgetExceeded:
            return None
        return _KeysetAnswer(answer.data, answer.envelope, params)

    def _probe_unknown_field(self, target: _Target) -> None:
        """How the API answers a condition on a field the object does not have."""
        if not self.budget.has_room(target.object_id):
            return
        condition = json.dumps([{"field": {"field": UNKNOWN_FIELD}, "op": "=", "value": {"value": "1"}}])
        try:
            answer = self._list(target, condition=condition, range=1)
        except _REFUSALS as error:
            self.report.unknown_field = f"refused ({refusal_reason(error)})"
            return
        except BudgetExceeded:
            return
        self.report.unknown_field = (
            "ignored: matches no record" if not _rows(answer.data)
            else "ignored: the condition is dropped and records come back")


# --- reading answers ------------------------------------------------------------------------


def meta_entries(data: Any) -> list[tuple[int, dict]]:
    """(objectID, entry) of every readable entry of /objects/meta, by objectID."""
    if not isinstance(data, dict):
        raise ApiError("/objects/meta did not answer a map of objects; the check cannot go on.")
    entries = []
    for raw_id, entry in data.items():
        if str(raw_id).isdigit() and isinstance(entry, dict):
            entries.append((int(str(raw_id)), entry))
    return sorted(entries, key=lambda item: item[0])


def meta_field_types(entry: dict) -> dict[str, str]:
    """{field name: meta type} of one object's meta entry ({} when it lists none)."""
    fields = entry.get("fields")
    if not isinstance(fields, dict):
        return {}
    return {str(name): str(spec.get("type", "")) if isinstance(spec, dict) else ""
            for name, spec in fields.items()}


def _target(object_id: int, entry: dict) -> _Target:
    object_type = describe_object(object_id, str(entry.get("name") or f"Object{object_id}"))
    types = meta_field_types(entry)
    findings = ObjectFindings(object_id=object_id, meta_name=object_type.meta_name,
                              stream_name=object_type.stream_name, meta_fields=len(types),
                              dlm_in_meta=DLM in types)
    return _Target(object_type, types, findings)


def _rows(data: Any) -> list[dict]:
    return [row for row in data if isinstance(row, dict)] if isinstance(data, list) else []


def _ids(rows: list[dict], key: str) -> list[int]:
    """The rows' keys as integers, in answer order (a key that is not a number is left out)."""
    ids = []
    for row in rows:
        try:
            ids.append(int(str(row.get(key))))
        except ValueError:
            continue
    return ids


def describe_rows(findings: ObjectFindings, rows: list[dict], field_types: dict[str, str]) -> None:
    """Compare the sampled rows' keys with meta's fields, and look for dlm."""
    keys: set[str] = set().union(*(row.keys() for row in rows))
    findings.rows_sampled = len(rows)
    findings.row_keys = len(keys)
    if not rows:
        return
    findings.dlm_in_records = any(DLM in row for row in rows)
    stored = {name for name, kind in field_types.items() if kind not in NOT_IN_RECORDS}
    findings.missing_from_rows = sorted(stored - keys)
    findings.not_in_meta = sorted(keys - set(field_types))


def refusal_reason(error: OntraportError) -> str:
    """A short reason for a refused read, from the tap's error (which names no secret)."""
    if isinstance(error, ObjectUnavailableError):
        return f"HTTP {error.status}"
    if isinstance(error, BadRequestError):
        return "HTTP 400/422: " + _quoted_body(str(error))
    if isinstance(error, RetriesExhaustedError):
        return "still failing after retries"
    return "error answer: " + _quoted_body(str(error))


def _quoted_body(message: str) -> str:
    """The body excerpt the tap's error quotes ('...'), or the message's start."""
    start, end = message.find("'"), message.rfind("'")
    return message[start + 1:end][:80] if 0 <= start < end else message[:80]


def _split_point(ids: list[int]) -> int:
    """X for the `<key> > X` probe: the lower median of the sampled ids, so that some sampled
    ids lie above it (just below the only one, if there is one)."""
    if len(ids) > 1:
        return ids[(len(ids) - 1) // 2]
    return ids[0] - 1 if ids else 0


def keyset_verdict(got: list[int], after: int, expected: list[int]) -> str:
    """Is the answer to `<key> > after`, sorted by the key, ordered and bounded?

    `expected` are the sampled ids above `after`: the smallest of them must not be skipped.
    """
    if not got:
        return "cannot tell (no record above the sampled ids)" if not expected else "wrong: no rows came back"
    if any(i <= after for i in got):
        return "wrong: the condition is not applied"
    if got != sorted(got):
        return "wrong: not ordered by the key"
    if expected and min(expected) < got[0]:
        return "wrong: rows are skipped"
    return "works"


def count_verdict(count: Any, rows: int) -> str:
    if count is None:
        return "no count in the answer"
    try:
        number = int(str(count))
    except ValueError:
        return "wrong: the count is not a number"
    return "works" if number >= rows else "wrong: the count is below the rows returned"


def range_verdict(sampled: int, count: Any, above: int, at_or_below: int) -> bool | None:
    """True: `range=60` gave 50 of more records; False: it gave more than 50; None: can't tell.

    The object has at least `above + at_or_below` records (or `count + at_or_below`).
    """
    if sampled > MAX_PAGE:
        return False
    try:
        known = max(above, int(str(count))) + at_or_below
    except (TypeError, ValueError):
        known = above + at_or_below
    if sampled == MAX_PAGE and known > MAX_PAGE:
        return True
    return None


# --- the report as text -----------------------------------------------------------------------


def _short(verdict: str) -> str:
    """A table cell for a verdict: ok, refused, WRONG, or - (not probed)."""
    if verdict.startswith("works"):
        return "ok"
    if verdict.startswith("refused"):
        return "refused"
    if verdict.startswith("wrong"):
        return "WRONG"
    if verdict.startswith("cannot tell"):
        return "?"
    return "-" if verdict == "not probed" else verdict


def _yes_no(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "no")


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:NAMES_SHOWN])
    return shown + (f", ... ({len(names)} in all)" if len(names) > NAMES_SHOWN else "")


def _tally(objects: list[ObjectFindings], verdict_of) -> str:
    probed = [verdict_of(f) for f in objects if verdict_of(f) != "not probed"]
    if not probed:
        return "not probed"
    works = sum(1 for v in probed if v.startswith("works"))
    return f"works on {works} of {len(probed)} objects probed"


def _range_summary(objects: list[ObjectFindings]) -> str:
    capped = sum(1 for f in objects if f.range_capped)
    uncapped = [f.meta_name for f in objects if f.range_capped is False]
    if uncapped:
        return f"NOT capped: range={PROBE_RANGE} gave more than {MAX_PAGE} rows on {_names(uncapped)}"
    if capped:
        return f"capped at {MAX_PAGE} (seen on {capped} objects; the others have too few records to tell)"
    return "cannot tell (no object has more than 50 records, or none was probed)"


def _rate_summary(seen: RateLimitSeen) -> str:
    if seen.limit is None:
        return "no x-rate-limit-* headers in the answers"
    window = f"; window learned: {seen.window_seconds:g}s" if seen.window_seconds else ""
    return (f"limit {seen.limit}, reset {seen.reset_seconds}s, remaining {seen.remaining} "
            f"(in the last successful answer){window}")


def _account_lines(report: CheckReport) -> list[str]:
    objects = report.objects
    full = [f for f in objects if f.full_rows is not None]
    rows = [("objects in meta", str(len(objects))),
            ("unknown condition field", report.unknown_field),
            ("sort=<key> with <key> > X", _tally(objects, lambda f: f.keyset)),
            ("count=true", _tally(objects, lambda f: f.count)),
            (f"range={PROBE_RANGE}", _range_summary(objects)),
            ("list rows hold meta's fields", f"{sum(1 for f in full if f.full_rows)} of {len(full)} objects"),
            ("rate limit", _rate_summary(report.rate_limit))]
    width = max(len(name) for name, _ in rows)
    return [f"  {name:<{width}}  {value}" for name, value in rows]


_COLUMNS = ("objectID", "meta name", "stream", "fields", "dlm meta/rows", "row keys",
            "full rows", "keyset", "count", "requests", "plan")


def _object_row(f: ObjectFindings) -> tuple[str, ...]:
    return (str(f.object_id), f.meta_name, f.stream_name, str(f.meta_fields),
            f"{_yes_no(f.dlm_in_meta)}/{_yes_no(f.dlm_in_records)}",
            str(f.row_keys) if f.rows_sampled else "-", _yes_no(f.full_rows), _short(f.keyset),
            _short(f.count), str(f.requests), f.plan)


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]


def _details(f: ObjectFindings) -> list[str]:
    notes = []
    if f.refused:
        notes.append(f"refused: {f.refused}")
    if f.missing_from_rows:
        notes.append(f"meta fields no sampled row has: {_names(f.missing_from_rows)}")
    if f.not_in_meta:
        notes.append(f"row keys meta does not list: {_names(f.not_in_meta)}")
    for name, verdict in (("keyset", f.keyset), ("count", f.count)):
        if not (verdict.startswith("works") or verdict == "not probed"):
            notes.append(f"{name}: {verdict}")
    return [f"  {f.meta_name} ({f.object_id}): {note}" for note in notes]


def render_text(report: CheckReport) -> str:
    lines = [f"tap-ontraport compatibility check (tap-ontraport {report.version})",
             f"API: {report.api_url}",
             f"Requests: {report.requests_spent} spent (at most {report.request_limit} in all, "
             f"{report.per_object_limit} per object)", "", "Account", *_account_lines(report),
             "", "Objects", *_table([_COLUMNS, *map(_object_row, report.objects)])]
    details = [line for f in report.objects for line in _details(f)]
    if details:
        lines += ["", "Details", *details]
    return "\n".join(lines)


def render_json(report: CheckReport) -> str:
    return json.dumps(report.to_dict(), indent=2)


# --- the command ----------------------------------------------------------------------------


def load_config(path: Path) -> dict[str, Any]:
    """The tap's config file, checked by the tap's own rules (SettingsError if unusable)."""
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        raise SettingsError(f"config file {str(path)!r} not found.") from None
    except (OSError, ValueError) as error:
        raise SettingsError(f"config file {str(path)!r} is not readable JSON "
                            f"({type(error).__name__}).") from None
    if not isinstance(config, dict):
        raise SettingsError(f"config file {str(path)!r} must hold a JSON object of settings.")
    REDACTOR.register([config.get("app_id"), config.get("api_key")])
    problems = settings_problems(config)
    if problems:
        raise SettingsError("\n".join(problems))
    return config


def build_client(config: Mapping[str, Any], budget: RequestBudget) -> OntraportClient:
    """The tap's client, configured like the tap's, with a budgeted authenticator."""
    settings = Settings.from_config(config)
    governor = RateGovernor(share=settings.rate_limit_share, max_requests_per_minute=settings.max_requests_per_minute)
    authenticator = BudgetedAuthenticator(settings.app_id, settings.api_key, budget)
    return client_for(settings, governor, authenticator, max_retries=CHECK_MAX_RETRIES)


def run_check(config: Mapping[str, Any], budget: RequestBudget | None = None) -> CheckReport:
    budget = budget or RequestBudget()
    return Checker(build_client(config, budget), budget).run()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tap-ontraport-check",
        description="Probe an Ontraport account with at most 100 requests and report how its API "
                    "behaves where the tap has a choice to make. The report holds no credential "
                    "and no record value.")
    parser.add_argument("--config", type=Path, required=True, help="the tap's config.json")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="text (default) or json")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(levelname)s %(message)s")
    install_redaction()
    try:
        report = run_check(load_config(args.config))
    except OntraportError as error:
        for line in str(error).splitlines():
            print(f"tap-ontraport-check: {REDACTOR.redact(line)}", file=sys.stderr)
        return 1
    output = render_json(report) if args.format == "json" else render_text(report)
    print(REDACTOR.redact(output))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
