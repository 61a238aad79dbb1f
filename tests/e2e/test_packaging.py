"""`pip install .` (not editable) in a clean venv gives working commands, one version."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
import requests

from tap_ontraport import __version__
from tests.e2e.conftest import ROOT, clean_env, dev

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, str]:
    """A brand-new venv with the package built and installed from the checkout."""
    venv = tmp_path_factory.mktemp("pkg") / "venv"
    log = tmp_path_factory.mktemp("pkg-log") / "install.log"
    dev.create_venv(venv, log)
    dev.pip_install(venv, [str(ROOT)], log, "installing the package (not editable)")
    return {name: str(dev.venv_bin(venv, name)) for name in ("tap-ontraport", "ontraport-sandbox", "ontraport-webhooks", "python")}


def test_the_package_is_a_copy_not_the_checkout(installed):
    where = subprocess.run([installed["python"], "-c", "import tap_ontraport; print(tap_ontraport.__file__)"],
                           capture_output=True, text=True, check=True, cwd="/", env=clean_env()).stdout
    assert str(ROOT) not in where and "site-packages" in where


def test_version_is_single_sourced(installed):
    out = subprocess.run([installed["tap-ontraport"], "--version"], capture_output=True, text=True,
                         check=True, cwd="/", env=clean_env())
    assert __version__ in out.stdout + out.stderr
    about = json.loads(subprocess.run([installed["tap-ontraport"], "--about", "--format", "json"],
                                      capture_output=True, text=True, check=True, cwd="/", env=clean_env()).stdout)
    assert about["version"] == __version__
    assert {"app_id", "api_key", "api_url", "start_date"} <= set(about["settings"]["properties"])


def test_installed_sandbox_and_tap_work_together(installed, tmp_path):
    sandbox = subprocess.Popen([installed["ontraport-sandbox"], "--port", "0", "--quiet"],
                               stdout=subprocess.PIPE, text=True, cwd="/", env=clean_env())
    try:
        assert sandbox.stdout is not None
        url = re.search(r"(http://\S+/1)", sandbox.stdout.readline()).group(1)
        page = requests.get(f"{url}/Contacts?range=60", headers={"Api-Appid": "sandbox", "Api-Key": "sandbox"},
                            timeout=10).json()
        assert page["code"] == 0 and len(page["data"]) == 50
        assert requests.get(f"{url}/Contacts", timeout=10).text == "Your App ID and API Key do not authenticate."
        (tmp_path / "config.json").write_text(json.dumps({"app_id": "sandbox", "api_key": "sandbox", "api_url": url}))
        catalog = subprocess.run([installed["tap-ontraport"], "--config", str(tmp_path / "config.json"), "--discover"],
                                 capture_output=True, text=True, check=True, cwd="/", env=clean_env()).stdout
        assert {"contacts", "pets", "properties", "fields"} <= {s["tap_stream_id"] for s in json.loads(catalog)["streams"]}
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)
    assert sandbox.returncode == 0


def test_webhooks_command_without_its_extra_says_what_to_install(installed, tmp_path):
    assert subprocess.run([installed["ontraport-webhooks"], "--help"], capture_output=True, text=True,
                          cwd="/", env=clean_env()).returncode == 0
    serve = subprocess.run([installed["ontraport-webhooks"], "serve", "--store", str(tmp_path / "e.sqlite")],
                           capture_output=True, text=True, cwd="/",
                           env=clean_env(ONTRAPORT_WEBHOOKS_TOKENS="token-0123456789abcdef"))
    assert serve.returncode == 1 and "pip install 'tap-ontraport[webhooks]'" in serve.stderr
