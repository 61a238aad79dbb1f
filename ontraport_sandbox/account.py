"""The sandbox account: every object's records, deterministic from the seed.

A record is not stored as a dict. Each object keeps compact integer columns sorted by id
(id, date, dlm, version) and two sorted indexes on (dlm, id) and (date, id); the wire dict
is made on demand from (seed, object, id, version) by ``generate.py``, with a small
overrides dict for values set through the mutation API. That keeps 100,000 contacts in a
few megabytes and lets conditions on the key, date and dlm run on the columns without
making any record.
"""

from __future__ import annotations

import copy
import random
import threading
import time
from array import array
from bisect import bisect_left, bisect_right, insort
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import groupby
from operator import itemgetter
from typing import Any

from .catalog import (
    ACCOUNT_OBJECTS,
    EPOCH_END,
    EPOCH_START,
    ODD_SHARE,
    ODD_VALUES,
    FieldSpec,
    ObjectSpec,
)
from .generate import GENERATORS, Context, Dice, as_json_number, mix64, name_salt
from .query import CollectionParams, IntFilter, sort_key, split_indexed

_ID_BITS = 32
_ID_MASK = (1 << _ID_BITS) - 1
# (stamp << 32 | id) must fit a signed 64-bit array item: stamps stay within 32 bits
_MIN_STAMP, _MAX_STAMP = -(1 << 31), (1 << 31) - 1
_VERSION_SALT = 0x7E75
_ODD_SALT = 0x0DD
#: Share of a record's fields that an update without explicit values regenerates.
EDIT_SHARE = 0.2
#: Rendered records kept per object (about 7 KB per contact), so re-reads are cheap.
RENDER_CACHE_SIZE = 4096
#: Field types a free-text ``search`` looks in.
SEARCHED_TYPES = {"text", "longtext", "email", "phone", "sms", "url", "state", "country"}
#: Generated records (before any value set through the API) kept for alike objects of every
#: account made in this process (about 7 KB a contact), and the objects whose columns are kept.
SHARED_RENDERS = 40_000
SHARED_COLUMNS = 256


class _Shared:
    """At most `most` values by key, the least recently used dropped first; thread-safe."""

    def __init__(self, most: int) -> None:
        self.most = most
        self._lock = threading.Lock()
        self._values: OrderedDict[tuple, Any] = OrderedDict()

    def get(self, key: tuple) -> Any:
        with self._lock:
            found = self._values.get(key)
            if found is not None:
                self._values.move_to_end(key)
            return found

    def keep(self, key: tuple, value: Any) -> None:
        with self._lock:
            self._values[key] = value
            if len(self._values) > self.most:
                self._values.popitem(last=False)


class _Generated:
    """What an object's generation parameters alone decide, shared by every store made with them.

    The test suites start hundreds of sandboxes of a few alike accounts in one process: each
    used to make the same columns and render the same records again (about 0.5 ms a record).
    A store's columns and generated records depend only on its `key` (seed, odd values, its
    spec and size, and the spec and size of each object its parent fields pick ids from), and
    a record's also on (id, version, date, dlm): alike stores copy the columns (each changes
    its own) and read generated records through here. What one account changes is never seen
    by another: values set through the API stay in the store's own overrides, applied on a copy.
    """

    columns = _Shared(SHARED_COLUMNS)  # key -> (ids, dates, dlms, by_date, by_dlm)
    renders = _Shared(SHARED_RENDERS)  # (key, id, version, date, dlm) -> generated record


class ObjectStore:
    """The records of one object type."""

    def __init__(self, spec: ObjectSpec, seed: int, size: int, odd_values: bool,
                 pick_id: Callable[[int, Dice], str | None], key: tuple | None = None):
        self.spec = spec
        #: What the generated columns and records depend on (see _Generated); None: not shared
        self.key = key
        self.seed = seed
        self.odd_values = odd_values
        self.pick_id = pick_id
        self.ids = array("q")  # sorted; the other columns are aligned with it
        self.dates = array("q")
        self.dlms = array("q")
        self.versions = array("q")
        self.by_date = array("q")  # (date << 32 | id), sorted
        self.by_dlm = array("q")  # (dlm << 32 | id), sorted
        self.overrides: dict[int, dict[str, Any]] = {}
        # (id, version, date, dlm) -> rendered record; any change of a record changes its key
        self._rendered: OrderedDict[tuple, dict[str, Any]] = OrderedDict()
        self._storage: list[int] | None = None  # ids in "storage" (unsorted) order, lazily
        self.stored_fields = [(f, name_salt(f.name)) for f in spec.fields if f.stored]
        self.fields = {f.name: f for f, _ in self.stored_fields}
        self.known_fields = {spec.primary_key, *self.fields}
        # wire field -> integer column the fast path can filter and sort on
        self.columns = {spec.primary_key: "id"}
        if spec.date_field:
            self.columns[spec.date_field] = "date"
        if spec.dlm_field:
            self.columns[spec.dlm_field] = "dlm"
        self._odd = {f.name: ODD_VALUES[f"{spec.meta_name}.{f.name}"] for f, _ in self.stored_fields
                     if f"{spec.meta_name}.{f.name}" in ODD_VALUES} if odd_values else {}
        self._fixed = {int(r[spec.primary_key]): r for r in spec.fixed_records}
        columns = _Generated.columns.get(key) if key is not None else None
        if columns is None:
            self._populate(size)
            if key is not None:
                _Generated.columns.keep(key, tuple(
                    array("q", c) for c in (self.ids, self.dates, self.dlms, self.by_date, self.by_dlm)))
        else:
            for mine, made in zip((self.ids, self.dates, self.dlms), columns):
                mine.extend(made)
            self.by_date, self.by_dlm = array("q", columns[3]), array("q", columns[4])
            self.versions.extend([0] * len(self.ids))
        self.initial_ids = array("q", self.ids)  # parents point at these, whatever happens later
        self.next_id = (self.ids[-1] + 1) if self.ids else 1

    # -- building --------------------------------------------------------------------------

    def _populate(self, size: int) -> None:
        """Ids with gaps, created dates rising with the id, dlm >= date, bulk-update ties."""
        rng = random.Random(f"{self.seed}:{self.spec.object_id}")
        if self._fixed:
            ids = sorted(self._fixed)
        else:
            ids, next_id = [], 1
            for _ in range(size):
                ids.append(next_id)
                next_id += 1 if rng.random() < 0.9 else rng.randint(2, 15)  # deleted records
        dates = sorted(rng.randint(EPOCH_START, EPOCH_END - 86400) for _ in ids)
        for i in range(1, len(dates)):
            if rng.random() < 0.05:
                dates[i] = dates[i - 1]  # created in the same second (imports)
        dlms = []
        for date in dates:
            if rng.random() < 0.3:
                dlms.append(date)  # never modified since created
            else:
                dlms.append(date + int((EPOCH_END - date) * rng.random() ** 1.5))
        self._bulk_update_groups(rng, dates, dlms)
        self.ids.extend(ids)
        self.dates.extend(dates)
        self.dlms.extend(dlms)
        self.versions.extend([0] * len(ids))
        self.by_date = array("q", sorted((d << _ID_BITS) | i for d, i in zip(dates, ids)))
        self.by_dlm = array("q", sorted((d << _ID_BITS) | i for d, i in zip(dlms, ids)))

    def _bulk_update_groups(self, rng: random.Random, dates: list[int], dlms: list[int]) -> None:
        """Imports and automations touch many records in one second: give groups one dlm."""
        target, covered, first = int(len(dates) * self.spec.tie_share), 0, True
        while covered < target:
            roll = rng.random()
            if first or roll < 0.08:
                size = rng.randint(60, 300)
            elif roll < 0.35:
                size = rng.randint(10, 59)
            else:
                size = rng.randint(2, 9)
            size, first = min(size, target - covered), False
            if size < 2:
                break
            stamp = rng.randint(EPOCH_START + (EPOCH_END - EPOCH_START) // 5, EPOCH_END)
            eligible = bisect_right(dates, stamp)  # created before the bulk update
            for position in rng.sample(range(eligible), min(size, eligible)):
                dlms[position] = stamp
            covered += size

    # -- reading one record -------------------------------------------------------------------

    def position(self, record_id: int) -> int | None:
        pos = bisect_left(self.ids, record_id)
        return pos if pos < len(self.ids) and self.ids[pos] == record_id else None

    def _column_value(self, field: FieldSpec, stamp: int) -> Any:
        return stamp if field.name in self.spec.raw_number_fields else str(stamp)

    def _record_state(self, record_id: int) -> int:
        return Dice(self.seed, self.spec.object_id, record_id).state

    def _generated(self, field: FieldSpec, salt: int, record: int, version: int, ctx: Context) -> Any:
        """A generated value; ``record`` is the record's folded dice state."""
        dice = Dice.derived(record, salt)
        if version:
            edited = Dice.derived(record, salt ^ (version << 32) ^ _VERSION_SALT)
            if edited.chance(EDIT_SHARE):
                dice = edited
        if self._odd and field.name in self._odd:
            if Dice.derived(record, salt ^ (_ODD_SALT << 40)).chance(ODD_SHARE):
                return self._odd[field.name]
        if field.empty and dice.chance(field.empty):
            return field.empty_as
        value = GENERATORS[field.kind](dice, field, ctx)
        if field.name in self.spec.raw_number_fields or (field.raw_number and dice.chance(field.raw_number)):
            value = as_json_number(value)
        return value

    def render(self, pos: int, only: Iterable[str] | None = None) -> dict[str, Any]:
        """The record at a position, as the API serves it (optionally only some fields)."""
        pk = self.spec.primary_key
        if only is not None:
            wanted = set(only)
            names = [pk, *self.fields] if pk in wanted else list(self.fields)
            return {name: self.value(pos, name) for name in names if name in wanted}
        key = self._cache_key(pos)
        cached = self._rendered.get(key)
        if cached is None:
            cached = self._rendered[key] = self._render(pos)
            if len(self._rendered) > RENDER_CACHE_SIZE:
                self._rendered.popitem(last=False)
        else:
            self._rendered.move_to_end(key)
        return _own_copy(cached)  # callers (hooks) may change what they get

    def _cache_key(self, pos: int) -> tuple:
        return (self.ids[pos], self.versions[pos], self.dates[pos], self.dlms[pos])

    def _render(self, pos: int) -> dict[str, Any]:
        """The generated record (shared with alike accounts, never changed), with this store's overrides."""
        key = (self.key, *self._cache_key(pos))
        generated = _Generated.renders.get(key) if self.key is not None else None
        if generated is None:
            generated = self._generate(pos)
            if self.key is not None:
                _Generated.renders.keep(key, generated)
        overrides = self.overrides.get(self.ids[pos])
        return {**generated, **overrides} if overrides else generated

    def _generate(self, pos: int) -> dict[str, Any]:
        record_id = self.ids[pos]
        record: dict[str, Any] = {self.spec.primary_key: str(record_id)}
        ctx = Context(self.dates[pos], self.pick_id)
        version = self.versions[pos]
        state = self._record_state(record_id)
        for field, salt in self.stored_fields:
            column = self.columns.get(field.name)
            if column == "date":
                record[field.name] = self._column_value(field, self.dates[pos])
            elif column == "dlm":
                record[field.name] = self._column_value(field, self.dlms[pos])
            else:
                record[field.name] = self._generated(field, salt, state, version, ctx)
        if record_id in self._fixed:
            record.update(self._fixed[record_id])
        return record

    def value(self, pos: int, name: str) -> Any:
        """One field of the record at a position, without making the rest of it."""
        record_id = self.ids[pos]
        column = self.columns.get(name)
        if column == "id":
            return str(record_id)
        cached = self._rendered.get(self._cache_key(pos))
        if cached is not None:
            return _own_value(cached[name])
        overrides = self.overrides.get(record_id)
        if overrides and name in overrides:
            return overrides[name]
        generated = _Generated.renders.get((self.key, *self._cache_key(pos))) if self.key is not None else None
        if generated is not None:
            return _own_value(generated[name])
        field = self.fields[name]
        if column == "date":
            return self._column_value(field, self.dates[pos])
        if column == "dlm":
            return self._column_value(field, self.dlms[pos])
        if record_id in self._fixed and name in self._fixed[record_id]:
            return self._fixed[record_id][name]
        ctx = Context(self.dates[pos], self.pick_id)
        return self._generated(field, name_salt(name), self._record_state(record_id), self.versions[pos], ctx)

    # -- mutation ------------------------------------------------------------------------------

    def _set_column(self, pos: int, column: str, stamp: int) -> None:
        values, index = (self.dates, self.by_date) if column == "date" else (self.dlms, self.by_dlm)
        record_id = self.ids[pos]
        del index[bisect_left(index, (values[pos] << _ID_BITS) | record_id)]
        values[pos] = stamp
        insort(index, (stamp << _ID_BITS) | record_id)

    def _apply(self, pos: int, values: dict[str, Any] | None) -> None:
        """Set values: date/dlm go to their columns, the rest to the overrides."""
        pk = self.spec.primary_key
        for name, value in (values or {}).items():
            if name == pk:
                raise ValueError(f"cannot change {pk}")
            column = self.columns.get(name)
            if column in ("date", "dlm"):
                self._set_column(pos, column, int(value))
            else:
                self.overrides.setdefault(self.ids[pos], {})[name] = value

    def insert(self, values: dict[str, Any] | None, now: int) -> int:
        record_id = self.next_id
        self.next_id += 1
        self.ids.append(record_id)  # the highest id: appending keeps the columns sorted
        self.dates.append(now)
        self.dlms.append(now)
        self.versions.append(0)
        insort(self.by_date, (now << _ID_BITS) | record_id)
        insort(self.by_dlm, (now << _ID_BITS) | record_id)
        if self._storage is not None:
            self._storage.append(record_id)  # new rows land at the end of the table
        self._apply(len(self.ids) - 1, values)
        return record_id

    def update(self, record_id: int, values: dict[str, Any] | None, now: int) -> None:
        pos = self._existing(record_id)
        self.versions[pos] += 1
        self._set_column(pos, "dlm", now)
        self._apply(pos, values)

    def delete(self, record_id: int) -> None:
        pos = self._existing(record_id)
        del self.by_date[bisect_left(self.by_date, (self.dates[pos] << _ID_BITS) | record_id)]
        del self.by_dlm[bisect_left(self.by_dlm, (self.dlms[pos] << _ID_BITS) | record_id)]
        for column in (self.ids, self.dates, self.dlms, self.versions):
            del column[pos]
        self.overrides.pop(record_id, None)
        if self._storage is not None:
            self._storage.remove(record_id)

    def set_dlm(self, record_id: int, dlm: int) -> None:
        self._set_column(self._existing(record_id), "dlm", int(dlm))

    def _existing(self, record_id: int) -> int:
        pos = self.position(record_id)
        if pos is None:
            raise KeyError(f"{self.spec.meta_name} {record_id} does not exist")
        return pos

    # -- collection reads ------------------------------------------------------------------------

    def storage_order(self) -> list[int]:
        """A fixed pseudo-random order, like rows of a table read without ORDER BY."""
        if self._storage is None:
            initial = set(self.initial_ids)
            salt = mix64(self.seed * 1_000_003 + self.spec.object_id)
            self._storage = sorted(self.ids, key=lambda i: (i not in initial, mix64(salt ^ i) if i in initial else i))
        return self._storage

    def matches(self, params: CollectionParams, rng: random.Random) -> Matches:
        return Matches(self, params, rng)


class Matches:
    """The records a collection read matches, ordered and paged as the API does."""

    def __init__(self, store: ObjectStore, params: CollectionParams, rng: random.Random):
        self.store, self.params, self.rng = store, params, rng
        filters, residual = split_indexed(params.condition, store.columns)
        self.id_filter = filters.get("id", IntFilter())
        if params.ids is not None:
            self.id_filter.restrict_to(params.ids)
        self.date_filter = filters.get("date")
        self.dlm_filter = filters.get("dlm")
        self.residual = residual
        self.search = params.search.casefold() if params.search else None
        self.searched = [f.name for f, _ in store.stored_fields if f.type in SEARCHED_TYPES]

    # -- which positions match ----------------------------------------------------------------

    def _positions(self) -> Sequence[int]:
        """Positions (ascending) whose id passes the id bounds and id list."""
        ids, f = self.store.ids, self.id_filter
        low, high = bisect_left(ids, f.low), bisect_right(ids, f.high)
        if f.allowed is not None:
            found = (bisect_left(ids, i) for i in sorted(f.allowed) if f.low <= i <= f.high)
            return [p for p in found if p < len(ids) and ids[p] in f.allowed]
        return range(low, high)

    def _only_id_bounds(self) -> bool:
        """True when nothing but a range of ids restricts the matches."""
        return (self.id_filter.is_range and self.date_filter is None and self.dlm_filter is None
                and not self._needs_record_values())

    def _needs_record_values(self) -> bool:
        return self.residual is not None or self.search is not None

    def _passes(self, pos: int) -> bool:
        store = self.store
        if self.id_filter.excluded and store.ids[pos] in self.id_filter.excluded:
            return False
        if self.date_filter is not None and not self.date_filter.accepts(store.dates[pos]):
            return False
        if self.dlm_filter is not None and not self.dlm_filter.accepts(store.dlms[pos]):
            return False
        if self._needs_record_values():
            cache: dict[str, Any] = {}

            def value_of(name: str) -> Any:
                if name not in cache:  # a field the object lacks (an ignored unknown field) is null
                    cache[name] = store.value(pos, name) if name in store.known_fields else None
                return cache[name]

            if self.residual is not None and not self.residual.matches(value_of):
                return False
            if self.search is not None and not any(
                self.search in _searchable(value_of(name)) for name in self.searched
            ):
                return False
        return True

    def total(self) -> int:
        """How many records match, on the integer columns alone when the filters allow."""
        positions = self._positions()
        store = self.store
        if not self._needs_record_values() and not self.id_filter.excluded:
            filters = [(c, f) for c, f in ((store.dates, self.date_filter), (store.dlms, self.dlm_filter)) if f]
            if not filters and isinstance(positions, range):
                return len(positions)
            if len(filters) == 1 and filters[0][1].is_range and isinstance(positions, range):
                column, f = filters[0]
                low, high = f.low, f.high
                return sum(1 for v in column[positions.start:positions.stop] if low <= v <= high)
        return sum(1 for p in positions if self._passes(p))

    def positions(self) -> Iterator[int]:
        """Matching positions in id order (for sums and sweeps)."""
        return (p for p in self._positions() if self._passes(p))

    # -- ordering ------------------------------------------------------------------------------

    def _groups(self) -> Iterator[list[int]]:
        """Matching positions in the requested order, as groups of equal sort value."""
        store, params = self.store, self.params
        column = store.columns.get(params.sort) if params.sort else None
        if params.sort is None:
            yield from ([p] for p in self._storage_positions())
        elif column == "id":
            positions = self._positions()
            ordered = reversed(positions) if params.descending else positions
            yield from ([p] for p in ordered if self._passes(p))
        elif column in ("date", "dlm"):
            yield from self._column_groups(column)
        else:
            yield from self._value_groups(params.sort)

    def _storage_positions(self) -> Iterator[int]:
        store, f = self.store, self.id_filter
        for record_id in store.storage_order():
            if f.low <= record_id <= f.high and (f.allowed is None or record_id in f.allowed):
                pos = store.position(record_id)
                if pos is not None and self._passes(pos):
                    yield pos

    def _column_groups(self, column: str) -> Iterator[list[int]]:
        """Walk the (value, id) index of date or dlm: no record is made unless a filter needs it."""
        store, f = self.store, self.id_filter
        index = store.by_date if column == "date" else store.by_dlm
        own = self.date_filter if column == "date" else self.dlm_filter
        low = max(own.low, _MIN_STAMP) if own else _MIN_STAMP
        high = min(own.high, _MAX_STAMP) if own else _MAX_STAMP
        if own is not None and own.allowed is not None:
            if not own.allowed:
                return
            low, high = max(low, min(own.allowed)), min(high, max(own.allowed))
        start = bisect_left(index, low << _ID_BITS)
        stop = bisect_right(index, (high << _ID_BITS) | _ID_MASK)
        keys: Iterable[int] = reversed(range(start, stop)) if self.params.descending else range(start, stop)

        def matches() -> Iterator[tuple[int, int]]:  # (sort value, position), in sort order
            for k in keys:
                key = index[k]
                value, record_id = key >> _ID_BITS, key & _ID_MASK
                if not f.accepts(record_id) or (own is not None and not own.accepts(value)):
                    continue
                pos = store.position(record_id)
                if pos is not None and self._passes(pos):
                    yield value, pos

        yield from _groups(matches())

    def _value_groups(self, name: str) -> Iterator[list[int]]:
        """Any other sort field: make that field for every match, then sort (slow path)."""
        store = self.store
        keyed = sorted(((sort_key(store.value(p, name)), p) for p in self.positions()),
                       key=lambda kp: kp[0], reverse=self.params.descending)
        yield from _groups(keyed)

    def page(self) -> list[int]:
        """Positions of the requested page; equal sort values come in a new random order per request."""
        first, last = self.params.start, self.params.start + self.params.range
        if self._only_id_bounds() and self.store.columns.get(self.params.sort or "") == "id":
            positions = self._positions()  # a range: any offset is one slice away
            if self.params.descending:
                positions = positions[::-1]
            return list(positions[first:last])
        seen, page = 0, []
        for group in self._groups():
            if seen + len(group) > first:
                if len(group) > 1:
                    self.rng.shuffle(group)
                page.extend(group[max(0, first - seen):last - seen])
            seen += len(group)
            if seen >= last:
                break
        return page


def _own_value(value: Any) -> Any:
    """A value the caller may change: generated records are shared (see _Generated)."""
    return copy.deepcopy(value) if isinstance(value, (list, dict)) else value


def _own_copy(record: dict[str, Any]) -> dict[str, Any]:
    return {name: _own_value(value) for name, value in record.items()}  # an odd value may be []


def _searchable(value: Any) -> str:
    return value.casefold() if isinstance(value, str) else ""


class Account:
    """The whole account: one ObjectStore per object, behind one lock."""

    def __init__(self, seed: int = 1, scale: float = 1.0, sizes: dict | None = None,
                 odd_values: bool = False, objects: dict[int, ObjectSpec] | None = None):
        self.seed = seed
        self.lock = threading.RLock()
        self.specs = dict(sorted((objects or ACCOUNT_OBJECTS).items()))
        self.account_id = 180000 + seed % 10000
        wanted = self._sizes(scale, sizes or {})
        described = {oid: repr(spec) for oid, spec in self.specs.items()}  # a frozen spec's every value
        self.stores: dict[int, ObjectStore] = {}
        for object_id, spec in self.specs.items():
            self.stores[object_id] = ObjectStore(spec, seed, wanted[object_id], odd_values, self._pick_id,
                                                 self._generation_key(object_id, seed, odd_values, wanted, described))

    def _generation_key(self, object_id: int, seed: int, odd_values: bool, sizes: dict[int, int],
                        described: dict[int, str]) -> tuple:
        """Everything an object's generated columns and records depend on (see _Generated): the
        objects its parent and subscription fields pick ids from (`_pick_id`) included."""
        spec = self.specs[object_id]
        targets = sorted({t for f in spec.fields for t in (f.parent_object, f.subscription_object) if t is not None})
        picked_from = tuple((t, described[t], sizes[t]) if t in self.specs else (t, None, None) for t in targets)
        return seed, bool(odd_values), described[object_id], sizes[object_id], picked_from

    def _sizes(self, scale: float, overrides: dict) -> dict[int, int]:
        by_name = {spec.meta_name: oid for oid, spec in self.specs.items()}
        sizes = {oid: max(1, round(spec.size * scale)) for oid, spec in self.specs.items()}
        for key, size in overrides.items():
            oid = by_name.get(key, key) if isinstance(key, str) and not key.isdigit() else int(key)
            if oid not in self.specs:
                raise KeyError(f"unknown object {key!r}")
            sizes[oid] = int(size)
        return sizes

    def _pick_id(self, object_id: int, dice: Dice) -> str | None:
        store = self.stores.get(object_id)
        if store is None or not store.initial_ids:
            return None
        return str(store.initial_ids[dice.next() % len(store.initial_ids)])

    def store(self, object_id: int) -> ObjectStore:
        try:
            return self.stores[int(object_id)]
        except (KeyError, ValueError):
            raise KeyError(f"the account has no object {object_id!r}") from None

    # -- the public data API (see docs/sandbox.md) -------------------------------------------------

    def object_ids(self) -> list[int]:
        return sorted(self.stores)

    def meta_name(self, object_id: int) -> str:
        return self.store(object_id).spec.meta_name

    def primary_key(self, object_id: int) -> str:
        return self.store(object_id).spec.primary_key

    def count(self, object_id: int) -> int:
        with self.lock:
            return len(self.store(object_id).ids)

    def ids(self, object_id: int) -> list[int]:
        with self.lock:
            return list(self.store(object_id).ids)

    def get(self, object_id: int, record_id: int) -> dict | None:
        with self.lock:
            store = self.store(object_id)
            pos = store.position(int(record_id))
            return None if pos is None else store.render(pos)

    def insert(self, object_id: int, values: dict | None = None) -> int:
        with self.lock:
            return self.store(object_id).insert(values, int(time.time()))

    def update(self, object_id: int, record_id: int, values: dict | None = None) -> None:
        with self.lock:
            self.store(object_id).update(int(record_id), values, int(time.time()))

    def delete(self, object_id: int, record_id: int) -> None:
        with self.lock:
            self.store(object_id).delete(int(record_id))

    def set_dlm(self, object_id: int, record_ids: Iterable[int], dlm: int) -> None:
        with self.lock:
            store = self.store(object_id)
            for record_id in record_ids:
                store.set_dlm(int(record_id), dlm)


def _groups(pairs: Iterable[tuple[Any, int]]) -> Iterator[list[int]]:
    """Positions grouped by equal sort value, from (value, position) pairs in sort order."""
    for _, group in groupby(pairs, key=itemgetter(0)):
        yield [pos for _, pos in group]
