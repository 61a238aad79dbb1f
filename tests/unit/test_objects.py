"""The object table: keyword-only rows, field types from a closed set checked at import."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from tap_ontraport import objects
from tap_ontraport.fields import is_known_type
from tap_ontraport.objects import COMMON_FIELD_TYPES, CUSTOM_OBJECT_BASE_FIELDS, FIELD_TYPES, KNOWN_OBJECTS, ObjectType


def test_rows_take_keywords_only():
    with pytest.raises(TypeError):
        ObjectType(0, "Contact", "contacts", "Contacts", "Contact")  # type: ignore[misc]
    row = ObjectType(object_id=7, meta_name="Message", stream_name="messages", plural=None, singular=None)
    assert row.collection_path == "/objects" and row.needs_object_id_param


def test_every_type_in_the_table_is_one_fields_py_maps():
    named = {t for obj in KNOWN_OBJECTS for t in obj.documented_fields.values()}
    named |= set(CUSTOM_OBJECT_BASE_FIELDS.values()) | set(COMMON_FIELD_TYPES.values())
    assert named <= FIELD_TYPES
    assert all(is_known_type(t) for t in FIELD_TYPES)


def test_an_unknown_field_type_fails_when_the_table_is_imported(tmp_path: Path, monkeypatch):
    source = Path(objects.__file__).read_text(encoding="utf-8")
    assert "dlm:timestamp" in source
    broken = tmp_path / "objects_with_a_typo.py"
    broken.write_text(source.replace("dlm:timestamp", "dlm:timstamp", 1), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("objects_with_a_typo", broken)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up
    with pytest.raises(ValueError, match="'dlm': unknown Ontraport field type 'timstamp'"):
        spec.loader.exec_module(module)
