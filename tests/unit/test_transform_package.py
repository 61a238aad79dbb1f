"""The dbt package's files agree with each other and with the tap (no dbt needed).

transform/dbt_project.yml lists the standard streams (var `ontraport_streams`); each has a
staging model and a `_deleted` view, and a YAML entry with its tests. The list must be the
tap's standard streams (every one), keyed as the tap keys them.
"""

from __future__ import annotations

import re
from pathlib import Path

from tap_ontraport.objects import FIRST_CUSTOM_OBJECT_ID, KNOWN_OBJECTS

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
