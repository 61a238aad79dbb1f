"""Fixtures for the sandbox's own tests: started sandboxes and a small HTTP client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from ontraport_sandbox import Sandbox

APP_ID, API_KEY = "sandbox", "sandbox"
SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"  # the literal API responses


class Client:
    """requests against a sandbox, with the credentials and the base URL filled in."""

    def __init__(self, sandbox: Sandbox, app_id: str = APP_ID, api_key: str = API_KEY):
        self.sandbox = sandbox
        self.session = requests.Session()
        self.session.headers.update({"Api-Appid": app_id, "Api-Key": api_key})

    def get(self, path: str, **params: Any) -> requests.Response:
        params = {k: json.dumps(v) if k == "condition" and not isinstance(v, str) else v
                  for k, v in params.items()}
        return self.session.get(self.sandbox.url + path, params=params, timeout=30)

    def data(self, path: str, **params: Any) -> Any:
        response = self.get(path, **params)
        assert response.status_code == 200, (response.status_code, response.text[:300])
        return response.json()["data"]

    def ids(self, path: str, **params: Any) -> list[int]:
        pk = params.pop("pk", "id")
        return [int(r[pk]) for r in self.data(path, **params)]


def cond(field: str, op: str, value: Any) -> dict:
    """One condition term in the JSON form of reference section 4.3."""
    if op in ("IN", "NOT IN"):
        return {"field": {"field": field}, "op": op, "value": {"list": [{"value": v} for v in value]}}
    if op == "IS":
        return {"field": {"field": field}, "op": op, "value": value}
    return {"field": {"field": field}, "op": op, "value": {"value": value}}


@pytest.fixture(scope="module")
def reader():
    """A read-only sandbox (seed 1, no rate limit) shared by a test module."""
    with Sandbox(seed=1, rate_limit=0) as sandbox:
        yield Client(sandbox)


@pytest.fixture
def sandbox():
    """A fresh sandbox per test (seed 1, no rate limit), for tests that change it."""
    with Sandbox(seed=1, rate_limit=0) as sb:
        yield sb


@pytest.fixture
def client(sandbox):
    return Client(sandbox)


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())
