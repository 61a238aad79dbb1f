"""The dbt package's files agree with each other and with the tap (no dbt needed).

transform/dbt_project.yml lists the standard streams (var `ontraport_streams`); each has a
staging model and a `_deleted` view, and a YAML entry with its tests. The list must be the
tap's standard streams (every one), keyed as the tap keys them. The fixed names of system
fields (var `ontraport_system_columns`) rename fields the tap documents, to snake_case names
that no documented field of the same stream already has.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tap_ontraport.objects import COMMON_FIELD_TYPES, FIRST_CUSTOM_OBJECT_ID, KNOWN_OBJECTS, snake_case

ROOT = Path(__file__).resolve().parents[2]
TRANSFORM = ROOT / "transform"
STAGING = TRANSFORM / "models" / "staging"


def listed_streams() -> dict[str, str]:
    text = (TRANSFORM / "dbt_project.yml").read_text()
    block = text.split("ontraport_streams:\n")[1].split("\n  # ")[0]
    return dict(re.findall(r"^    (\w+): (\w+)$", block, re.M))


def test_every_listed_stream_has_its_two_models_and_their_tests():
    streams = listed_streams()
    assert len(streams) > 20
    yaml = (STAGING / "_staging.yml").read_text()
    for stream in streams:
        assert (STAGING / f"stg_ontraport__{stream}.sql").read_text().strip() == \
            f"{{{{ ontraport_staging('{stream}') }}}}"
        assert (STAGING / f"stg_ontraport__{stream}_deleted.sql").read_text().strip() == \
            f"{{{{ ontraport_staging('{stream}', deleted=true) }}}}"
        assert f"  - name: stg_ontraport__{stream}\n" in yaml
        assert f"  - name: stg_ontraport__{stream}_deleted\n" in yaml
    unlisted = {p.stem.removesuffix("_deleted").removeprefix("stg_ontraport__") for p in STAGING.glob("stg_*.sql")}
    package_models = {"fields", "field_options", "custom_object_records"}
    assert unlisted - set(streams) == package_models


def test_listed_streams_are_the_taps_standard_streams_with_their_keys():
    tap = {o.stream_name: o.primary_key for o in KNOWN_OBJECTS if o.object_id < FIRST_CUSTOM_OBJECT_ID}
    assert listed_streams() == tap


def system_column_names() -> dict[str, dict[str, str]]:
    project = yaml.safe_load((TRANSFORM / "dbt_project.yml").read_text())
    return project["vars"]["ontraport_system_columns"]


def loaded_columns() -> dict[str, set[str]]:
    """Per stream, the columns target-postgres makes of the fields the tap documents (snake_case)."""
    common = {snake_case(name) for name in COMMON_FIELD_TYPES}
    return {o.stream_name: {snake_case(name) for name in o.documented_fields} | common | {o.primary_key}
            for o in KNOWN_OBJECTS if o.object_id < FIRST_CUSTOM_OBJECT_ID}


def test_system_column_names_rename_documented_fields_to_free_snake_case_names():
    table = system_column_names()
    streams = loaded_columns()
    assert set(table) - {"*"} <= set(streams), "a stream entry names no standard stream"
    for stream, columns in streams.items():
        renames = {**table["*"], **table.get(stream, {})}
        for key, name in renames.items():
            assert re.fullmatch(r"[a-z][a-z0-9_]*", name), (key, name)
            # A name that is a loaded column of the stream would be refused by the package (the
            # column keeps its key): the table must not promise it.
            if key in columns:
                assert name not in columns, (stream, key, name)
        targets = [renames[key] for key in columns if key in renames]
        assert len(targets) == len(set(targets)), (stream, targets)
    every_column = set().union(*streams.values())
    assert set(table["*"]) <= every_column, set(table["*"]) - every_column
    assert {"firstname", "lastname", "date", "dlm", "contact_cat"} <= set(table["*"])
