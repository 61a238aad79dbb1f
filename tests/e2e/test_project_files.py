"""meltano.yml says what the tap says about itself, and Meltano reads it as intended."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.e2e.conftest import ROOT, Meltano

pytestmark = pytest.mark.e2e

KIND_BY_JSON_TYPE = {
    "string": "string", "integer": "integer", "number": "decimal", "boolean": "boolean", "object": "object",
    "array": "array",
}


@pytest.fixture(scope="module")
def project() -> dict:
    return yaml.safe_load((ROOT / "meltano.yml").read_text())


@pytest.fixture(scope="module")
def about() -> dict:
    result = subprocess.run(
        [sys.executable, "-c", "from tap_ontraport.tap import TapOntraport; TapOntraport.cli()",
         "--about", "--format", "json"],
        capture_output=True, text=True, check=True, cwd=ROOT, timeout=120)
    return json.loads(result.stdout)


def plugin(project: dict, kind: str, name: str) -> dict:
    return next(p for p in project["plugins"][kind] if p["name"] == name)


def test_extractor_settings_match_the_tap(project: dict, about: dict):
    tap = plugin(project, "extractors", "tap-ontraport")
    declared = {s["name"]: s for s in tap["settings"]}
    properties = about["settings"]["properties"]
    assert set(declared) == set(properties), "meltano.yml and `tap-ontraport --about` disagree on settings"
    for name, spec in properties.items():
        setting = declared[name]
        assert bool(setting.get("sensitive")) == bool(spec.get("secret")), name
        json_type = next(t for t in spec.get("type", ["object"]) if t != "null") if "type" in spec else "object"
        # Dates too are `string`: Meltano's `date_iso8601` would rewrite "last tuesday" into a date.
        expected_kind = KIND_BY_JSON_TYPE[json_type]
        assert setting.get("kind") == expected_kind, (name, setting.get("kind"), expected_kind)
        assert setting.get("label") and setting.get("description"), name
    assert tap["capabilities"] == about["capabilities"]
    assert tap["settings_group_validation"] == [about["settings"]["required"]] == [["app_id", "api_key"]]
    assert tap["use_cached_catalog"] is False
    assert (tap["namespace"], tap["pip_url"], tap["executable"]) == ("tap_ontraport", "-e .", "tap-ontraport")


def test_project_layout(project: dict):
    assert "version" not in project, "Meltano 4.4 warns that `version: 1` is deprecated"
    assert project["default_environment"] == "dev"
    assert {e["name"] for e in project["environments"]} >= {"dev", "ci", "prod"}
    assert project["jobs"] == [{"name": "daily-sync", "tasks": ["tap-ontraport target-postgres"]}]
    assert project["schedules"][0]["job"] == "daily-sync" and project["schedules"][0]["interval"] == "@daily"
    loaders = {p["name"]: p for p in project["plugins"]["loaders"]}
    assert loaders["target-postgres"]["pip_url"] == "meltanolabs-target-postgres==0.8.1"
    assert loaders["target-snowflake"]["pip_url"] == "meltanolabs-target-snowflake==0.20.4"
    assert loaders["target-jsonl"]["pip_url"] == "target-jsonl==0.1.4"
    postgres_settings = {s["name"] for s in loaders["target-postgres"]["settings"]}
    assert {"host", "port", "user", "password", "database", "default_target_schema", "hard_delete",
            "add_record_metadata", "activate_version"} <= postgres_settings


def test_environment_variables_override_meltano_yml(meltano: Meltano, e2e_dir: Path):
    """TAP_ONTRAPORT_* and TARGET_POSTGRES_* reach the plugins, over the environment's values."""
    env = meltano.env(e2e_dir / "config-check", TAP_ONTRAPORT_API_URL="http://127.0.0.1:9/1",
                      TAP_ONTRAPORT_APP_ID="app-from-env", TARGET_POSTGRES_HOST="db.example.invalid",
                      TARGET_POSTGRES_PASSWORD="from-env")
    tap = meltano("config", "--unsafe", "print", "tap-ontraport", env=env).check().json()
    assert tap["api_url"] == "http://127.0.0.1:9/1" and tap["app_id"] == "app-from-env"
    assert tap["api_key"] == "sandbox"  # from the `ci` environment in meltano.yml
    target = meltano("config", "--unsafe", "print", "target-postgres", env=env).check().json()
    assert target["host"] == "db.example.invalid" and target["password"] == "from-env"
    assert target["default_target_schema"] == "ontraport" and target["hard_delete"] is False
    prod = dict(env, MELTANO_ENVIRONMENT="prod")
    del prod["TAP_ONTRAPORT_API_URL"]
    assert meltano("config", "--unsafe", "print", "tap-ontraport", env=prod).check().json()["api_url"] == \
        "https://api.ontraport.com/1"
