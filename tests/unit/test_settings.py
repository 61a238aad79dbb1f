"""Settings: one typed object from the validated config, with the schema as the only source
of defaults and ranges; meltano.yml states the same defaults."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tap_ontraport.settings import NUMERIC_LIMITS, SETTINGS_SCHEMA, Settings, settings_problems

ROOT = Path(__file__).resolve().parents[2]
CREDENTIALS = {"app_id": "app", "api_key": "key"}
#: "Default 300." in a meltano.yml description; "(the default)" marks a setting without one.
STATED_DEFAULT = re.compile(r"Default (\S+?)\.?(?:\s|$)")


def _meltano_settings() -> dict[str, dict]:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    (tap,) = [p for p in project["plugins"]["extractors"] if p["name"] == "tap-ontraport"]
    return {setting["name"]: setting for setting in tap["settings"]}


def _as_text(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def test_meltano_yml_states_the_defaults_of_the_settings_schema():
    declared = _meltano_settings()
    for name, spec in SETTINGS_SCHEMA["properties"].items():
        stated = STATED_DEFAULT.search(" ".join(declared[name]["description"].split()))
        if "default" in spec:
            assert stated, f"meltano.yml does not state the default of {name} ({spec['default']!r})"
            assert stated.group(1) == _as_text(spec["default"]), name
        else:
            assert stated is None, f"meltano.yml states a default for {name}; the schema has none"


def test_a_config_with_only_credentials_gets_every_schema_default():
    settings = Settings.from_config(CREDENTIALS)
    for name, spec in SETTINGS_SCHEMA["properties"].items():
        if "default" in spec:
            assert getattr(settings, name) == spec["default"], name
    assert settings.lookback_seconds == 300
    assert settings.start_date is None and settings.max_requests_per_minute is None
    assert settings.full_table_streams == frozenset()


def test_values_are_typed_and_lists_may_be_text():
    from decimal import Decimal

    settings = Settings.from_config({**CREDENTIALS, "rate_limit_share": Decimal("0.5"), "max_retries": Decimal(3),
                                     "full_table_streams": "webhook_logs, tag_subscribers", "start_date": ""})
    assert settings.rate_limit_share == 0.5 and isinstance(settings.rate_limit_share, float)
    assert settings.max_retries == 3 and isinstance(settings.max_retries, int)
    assert settings.full_table_streams == {"webhook_logs", "tag_subscribers"}
    assert settings.start_date is None


def test_the_credentials_never_show_in_the_settings_repr():
    settings = Settings.from_config({"app_id": "app-secret", "api_key": "key-secret"})
    assert settings.app_id == "app-secret"
    assert "secret" not in repr(settings)


@pytest.mark.parametrize("name", sorted(NUMERIC_LIMITS))
def test_the_ranges_come_from_the_schema_and_are_checked(name):
    spec = SETTINGS_SCHEMA["properties"][name]
    assert NUMERIC_LIMITS[name] == (spec["minimum"], spec["maximum"])
    assert not [p for p in settings_problems({**CREDENTIALS, name: spec["maximum"]}) if name in p]
    (problem,) = [p for p in settings_problems({**CREDENTIALS, name: spec["maximum"] * 2 + 1}) if name in p]
    assert problem.startswith(f"`{name}` must be between")
