"""From the account's `/objects/meta` to the objects the tap reads: names, fields, replication.

Meta is the authority on which objects exist and how the fields it lists are typed; the
documented fields of `objects.py` fill the gaps where meta lists fewer than the records
carry, and one record of each object (`range=1`, once per run) adds the fields
records carry beyond both. Whether an object replicates incrementally on `dlm` follows
what the account has, not what we documented: meta listing `dlm` is enough; otherwise the
object is incremental only if its sampled record carries `dlm`. Guessing from our table instead would go wrong both ways: a
condition on a field the object lacks answers HTTP 400 "Invalid query" (or, where the API
ignores unknown fields, matches nothing), and an object whose records carry a `dlm` meta
doesn't list would be read in full every run.

A run given a catalog samples nothing: the discovery that wrote the catalog did. Where the
catalog asks for `dlm` and meta doesn't list it, the stream's own read answers whether the
records carry it (`OntraportStream`, "replication key unconfirmed"), at no extra request
when it meets a record.
"""

from __future__ import annotations

import logging
import typing as t
from dataclasses import dataclass, replace

from tap_ontraport.fields import RELATED_SEPARATOR, FieldSpec, column_for_key, field_from_meta
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
    dlm_known: bool = True  # False: meta doesn't list it and no record was sampled


def dlm_in_meta(fields: list[FieldSpec]) -> bool:
    """Meta lists `dlm`; if not, only a record can tell whether the object has one."""
    return any(spec.name == REPLICATION_KEY and spec.in_meta for spec in fields)


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
    """The fields the sampled record carries that neither meta nor our table list (a
    related-data path no `related_data` field names gets a safe column, as text)."""
    known = {spec.name for spec in fields} | {spec.related_path for spec in fields if spec.related_path}
    known.add(object_type.primary_key)
    added = []
    for key in (key for key in sample if key not in known):
        if RELATED_SEPARATOR in key:
            column = column_for_key(key)
            while column in known:
                column += "_"
            added.append(FieldSpec(column, "text", in_meta=False, related_path=key))
        else:
            column = key
            added.append(FieldSpec(key, documented_type(object_type, key), in_meta=False))
        known.add(column)
    return fields + added


def account_objects(meta: dict, read_sample: SampleReader | None) -> list[AccountObject]:
    """Every object meta lists, by objectID, with collision-free stream names.

    With `read_sample` (discovery), one record of every object is read: its fields join the
    schema (so a catalog lists what the records carry) and its `dlm` decides replication.
    Without it (a run given a catalog), meta alone describes the objects and the catalog's
    replication stands.
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
        objects.append(_account_object(object_type, meta_fields(entry), read_sample))
    return objects


def _account_object(object_type: ObjectType, listed: list[FieldSpec], read_sample: SampleReader | None) -> AccountObject:
    fields = with_documented(object_type, listed)
    listed_dlm = dlm_in_meta(listed)
    if read_sample is None:
        return AccountObject(object_type, fields, incremental=listed_dlm, dlm_known=listed_dlm)
    sample = read_sample(object_type)
    if sample is None:  # no record to learn from: a full read is always right
        return AccountObject(object_type, fields, incremental=listed_dlm)
    fields = with_sampled(object_type, fields, sample)
    return AccountObject(object_type, fields, incremental=listed_dlm or REPLICATION_KEY in sample)


def _as_int(value: t.Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return -1
