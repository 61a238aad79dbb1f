"""Ontraport field types -> JSON Schema, and the coercion of raw API values.

A field's JSON type depends only on its Ontraport field type, never on the values seen,
so a warehouse column never has to change type between runs. Every value is coerced by
the function of its type; a value that can't be coerced becomes null and is counted
(`CoercionReport`), it never stops the run and never drops the record.

What the API sends (reference section 2.2): mostly strings ("8", "1.00", "1538603619"),
sometimes raw JSON numbers, `null` and "" for empty, "0" for unset dates, "0"/"1" or
"true"/"false" for flags, "*/*1*/*2*/*" for multi-value fields, option ids for dropdowns.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

#: Returned by a coercer for a value it cannot turn into its type.
INVALID = object()

#: Suffixes of the companion columns that carry option labels.
LABEL_SUFFIX = "_label"
LABELS_SUFFIX = "_labels"

_NULLABLE_STRING = {"type": ["string", "null"]}
_DATE_TIME = {"type": ["string", "null"], "format": "date-time"}

# Ontraport field type -> JSON Schema of the column. Types not listed are strings.
SCHEMA_BY_TYPE: dict[str, dict] = {
    "numeric": {"type": ["number", "null"]},
    "price": {"type": ["number", "null"]},
    "check": {"type": ["boolean", "null"]},
    "timestamp": _DATE_TIME,
    "fulldate": _DATE_TIME,
    "parent": {"type": ["integer", "null"]},
    "drop": _NULLABLE_STRING,  # the stored option id; its label goes to <field>_label
    "list": {"type": ["array", "null"], "items": {"type": "string"}},  # option ids
    "subscription": {"type": ["array", "null"], "items": {"type": "integer"}},  # record ids
}
KNOWN_TEXT_TYPES = frozenset(
    {"text", "longtext", "email", "phone", "sms", "url", "state", "country", "mergefield",
     "address", "image", "unique", "related_data"}
)
#: Keys of list rows that carry related data are paths of fields: "f2251//f2232//f2225".
RELATED_SEPARATOR = "//"
PRIMARY_KEY_SCHEMA = {"type": "integer"}


def is_known_type(ontraport_type: str) -> bool:
    """Whether we have a deliberate mapping for this field type (else it is a string)."""
    return ontraport_type in SCHEMA_BY_TYPE or ontraport_type in KNOWN_TEXT_TYPES


def schema_for_type(ontraport_type: str) -> dict:
    """The JSON Schema of a column of this Ontraport field type."""
    return dict(SCHEMA_BY_TYPE.get(ontraport_type, _NULLABLE_STRING))


# --- coercers: raw API value -> JSON-ready value, None for empty, INVALID if impossible ---


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def to_text(value: Any) -> Any:
    """Strings stay as they are; numbers become their text; structures become JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    if value == [] or value == {}:  # PHP's empty map, where a string was expected
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def to_integer(value: Any) -> Any:
    if type(value) is str and value.isdigit():  # the usual case: "8"
        return int(value)
    if _is_empty(value):
        return None
    if isinstance(value, bool):
        return INVALID
    if isinstance(value, int):
        return value
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return INVALID
    if not number.is_finite() or number != number.to_integral_value():
        return INVALID
    return int(number)


def to_number(value: Any) -> Any:
    if type(value) is str and value:
        try:
            number = Decimal(value)  # the usual case: "12.50"
        except InvalidOperation:
            return _loose_number(value)
        return number if number.is_finite() else INVALID
    if _is_empty(value):
        return None
    if isinstance(value, bool):
        return INVALID
    if isinstance(value, int):
        return value
    return _loose_number(str(value))


def _loose_number(text: str) -> Any:
    """' 1,250.75 ' and the like; anything else is not a number."""
    try:
        number = Decimal(text.strip().replace(",", ""))
    except InvalidOperation:
        return INVALID
    return number if number.is_finite() else INVALID


_TRUE = frozenset({"1", "true", "yes", "on", "checked"})
_FALSE = frozenset({"0", "false", "no", "off", "unchecked"})


def to_boolean(value: Any) -> Any:
    if _is_empty(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return INVALID


_RFC3339 = "%Y-%m-%dT%H:%M:%SZ"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
# Timestamps outside this range are garbage rather than dates (year 1000 .. 9999).
_MIN_EPOCH = -30_610_224_000
_MAX_EPOCH = 253_402_300_799


def to_datetime(value: Any) -> Any:
    """Unix seconds (string or number) -> RFC 3339 UTC; "0", "", null -> null."""
    seconds: float
    if type(value) is str and value.isdigit() and 0 < len(value) <= 11:  # the usual case
        seconds = int(value)
        return time.strftime(_RFC3339, time.gmtime(seconds)) if seconds else None
    if _is_empty(value):
        return None
    if isinstance(value, bool):
        return INVALID
    if isinstance(value, (int, float)):
        seconds = value
    else:
        text = str(value).strip()
        try:
            seconds = int(text)
        except ValueError:
            try:
                seconds = float(text)
            except ValueError:
                return _iso_text_to_datetime(text)
    if seconds == 0:  # Ontraport's "never / unset"
        return None
    if not _MIN_EPOCH <= seconds <= _MAX_EPOCH:
        return INVALID
    moment = _EPOCH + dt.timedelta(seconds=seconds)
    return moment.isoformat().replace("+00:00", "Z")


def parse_iso8601(text: str) -> dt.datetime | None:
    """An ISO 8601 date or date-time text as an aware UTC datetime (naive means UTC)."""
    try:
        moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)


def _iso_text_to_datetime(text: str) -> Any:
    """Accept an ISO 8601 date or date-time text, should the API ever send one."""
    moment = parse_iso8601(text)
    return INVALID if moment is None else moment.isoformat().replace("+00:00", "Z")


def to_string_list(value: Any) -> Any:
    """'*/*1*/*2*/*' -> ['1', '2']; '*/**/*', '' and null -> []."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [str(item) for item in value if item not in (None, "")]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [str(value)]
    if isinstance(value, str):
        return [part for part in value.strip().split("*/*") if part.strip()]
    return INVALID


def to_integer_list(value: Any) -> Any:
    items = to_string_list(value)
    if items is INVALID:
        return INVALID
    integers = [to_integer(item) for item in items]
    return INVALID if INVALID in integers or None in integers else integers


COERCER_BY_TYPE: dict[str, Callable[[Any], Any]] = {
    "numeric": to_number,
    "price": to_number,
    "check": to_boolean,
    "timestamp": to_datetime,
    "fulldate": to_datetime,
    "parent": to_integer,
    "drop": to_text,
    "list": to_string_list,
    "subscription": to_integer_list,
}


def coercer_for_type(ontraport_type: str) -> Callable[[Any], Any]:
    return COERCER_BY_TYPE.get(ontraport_type, to_text)


# --- the fields of one object ---


@dataclass(frozen=True)
class FieldSpec:
    """One field of an object, as meta (or our table of documented fields) describes it."""

    name: str
    ontraport_type: str
    alias: str = ""
    options: Mapping[str, str] = field(default_factory=dict)  # option id -> label
    parent_object: int | None = None
    in_meta: bool = True  # False: known only from the documented fields, or from records
    related_path: str | None = None  # related_data: the record key its value comes under

    @property
    def has_labels(self) -> bool:
        """A drop/list field gets a label column, unless we know no labels for it at all
        (a documented field meta doesn't list): that column would always be null."""
        return self.ontraport_type in ("drop", "list") and (self.in_meta or bool(self.options))


def parse_options(raw: Any) -> dict[str, str]:
    """Meta `options`: {"0": "Live"}; a client says it may also be a list; [] means none."""
    if isinstance(raw, Mapping):
        return {str(key): to_text(label) or "" for key, label in raw.items()}
    if isinstance(raw, list):
        options: dict[str, str] = {}
        for position, item in enumerate(raw):
            if isinstance(item, Mapping):
                key = item.get("id", item.get("value", position))
                options[str(key)] = to_text(item.get("label", item.get("name", ""))) or ""
            else:
                options[str(position)] = to_text(item) or ""
        return options
    return {}


def field_from_meta(name: str, raw: Mapping[str, Any]) -> FieldSpec:
    """A field as meta lists it; `parent_object` comes as 2, "10002" or "0" (Contact)."""
    parent = to_integer(raw.get("parent_object"))
    ontraport_type = str(raw.get("type") or "text")
    extra_data = to_text(raw.get("extra_data")) or ""
    related = ontraport_type == "related_data" and RELATED_SEPARATOR in extra_data
    return FieldSpec(
        name=name,
        ontraport_type=ontraport_type,
        alias=to_text(raw.get("alias")) or "",
        options=parse_options(raw.get("options")),
        parent_object=parent if isinstance(parent, int) else None,
        related_path=extra_data.strip() if related else None,
    )


def column_for_key(key: str) -> str:
    """A warehouse-safe column for a record key: 'f2251//f2207//firstname' -> 'f2251__f2207__firstname'."""
    column = re.sub(r"[^0-9A-Za-z_]+", "_", key.replace(RELATED_SEPARATOR, "__")).strip("_")
    return column or "field"


def label_columns(fields: Iterable[FieldSpec]) -> dict[str, str]:
    """Column that carries the labels of each drop/list field: `<field>_label(s)`.

    Should the account already have a field of that name, the companion takes a double
    underscore instead, so no column is ever overwritten.
    """
    specs = list(fields)
    taken = {spec.name for spec in specs}
    columns: dict[str, str] = {}
    for spec in specs:
        if not spec.has_labels:
            continue
        suffix = LABEL_SUFFIX if spec.ontraport_type == "drop" else LABELS_SUFFIX
        column = spec.name + suffix
        while column in taken:
            column = spec.name + "_" + column[len(spec.name):]
        taken.add(column)
        columns[spec.name] = column
    return columns


def build_schema(primary_key: str, fields: Iterable[FieldSpec]) -> dict:
    """The stream's JSON Schema: the key, every field by its type, label companions."""
    specs = list(fields)
    companions = label_columns(specs)
    properties: dict[str, dict] = {primary_key: dict(PRIMARY_KEY_SCHEMA)}
    for spec in specs:
        if spec.name == primary_key:
            continue
        properties[spec.name] = schema_for_type(spec.ontraport_type)
        if spec.name not in companions:
            continue
        if spec.ontraport_type == "drop":
            properties[companions[spec.name]] = dict(_NULLABLE_STRING)
        elif spec.ontraport_type == "list":
            properties[companions[spec.name]] = {
                "type": ["array", "null"], "items": {"type": ["string", "null"]}
            }
    return {"type": "object", "properties": properties, "required": [primary_key]}


class CoercionReport:
    """Run-wide counts of values that could not be coerced and of unknown fields.

    Shared by every stream of a run and reported once at the end of the run instead of a
    warning per value. Records are coerced in the main thread only (worker threads just
    fetch pages), so the counters need no lock.
    """

    def __init__(self) -> None:
        self.invalid_values: Counter[tuple[str, str, str]] = Counter()  # (stream, field, type)
        self.invalid_examples: dict[tuple[str, str, str], str] = {}
        self.unknown_types: set[tuple[str, str, str]] = set()  # (stream, field, type)
        self.unmatched_options: Counter[tuple[str, str]] = Counter()  # (stream, field)

    def count_invalid(self, stream: str, field_name: str, ontraport_type: str, raw: Any) -> None:
        key = (stream, field_name, ontraport_type)
        self.invalid_values[key] += 1
        # A short, type-revealing example: enough to debug, too short to leak a record.
        self.invalid_examples.setdefault(key, repr(raw)[:40])

    def count_unmatched_option(self, stream: str, field_name: str) -> None:
        self.unmatched_options[(stream, field_name)] += 1

    def note_unknown_type(self, stream: str, field_name: str, ontraport_type: str) -> None:
        self.unknown_types.add((stream, field_name, ontraport_type))

    def lines(self) -> list[str]:
        """One human line per (stream, field) whose values were not all loaded, for the end-of-run report."""
        out = []
        for (stream, name, ftype), count in sorted(self.invalid_values.items()):
            example = self.invalid_examples[(stream, name, ftype)]
            out.append(
                f"{stream}.{name}: {count} value(s) could not be read as {ftype} and were "
                f"loaded as null (e.g. {example})"
            )
        for (stream, name), count in sorted(self.unmatched_options.items()):
            out.append(
                f"{stream}.{name}: {count} option id(s) not among the field's options in "
                "meta; loaded with a null label"
            )
        return out

    def loaded_lines(self) -> list[str]:
        """Oddities that cost no data (a field of a type we don't know is loaded as text)."""
        return [
            f"{stream}.{name}: unknown field type {ftype!r}, loaded as text"
            for stream, name, ftype in sorted(self.unknown_types)
        ]


class RecordCoercer:
    """Turns one raw API record of a stream into a typed record of its schema.

    Built once per stream from its FieldSpecs: a flat table of record key -> (coercer,
    spec, label column) so the per-record work is one dictionary pass; the column is
    `spec.name` (a related-data key loads under its `related_data` field's column). Text,
    the commonest type, is passed through without a call when it already is a string.

    A key no spec describes is never dropped: it gets a column of its own, typed by
    `type_of` (the documented type, else text), and waits in `learned` until the stream
    has announced the new column with a SCHEMA message.
    """

    def __init__(
        self,
        stream_name: str,
        primary_key: str,
        fields: Iterable[FieldSpec],
        report: CoercionReport,
        type_of: Callable[[str], str] = lambda name: "text",
    ) -> None:
        self.stream_name = stream_name
        self.report = report
        self.type_of = type_of
        self.learned: list[FieldSpec] = []
        fields = list(fields)
        companions = label_columns(fields)
        self._plan: dict[str, tuple[Callable[[Any], Any], FieldSpec, str | None]] = {
            primary_key: (to_integer, FieldSpec(primary_key, "parent"), None)
        }
        for spec in fields:
            if spec.name == primary_key:
                continue
            if not is_known_type(spec.ontraport_type):
                report.note_unknown_type(stream_name, spec.name, spec.ontraport_type)
            self._plan[spec.name] = (coercer_for_type(spec.ontraport_type), spec, companions.get(spec.name))
            if spec.related_path:
                self._plan.setdefault(spec.related_path, (to_text, spec, None))
        self._columns = set(build_schema(primary_key, fields)["properties"])

    def coerce(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        record: dict[str, Any] = {}
        plan = self._plan
        for name, value in raw.items():
            step = plan.get(name)
            if step is None:
                step = self._learn(name)
            coerce, spec, label_column = step
            if coerce is to_text and label_column is None and type(value) is str:
                record[spec.name] = value
                continue
            result = coerce(value)
            if result is INVALID:
                self.report.count_invalid(self.stream_name, spec.name, spec.ontraport_type, value)
                result = None
            record[spec.name] = result
            if label_column is not None:
                record[label_column] = self._labels(spec, result)
        return record

    def take_learned(self) -> list[FieldSpec]:
        """The columns added since the last call (the stream announces them)."""
        learned, self.learned = self.learned, []
        return learned

    def _learn(self, key: str) -> tuple[Callable[[Any], Any], FieldSpec, None]:
        """A column for a key no spec describes: its own name, or a safe one for a path."""
        related = RELATED_SEPARATOR in key
        column = column_for_key(key) if related or not key.strip() else key
        while column in self._columns:  # e.g. a key named like a label companion column
            column += "_"
        ontraport_type = "text" if related else self.type_of(key)
        spec = FieldSpec(column, ontraport_type, in_meta=False, related_path=key if related else None)
        step = (coercer_for_type(ontraport_type), spec, None)
        self._plan[key] = step
        self._columns.add(column)
        self.learned.append(spec)
        return step

    def _labels(self, spec: FieldSpec, value: Any) -> Any:
        """The label(s) of a drop (one option id) or list (several) field's value."""
        if spec.ontraport_type == "drop":
            if value in (None, ""):
                return None
            label = spec.options.get(value)
            if label is None and spec.options:
                self.report.count_unmatched_option(self.stream_name, spec.name)
            return label
        if value is None:
            return None
        labels = []
        for option_id in value:
            label = spec.options.get(option_id)
            if label is None:
                self.report.count_unmatched_option(self.stream_name, spec.name)
            labels.append(label)
        return labels
