"""Names the tap does not have, given as config keys or as TAP_ONTRAPORT_* variables."""

from __future__ import annotations

import inspect

from singer_sdk import plugin_base

from tap_ontraport.inputs import UnknownSetting, unknown_settings, unknown_variables, variable_name
from tap_ontraport.tap import ENV_PREFIX, SDK_VARIABLES, TapOntraport

KNOWN = ["app_id", "api_key", "api_url", "start_date", "flattening_max_depth"]


def test_a_misspelt_key_names_the_closest_setting():
    assert unknown_settings({"apikey": "x", "app_id": "y", "colour": "z"}, KNOWN) == [
        UnknownSetting("apikey", "api_key"),
        UnknownSetting("colour", None),
    ]
    assert UnknownSetting("apikey", "api_key").sentence() == (
        "`apikey` is not a setting of tap-ontraport: did you mean `api_key`?"
    )


def test_an_unknown_variable_names_the_variable_meant_and_never_its_value():
    environ = {
        "TAP_ONTRAPORT_APIKEY": "secret-value-1234",
        "TAP_ONTRAPORT_START-DATE": "2024-01-01",
        "TAP_ONTRAPORT_COLOUR": "blue",
        "TAP_ONTRAPORT_APP_ID": "app",  # a setting
        "TAP_ONTRAPORT_FLATTENING_MAX_DEPTH": "2",  # one of the SDK's built-in settings
        "TAP_ONTRAPORT_LOGLEVEL": "DEBUG",  # read by the SDK, no setting
        "TAP_ONTRAPORT__SELECT": "[]",  # Meltano's extras
        "TAP_ONTRAPORT__ACME_APP_ID": "app",  # an inherited Meltano plugin's own settings
        "TAP_ONTRAPORTX": "other",
        "PATH": "/usr/bin",
    }
    unknown = unknown_variables(environ, "TAP_ONTRAPORT_", KNOWN, also_read=["LOGLEVEL"])
    assert [(u.given, u.closest) for u in unknown] == [
        ("TAP_ONTRAPORT_APIKEY", "api_key"),
        ("TAP_ONTRAPORT_COLOUR", None),
        ("TAP_ONTRAPORT_START-DATE", "start_date"),
    ]
    sentences = [u.sentence() for u in unknown]
    assert sentences[0] == (
        "`TAP_ONTRAPORT_APIKEY` (an environment variable) is not a setting of tap-ontraport: "
        "did you mean `TAP_ONTRAPORT_API_KEY`?"
    )
    assert sentences[1].endswith("`tap-ontraport --about` lists them, each read from `TAP_ONTRAPORT_<NAME>`.")
    assert not any(value in " ".join(sentences) for value in ("secret-value-1234", "blue", "2024-01-01"))


def test_the_sdk_reads_each_setting_from_the_variable_we_name(monkeypatch):
    # The SDK's own naming (PluginBase._env_var_prefix and parse_environment_config), pinned.
    assert TapOntraport._env_var_prefix == ENV_PREFIX
    assert f'os.environ.get(f"{{prefix}}{SDK_VARIABLES[0]}")' in inspect.getsource(plugin_base._plugin_log_level)
    for name in ("api_url", "max_retries", "detect_deletions", "flattening_max_depth"):
        monkeypatch.setenv(variable_name(ENV_PREFIX, name), "1")
    assert {"api_url", "max_retries", "detect_deletions", "flattening_max_depth"} <= set(TapOntraport._env_var_config)

