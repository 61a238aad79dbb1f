"""Collection parameters and the JSON ``condition`` language (reference section 4.3).

Parsing turns query-string text into checked values (or a QueryError, answered as 400);
evaluation follows SQL where the reference is silent: a comparison with a NULL value is
false, numbers compare as numbers when both sides are numeric, text compares
case-insensitively, and AND/OR are applied left to right with no precedence.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

MAX_RANGE = 50  # default and maximum page size
OPERATORS = ("=", "<>", ">", "<", ">=", "<=", "IN", "NOT IN", "IS", "LIKE")
JOINS = ("AND", "OR")
_NUMERIC = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


#: The real API's whole plain-text answer (HTTP 400) to a condition on a field the object
#: does not have (seen in a production request log); the sandbox gives it for a sort too.
INVALID_QUERY = "Invalid query"


class QueryError(ValueError):
    """A request parameter the API would refuse (HTTP 400)."""


@dataclass(frozen=True)
class FieldPolicy:
    """Which fields a query may name, and what a name outside them does."""

    known: Collection[str]
    ignore_unknown: bool = False  # True: the field reads as null (a sort on it is dropped)

    def check(self, name: str) -> None:
        if name not in self.known and not self.ignore_unknown:
            raise QueryError(INVALID_QUERY)


def as_number(value: Any) -> int | float | None:
    """The number a value stands for (12, "12", "12.50"), or None if it is not numeric."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str) and _NUMERIC.fullmatch(value):
        return float(value) if "." in value else int(value)
    return None


def _text(value: Any) -> str:
    return value.casefold() if isinstance(value, str) else ("" if isinstance(value, (list, dict)) else str(value).casefold())


def _like(pattern: str) -> re.Pattern:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(regex, re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Comparison:
    field: str
    op: str
    value: Any  # scalar; tuple of scalars for IN / NOT IN; "NULL" / "NOT NULL" for IS

    def test(self, actual: Any) -> bool:
        op = self.op
        if op == "IS":
            return (actual is None) == (self.value == "NULL")
        if actual is None:
            return False  # SQL: anything compared with NULL is not true
        if op == "IN":
            return any(_equal(actual, v) for v in self.value)
        if op == "NOT IN":
            return not any(_equal(actual, v) for v in self.value)
        if self.value is None:
            return False
        if op == "LIKE":
            return _like(str(self.value)).fullmatch(_text(actual)) is not None
        if op == "=":
            return _equal(actual, self.value)
        if op == "<>":
            return not _equal(actual, self.value)
        left: Any = as_number(actual)
        right: Any = as_number(self.value)
        if left is None or right is None:
            left, right = _text(actual), _text(self.value)
        if op == ">":
            return left > right
        if op == "<":
            return left < right
        if op == ">=":
            return left >= right
        return left <= right  # "<="


def _equal(actual: Any, expected: Any) -> bool:
    if expected is None:
        return False
    left, right = as_number(actual), as_number(expected)
    if left is not None and right is not None:
        return left == right
    return _text(actual) == _text(expected)


@dataclass(frozen=True)
class Condition:
    terms: tuple[Comparison, ...]
    joins: tuple[str, ...]  # "AND"/"OR" between consecutive terms

    @property
    def conjunctive(self) -> bool:
        return all(j == "AND" for j in self.joins)

    def matches(self, value_of: Callable[[str], Any]) -> bool:
        """Left-to-right evaluation: ((t1 op t2) op t3) ... (precedence is UNCONFIRMED)."""
        result = self.terms[0].test(value_of(self.terms[0].field))
        for join, term in zip(self.joins, self.terms[1:]):
            if join == "AND":
                result = result and term.test(value_of(term.field))
            else:
                result = result or term.test(value_of(term.field))
        return result


def _scalar(value: Any, what: str) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    raise QueryError(f"Invalid condition: {what} must be a scalar value")


def _parse_term(term: Any, fields: FieldPolicy) -> Comparison:
    if not isinstance(term, dict) or not isinstance(term.get("field"), dict):
        raise QueryError('Invalid condition: each condition needs "field":{"field":NAME}')
    name = term["field"].get("field")
    if not isinstance(name, str):
        raise QueryError(INVALID_QUERY)
    fields.check(name)
    op = term.get("op")
    op = op.strip().upper() if isinstance(op, str) else op
    if op not in OPERATORS:
        raise QueryError(f"Invalid condition: unknown operator {term.get('op')!r}")
    raw = term.get("value")
    if op in ("IN", "NOT IN"):
        items = raw.get("list") if isinstance(raw, dict) else None
        if not isinstance(items, list) or not all(isinstance(i, dict) and "value" in i for i in items):
            raise QueryError(f'Invalid condition: {op} takes "value":{{"list":[{{"value":..}},..]}}')
        return Comparison(name, op, tuple(_scalar(i["value"], "a list value") for i in items))
    if op == "IS":
        if isinstance(raw, dict):  # tolerated: {"value":"NULL"}
            raw = raw.get("value")
        if not isinstance(raw, str) or raw.strip().upper() not in ("NULL", "NOT NULL"):
            raise QueryError('Invalid condition: IS takes "value":"NULL" or "NOT NULL"')
        return Comparison(name, op, raw.strip().upper())
    if not isinstance(raw, dict) or "value" not in raw:
        raise QueryError(f'Invalid condition: {op} takes "value":{{"value":..}}')
    return Comparison(name, op, _scalar(raw["value"], "value"))


def parse_condition(text: str | None, fields: FieldPolicy) -> Condition | None:
    """Parse the JSON condition; None when there is none. Raises QueryError."""
    if text is None or not text.strip():
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        raise QueryError("Invalid condition: not valid JSON") from None
    if isinstance(parsed, dict):
        parsed = [parsed]
    if not isinstance(parsed, list):
        raise QueryError("Invalid condition: expected a JSON array")
    if not parsed:
        return None
    if len(parsed) % 2 == 0:
        raise QueryError('Invalid condition: conditions must alternate with "AND"/"OR"')
    terms, joins = [], []
    for index, item in enumerate(parsed):
        if index % 2:
            if not isinstance(item, str) or item.strip().upper() not in JOINS:
                raise QueryError(f'Invalid condition: expected "AND" or "OR", got {item!r}')
            joins.append(item.strip().upper())
        else:
            terms.append(_parse_term(item, fields))
    return Condition(tuple(terms), tuple(joins))


# --- Integer-column filters: the fast path for conditions on the key, date and dlm -----------

_LOW, _HIGH = -(1 << 62), 1 << 62


@dataclass
class IntFilter:
    """What a conjunction of comparisons allows on one integer column."""

    low: int = _LOW
    high: int = _HIGH
    allowed: set[int] | None = None  # None: any value in [low, high]
    excluded: set[int] = field(default_factory=set)

    @property
    def is_range(self) -> bool:
        return self.allowed is None and not self.excluded

    def restrict_to(self, values: Iterable[int]) -> None:
        values = set(values)
        self.allowed = values if self.allowed is None else self.allowed & values

    def add(self, term: Comparison) -> bool:
        """Fold a comparison in; False when it cannot be expressed here (left to the slow path)."""
        if term.op in ("IN", "NOT IN"):
            numbers = [as_number(v) for v in term.value]
            if any(n is None for n in numbers):
                return False
            keys = {int(n) for n in numbers if n is not None and n == int(n)}
            if term.op == "IN":
                self.restrict_to(keys)
            else:
                self.excluded |= keys
            return True
        number = as_number(term.value)
        if number is None or term.op not in ("=", "<>", ">", "<", ">=", "<="):
            return False
        whole = number == int(number)
        if term.op == "=":
            self.restrict_to({int(number)} if whole else set())
        elif term.op == "<>":
            if whole:
                self.excluded.add(int(number))
        elif term.op == ">":
            self.low = max(self.low, math.floor(number) + 1)
        elif term.op == ">=":
            self.low = max(self.low, math.ceil(number))
        elif term.op == "<":
            self.high = min(self.high, math.ceil(number) - 1)
        else:
            self.high = min(self.high, math.floor(number))
        return True

    def accepts(self, value: int) -> bool:
        if not self.low <= value <= self.high:
            return False
        if self.allowed is not None and value not in self.allowed:
            return False
        return value not in self.excluded


def split_indexed(condition: Condition | None, columns: dict[str, str]
                  ) -> tuple[dict[str, IntFilter], Condition | None]:
    """Split a condition into filters on integer columns ({field: column}) and the rest.

    Only an all-AND condition can be split; the remainder is what must be evaluated on
    generated field values.
    """
    if condition is None:
        return {}, None
    if not condition.conjunctive:
        return {}, condition
    filters: dict[str, IntFilter] = {}
    rest = []
    for term in condition.terms:
        column = columns.get(term.field)
        if column is not None and filters.setdefault(column, IntFilter()).add(term):
            continue
        rest.append(term)
    residual = Condition(tuple(rest), ("AND",) * (len(rest) - 1)) if rest else None
    return filters, residual


# --- Collection parameters -----------------------------------------------------------------


@dataclass(frozen=True)
class CollectionParams:
    start: int = 0
    range: int = MAX_RANGE
    sort: str | None = None
    descending: bool = False
    condition: Condition | None = None
    list_fields: tuple[str, ...] | None = None
    ids: frozenset[int] | None = None
    count: bool = False
    search: str | None = None


def _int_param(params: dict[str, str], name: str, default: int) -> int:
    text = params.get(name, "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise QueryError(f"Invalid {name}: {text[:40]!r} is not an integer") from None


def is_true(text: str | None) -> bool:
    return (text or "").strip().lower() in ("1", "true")


def parse_collection_params(params: dict[str, str], fields: FieldPolicy) -> CollectionParams:
    start = _int_param(params, "start", 0)
    if start < 0:
        raise QueryError("Invalid start: must not be negative")
    page = _int_param(params, "range", MAX_RANGE)
    page = MAX_RANGE if page <= 0 else min(page, MAX_RANGE)
    sort = params.get("sort", "").strip() or None
    if sort is not None:
        fields.check(sort)
        if sort not in fields.known:
            sort = None  # an ignored unknown field: the default order
    listed = tuple(f.strip() for f in params.get("listFields", "").split(",") if f.strip())
    id_tokens = [t.strip() for t in params.get("ids", "").split(",") if t.strip()]
    try:
        ids = frozenset(int(t) for t in id_tokens)
    except ValueError:
        raise QueryError("Invalid ids: expected comma-separated integers") from None
    return CollectionParams(
        start=start, range=page, sort=sort,
        descending=params.get("sortDir", "").strip().lower() == "desc",
        condition=parse_condition(params.get("condition"), fields),
        # absent, empty or "0" (one client always sends ids=0): no id filter
        list_fields=listed or None, ids=None if ids <= {0} else ids, count=is_true(params.get("count")),
        search=params.get("search", "").strip() or None,
    )


def sort_key(value: Any) -> tuple:
    """Order like SQL ascending: NULLs and empties first, then numbers numerically, then text."""
    if value is None or value == "":
        return (0, 0)
    number = as_number(value)
    if number is not None:
        return (1, number)
    return (2, _text(value))
