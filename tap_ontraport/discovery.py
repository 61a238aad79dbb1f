"""From the account's `/objects/meta` to the objects the tap reads: names, fields, replication.

Meta is the authority on which objects exist and how the fields it lists are typed; the
documented fields of `objects.py` fill the gaps where meta lists fewer than the records
carry. Whether an object replicates incrementally on `dlm` follows what the account has,
not what we documented: meta listing `dlm` is enough; otherwise one record is read
(`range=1`, once per process) at discovery, and the object is incremental only if that
record carries `dlm`. Guessing from our table instead would go wrong both ways: a
condition on a field the object lacks answers HTTP 400 "Invalid query" (or, where the API
ignores unknown fields, matches nothing), and an object whose records carry a `dlm` meta
doesn't list would be read in full every run.
"""

from __future__ import annotations

import logging
import typing as t
from dataclasses import dataclass, replace

from tap_ontraport.fields import RELATED_SEPARATOR, FieldSpec, field_from_meta
from tap_ontraport.objects import ObjectType, describe_object, documented_type

logger = logging.getLogger("tap-ontraport")

REPLICATION_KEY = "dlm"

#: Reads one record of an object (its raw row), or None when it has none or can't be read.
SampleReader = t.Callable[[ObjectType], "dict | None"]


@dataclass(frozen=True)
class AccountObject:
    """One object of the account as the tap reads it."""

    object_type: ObjectType
    fields: list[FieldSpec]
    incremental: bool  # replicates on `dlm`
    dlm_known: bool = True  # False: not sampled (a catalog passed in decides)


def needs_sample(fields: list[FieldSpec]) -> bool:
    """Meta doesn't list `dlm`: only a record can tell whether the object has one."""
    return not any(spec.name == REPLICATION_KEY and spec.in_meta for spec in fields)


def meta_fields(entry: dict) -> list[FieldSpec]:
    raw_fields = entry.get("fields")
    return [
        field_from_meta(str(name), spec)
        for name, spec in (raw_fields.items() if isinstance(raw_fields, dict) else [])
        if isinstance(spec, dict)
    ]


def with_documented(object_type: ObjectType, fields: list[FieldSpec]) -> list[FieldSpec]:
    listed = {spec.name for spec in fields}
    return fields + [
        FieldSpec(name, ontraport_type, in_meta=False)
        for name, ontraport_type in object_type.documented_fields.items()
        if name not in listed
    ]


def with_sampled(object_type: ObjectType, fields: list[FieldSpec], sample: dict) -> list[FieldSpec]:
    """The fields the sampled record carries that neither meta nor our table list."""
    known = {spec.name for spec in fields} | {spec.related_path for spec in fields if spec.related_path}
    return fields + [
        FieldSpec(name, documented_type(object_type, name), in_meta=False)
        for name in sample
        if name not in known and name != object_type.primary_key and RELATED_SEPARATOR not in name
    ]


def account_objects(
    meta: dict, read_sample: SampleReader, wanted: t.Callable[[ObjectType], bool] = lambda _: True
) -> list[AccountObject]:
    """Every object meta lists, by objectID, with collision-free stream names.

    Objects `wanted` declines are not sampled (a run given a catalog: the discovery that
    wrote it sampled already), and the catalog's replication stands for them.
    """
    objects = []
    taken: set[str] = {"fields"}
    for raw_id, entry in sorted(meta.items(), key=lambda item: _as_int(item[0])):
        object_id = _as_int(raw_id)
        if object_id < 0 or not isinstance(entry, dict):
            logger.warning("Ignoring an unreadable entry %r in /objects/meta", raw_id)
            continue
        object_type = describe_object(object_id, str(entry.get("name") or f"Object{object_id}"))
        if object_type.stream_name in taken:  # e.g. a custom object named "oContacts"
            object_type = replace(object_type, stream_name=f"{object_type.stream_name}_{object_id}")
        taken.add(object_type.stream_name)
        sampler = read_sample if wanted(object_type) else None
        objects.append(_account_object(object_type, meta_fields(entry), sampler))
    return objects


def _account_object(object_type: ObjectType, listed: list[FieldSpec], read_sample: SampleReader | None) -> AccountObject:
    fields = with_documented(object_type, listed)
    if not needs_sample(listed):
        return AccountObject(object_type, fields, incremental=True)
    if read_sample is None:
        return AccountObject(object_type, fields, incremental=False, dlm_known=False)
    sample = read_sample(object_type)
    if sample is None:  # no record to learn from: a full read is always right
        return AccountObject(object_type, fields, incremental=False)
    return AccountObject(object_type, with_sampled(object_type, fields, sample), REPLICATION_KEY in sample)


def _as_int(value: t.Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return -1
