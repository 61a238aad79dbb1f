"""Behaviour variants: the places where public sources disagree about the real API.

Without a variant the sandbox serves its default guess; each variant switches one guess to
the other side, so a client can be tested against both. ``VARIANTS`` is the one table of them
(name -> what it changes); ``validate`` checks names, ``account_objects`` gives the object table
a set of variants implies, and ``refused_objects`` the objects whose reads answer 400.
docs/sandbox.md ("Behaviour variants") says where each side comes from.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace

from .catalog import ACCOUNT_OBJECTS, FieldSpec, ObjectSpec

TRANSACTIONS_WITHOUT_DLM = "transactions-without-dlm"
TASKS_WITH_DLM = "tasks-with-dlm"
UNKNOWN_FIELD_IGNORED = "unknown-field-ignored"
BROKEN_OBJECT = "broken-object"
META_ID_NUMERIC = "meta-id-numeric"
REAL_META_TYPES = "real-meta-types"
NO_COLLECTION_COUNT = "no-collection-count"

VARIANTS: dict[str, str] = {
    TRANSACTIONS_WITHOUT_DLM: "Transaction records (46) carry no dlm and meta does not list it",
    TASKS_WITH_DLM: "Task records (1) carry a dlm and meta lists it",
    UNKNOWN_FIELD_IGNORED: "a condition on an unknown field matches nothing (the field is null) "
                           "and a sort on one is ignored, instead of 400 'Invalid query'",
    BROKEN_OBJECT: "meta lists one more custom object whose reads answer 400 "
                   '{"code":1,"data":"Invalid object type"}',
    META_ID_NUMERIC: "meta lists the key (id) with type numeric on every object",
    REAL_META_TYPES: "meta and records use the types real accounts show: related_data (with "
                     "extra_data paths and a//b keys in records), unique, image, longtext",
    NO_COLLECTION_COUNT: "collection reads ignore count=true and answer no count (the API before "
                         "count=true was added in 2025-08); getInfo still counts",
}

TRANSACTION_OBJECT_ID = 46
TASK_OBJECT_ID = 1
CONTACT_OBJECT_ID = 0
FIRST_CUSTOM_OBJECT_ID = 10000
#: The object meta still lists but the API refuses to read (BROKEN_OBJECT), e.g. one deleted
#: while the account's meta cache still has it.
BROKEN_OBJECT_ID = 10090
BROKEN_OBJECT_NAME = "oRetiredItems"
#: Field types REAL_META_TYPES gives fields that the default serves with a plainer type.
REAL_TYPES_BY_FIELD = {"unique_id": "unique", "profile_image": "image"}
#: Custom fields REAL_META_TYPES adds to every custom object: f29NN, clear of the defaults' f2NNN.
RELATED_FIELD_BASE = 2900


def validate(names: Iterable[str]) -> tuple[str, ...]:
    """The variants asked for, in table order without repeats; ValueError for an unknown name."""
    if isinstance(names, str):  # one name given bare
        names = [names]
    asked = [str(name).strip() for name in names]
    unknown = sorted({name for name in asked if name not in VARIANTS})
    if unknown:
        raise ValueError(f"unknown sandbox variant {', '.join(map(repr, unknown))} "
                         f"(known: {', '.join(VARIANTS)})")
    return tuple(name for name in VARIANTS if name in asked)


def refused_objects(active: Iterable[str]) -> frozenset[int]:
    """Objects whose reads (all but meta) answer 400 "Invalid object type"."""
    return frozenset({BROKEN_OBJECT_ID}) if BROKEN_OBJECT in set(active) else frozenset()


def account_objects(active: Iterable[str],
                    objects: dict[int, ObjectSpec] = ACCOUNT_OBJECTS) -> dict[int, ObjectSpec]:
    """The account's object table with the given variants applied (the default table if none)."""
    active = set(active)
    specs = dict(objects)
    if TRANSACTIONS_WITHOUT_DLM in active:
        specs[TRANSACTION_OBJECT_ID] = _without_dlm(specs[TRANSACTION_OBJECT_ID])
    if TASKS_WITH_DLM in active:
        specs[TASK_OBJECT_ID] = _with_dlm(specs[TASK_OBJECT_ID], _field_of(specs[CONTACT_OBJECT_ID], "dlm"))
    if BROKEN_OBJECT in active:
        specs[BROKEN_OBJECT_ID] = _broken_object(specs)
    if META_ID_NUMERIC in active:
        specs = {oid: _meta_lists_key(spec) for oid, spec in specs.items()}
    if REAL_META_TYPES in active:
        specs = {oid: _with_real_types(spec, specs) for oid, spec in specs.items()}
    return specs


def _field_of(spec: ObjectSpec, name: str) -> FieldSpec:
    return next(f for f in spec.fields if f.name == name)


def _custom_specs(specs: dict[int, ObjectSpec]) -> list[ObjectSpec]:
    return [spec for oid, spec in sorted(specs.items()) if oid >= FIRST_CUSTOM_OBJECT_ID]


# --- dlm on Transactions and Tasks ----------------------------------------------------------


def _without_dlm(spec: ObjectSpec) -> ObjectSpec:
    fields = tuple(f for f in spec.fields if f.name != spec.dlm_field)
    return replace(spec, fields=fields, dlm_field=None)


def _with_dlm(spec: ObjectSpec, dlm: FieldSpec) -> ObjectSpec:
    """The object with a dlm served from its modified column (dlm >= created, bulk-update ties)."""
    if spec.dlm_field:
        return spec
    return replace(spec, fields=(*spec.fields, replace(dlm, in_meta=True)), dlm_field=dlm.name)


# --- the refused object ---------------------------------------------------------------------


def _broken_object(specs: dict[int, ObjectSpec]) -> ObjectSpec:
    """A copy of the first custom object under its own objectID and meta name."""
    model = _custom_specs(specs)[0]
    return replace(model, object_id=BROKEN_OBJECT_ID, meta_name=BROKEN_OBJECT_NAME,
                   plural=None, singular=None, size=1, fixed_records=())


# --- meta listing the key -------------------------------------------------------------------


def _meta_lists_key(spec: ObjectSpec) -> ObjectSpec:
    """Meta lists the key (typed numeric) even where it lists few or no other fields."""
    return replace(spec, meta_lists_key=True, meta_fields_empty=None)


# --- the field types of real accounts --------------------------------------------------------


def _with_real_types(spec: ObjectSpec, specs: dict[int, ObjectSpec]) -> ObjectSpec:
    fields = [_real_type(f) for f in spec.fields]
    if spec.object_id >= FIRST_CUSTOM_OBJECT_ID:
        fields += _related_data_fields(spec, specs)
        fields.append(FieldSpec(name=f"f{RELATED_FIELD_BASE + 99}", type="longtext",
                                kind="paragraph", alias="Notes", system=False, empty=0.3))
    return replace(spec, fields=tuple(fields))


def _real_type(field: FieldSpec) -> FieldSpec:
    """unique_id as "unique", profile_image as "image"; subscriptions name their model."""
    if field.name in REAL_TYPES_BY_FIELD:
        return replace(field, type=REAL_TYPES_BY_FIELD[field.name])
    if field.type == "subscription" and field.subscription_object is not None:
        return replace(field, extra_data=json.dumps({"subModel": field.subscription_object},
                                                      separators=(",", ":")))
    return field


def _related_data_fields(spec: ObjectSpec, specs: dict[int, ObjectSpec]) -> list[FieldSpec]:
    """For each custom parent field: a related_data meta field naming the path to a first name
    (through a second parent field when the parent is itself a custom object), and the record
    key that path is served under (``f2005//firstname``, ``f2104//f2005//firstname``)."""
    out: list[FieldSpec] = []
    for parent in (f for f in spec.fields if f.type == "parent" and not f.system):
        path = _path_to_first_name(parent, specs)
        if path is None:
            continue
        number = RELATED_FIELD_BASE + len(out) // 2 + 1
        out.append(FieldSpec(name=f"f{number}", type="related_data", kind="none",
                             alias=f"{parent.alias} First Name", extra_data=path,
                             stored=False, system=False))
        out.append(FieldSpec(name=path, type="text", kind="first_name", alias=path,
                             in_meta=False, system=False, empty=0.1))
    return out


def _path_to_first_name(parent: FieldSpec, specs: dict[int, ObjectSpec]) -> str | None:
    if parent.parent_object == CONTACT_OBJECT_ID:
        return f"{parent.name}//firstname"
    target = specs.get(parent.parent_object) if parent.parent_object is not None else None
    if target is None:
        return None
    hops = [f for f in target.fields if f.type == "parent" and not f.system
            and f.parent_object == CONTACT_OBJECT_ID]
    return f"{parent.name}//{hops[0].name}//firstname" if hops else None
