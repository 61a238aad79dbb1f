"""What /objects/meta, /objects/fieldeditor and getInfo say about an object.

Meta follows reference section 5: per field alias/type/required/unique/editable/deletable
(flags as "0"/"1" strings, as numbers on some objects, ``editable`` null on custom
relationship fields), ``options`` for drop/list and ``parent_object`` for parent fields
(a string on custom fields, a number on system fields). Like the real API it may list
fewer fields than the records carry.
"""

from __future__ import annotations

from typing import Any

from .catalog import META_QUIRKS, FieldSpec, ObjectSpec

#: Fields the account's users cannot edit (meta "editable": "0").
READ_ONLY = {"date", "dlm", "dla", "unique_id", "date_created", "last_save", "last_auto",
             "bindex", "emailHash", "time_since_dla", "spent", "num_purchased"}
SECTION_SIZE = 12  # fields per fieldeditor section


def _flag(on: bool, spec: ObjectSpec) -> Any:
    return int(on) if spec.meta_flags_as_numbers else ("1" if on else "0")


def _primary_key_field(spec: ObjectSpec) -> FieldSpec:
    alias = "Contact ID" if spec.object_id == 0 else "ID"
    return FieldSpec(name=spec.primary_key, type="numeric", kind="number", alias=alias)


def meta_fields(spec: ObjectSpec) -> list[FieldSpec]:
    """The fields meta lists for an object, in order."""
    if spec.meta_fields_empty:
        return []
    listed = [f for f in spec.fields if f.in_meta]
    return [_primary_key_field(spec), *listed] if spec.meta_lists_key else listed


def field_meta(field: FieldSpec, spec: ObjectSpec) -> dict[str, Any]:
    custom_parent = field.type == "parent" and not field.system
    entry: dict[str, Any] = {
        "alias": field.alias,
        "type": field.type,
        "required": _flag(field.name in ("name", "f2001", "f2101"), spec),
        "unique": _flag(field.name in ("unique_id",), spec),
        "editable": None if custom_parent else _flag(
            field.name not in READ_ONLY and field.name != spec.primary_key
            and field.type not in ("mergefield", "related_data"), spec),
        "deletable": _flag(not field.system, spec),
    }
    if field.options is not None:
        entry["options"] = dict(field.options)
    if field.parent_object is not None:
        entry["parent_object"] = str(field.parent_object) if not field.system else field.parent_object
    if field.extra_data is not None:
        entry["extra_data"] = field.extra_data
    for key, value in META_QUIRKS.get(f"{spec.meta_name}.{field.name}", {}).items():
        if value is None:
            entry.pop(key, None)
        else:
            entry[key] = value
    return entry


def object_meta(spec: ObjectSpec) -> dict[str, Any]:
    """{"name": ..., "fields": {...}}; no fields at all comes out as {} or [] per object."""
    fields = meta_fields(spec)
    if not fields:
        return {"name": spec.meta_name, "fields": [] if spec.meta_fields_empty == "[]" else {}}
    return {"name": spec.meta_name, "fields": {f.name: field_meta(f, spec) for f in fields}}


def _merge_template(spec: ObjectSpec, field: FieldSpec) -> str:
    if field.name == "fn":
        return "<op:merge field='firstname'>X</op:merge> <op:merge field='lastname'>X</op:merge>"
    return "Hello <op:merge field='firstname'>there</op:merge>!"


def fieldeditor(spec: ObjectSpec, section: str | None = None, field_name: str | None = None) -> Any:
    """Sections of up to three columns of fields (reference section 5), flags as numbers.

    ``field`` answers just that field's entry; ``section`` (a section name) just that section.
    Returns None when the asked field or section does not exist.
    """
    fields = list(meta_fields(spec))
    if spec.object_id == 0:
        fields.insert(1, FieldSpec(name="fn", type="mergefield", kind="none", alias="Name", stored=False))
    entries = []
    for number, field in enumerate(fields, start=1):
        meta = field_meta(field, spec)
        entry: dict[str, Any] = {
            "id": 100 + number, "alias": field.alias, "field": field.name, "type": field.type,
            "required": int(meta["required"]), "unique": int(meta["unique"]),
            "editable": int(meta["editable"] or 0), "deletable": int(meta["deletable"]),
        }
        if field.type == "mergefield":
            entry["options"] = _merge_template(spec, field)
        elif field.options is not None:
            entry["options"] = dict(field.options)
        if field.parent_object is not None:
            entry["parent_object"] = field.parent_object
        entries.append(entry)
    if field_name is not None:
        return next((e for e in entries if e["field"] == field_name), None)
    sections: dict[str, Any] = {}
    for number, first in enumerate(range(0, len(entries), SECTION_SIZE), start=1):
        chunk = entries[first:first + SECTION_SIZE]
        name = f"{spec.meta_name} Information" if number == 1 else f"More {spec.meta_name} Fields {number}"
        columns = [chunk[i::3] for i in range(3)]  # up to three columns
        sections[str(number)] = {"id": number, "name": name, "description": None,
                                 "fields": [c for c in columns if c]}
    if section is not None:
        picked = {k: v for k, v in sections.items() if v["name"].lower() == section.lower()}
        return picked or None
    return sections or []


def get_info(spec: ObjectSpec, count: int, sums: dict[str, Any] | None = None) -> dict[str, Any]:
    info: dict[str, Any] = {
        "listFields": list(spec.list_fields),
        "listFieldSettings": [],
        "cardViewSettings": [],
        "viewMode": [],
        "count": str(count),
    }
    if sums is not None:
        info["sums"] = sums
    return info
