"""tap-ontraport-check against the default sandbox and each behaviour variant."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ontraport_sandbox import Fault, Sandbox
from ontraport_sandbox.variants import BROKEN_OBJECT_ID, VARIANTS
from tap_ontraport import check
from tap_ontraport.check import RequestBudget, planned_replication, run_check

APP_ID, API_KEY = "check-app-id-5521", "check-api-key-8830"


def _config_file(tmp_path: Path, sandbox: Sandbox, **settings) -> Path:
    path = tmp_path / "config.json"
    config = {"app_id": APP_ID, "api_key": API_KEY, "api_url": sandbox.url, **settings}
    path.write_text(json.dumps(config))
    return path


def _start(*variants: str, **options) -> Sandbox:
    options.setdefault("rate_limit", 180)  # the default limit: its headers are in the report
    return Sandbox(app_id=APP_ID, api_key=API_KEY, variants=variants, **options).start()


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """The check's JSON and text report, the sandbox's request count, per variant (none: "")."""
    found: dict[str, tuple[dict, str, int]] = {}

    def report_for(variant: str = "") -> tuple[dict, str, int]:
        if variant not in found:
            sandbox = _start(*([variant] if variant else []))
            try:
                config = _config_file(tmp_path_factory.mktemp("check"), sandbox)
                data = _run(config, "--format", "json")
                served = sandbox.counters.total
                text = _run(config)
            finally:
                sandbox.stop()
            found[variant] = (json.loads(data), text, served)
        return found[variant]

    return report_for


def _run(config: Path, *args: str) -> str:
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = check.main(["--config", str(config), *args])
    assert status == 0, err.getvalue()
    return out.getvalue()


def _objects(report: dict) -> dict[int, dict]:
    return {entry["object_id"]: entry for entry in report["objects"]}


# --- the default account -------------------------------------------------------------------


def test_default_report(reports):
    report, text, served = reports()
    objects = _objects(report)
    assert report["requests_spent"] == served <= 100  # every request counted, none unseen
    assert all(entry["requests"] <= 3 for entry in objects.values())
    assert len(objects) == 31 and BROKEN_OBJECT_ID not in objects
    assert objects[0]["meta_fields"] == 111 and objects[0]["dlm_in_meta"]
    assert objects[46]["stream_name"] == "transactions"
    assert (objects[46]["dlm_in_meta"], objects[46]["dlm_in_records"]) == (False, True)
    assert objects[46]["plan"] == "incremental on dlm"  # meta lacks it, the records carry it
    assert objects[1]["plan"] == "full table" and objects[1]["dlm_in_records"] is False
    assert all(e["keyset"] == "works" and e["count"] == "works" for e in objects.values())
    assert objects[0]["range_capped"] is True and objects[2]["range_capped"] is None  # 8 users
    assert report["unknown_field"] == "refused (HTTP 400/422: Invalid query)"
    assert report["rate_limit"]["limit"] == "180" and report["rate_limit"]["window_seconds"] == 60
    assert int(report["rate_limit"]["remaining"]) == 180 - (served - 1)  # the last read is a 400
    assert objects[0]["not_in_meta"] == ["bindex", "gclid", "last_note"]
    assert objects[0]["full_rows"] is True and objects[146]["full_rows"] is None  # meta lists none
    assert "Requests: " in text and "capped at 50" in text and "Invalid query" in text


def test_the_report_holds_no_secret_and_no_record_value(reports, tmp_path):
    report, text, _ = reports()
    sandbox = _start(rate_limit=0)  # the same seed: the same records
    try:
        values = _long_values(sandbox)
    finally:
        sandbox.stop()
    for output in (json.dumps(report), text):
        assert APP_ID not in output and API_KEY not in output
        leaked = {value for value in values if value in output}
        assert not leaked, sorted(leaked)[:5]


def _long_values(sandbox: Sandbox) -> set[str]:
    """Distinctive values of the records a probe could have seen: not short (a count), not
    an object's name (the definitions of custom objects hold them), not field-name-like."""
    values: set[str] = set()
    names = {sandbox.account.meta_name(oid) for oid in sandbox.account.object_ids()}
    for object_id in sandbox.account.object_ids():
        for record_id in sandbox.account.ids(object_id)[:200]:
            for name, value in sandbox.account.get(object_id, record_id).items():
                text = str(value)
                if len(text) >= 8 and text not in names and not re.fullmatch(r"[a-z_]+", text):
                    values.add(text)
    return values


# --- each variant ----------------------------------------------------------------------------


def test_transactions_without_dlm_are_a_full_table(reports):
    transactions = _objects(reports("transactions-without-dlm")[0])[46]
    assert (transactions["dlm_in_meta"], transactions["dlm_in_records"]) == (False, False)
    assert transactions["plan"] == "full table"


def test_tasks_with_dlm_are_incremental(reports):
    tasks = _objects(reports("tasks-with-dlm")[0])[1]
    assert tasks["dlm_in_meta"] and tasks["dlm_in_records"]
    assert tasks["plan"] == "incremental on dlm"


def test_an_ignored_unknown_field_is_reported(reports):
    assert reports("unknown-field-ignored")[0]["unknown_field"] == "ignored: matches no record"


def test_the_broken_object_is_reported_refused_and_the_rest_read(reports):
    report, text, served = reports("broken-object")
    objects = _objects(report)
    broken = objects[BROKEN_OBJECT_ID]
    assert broken["refused"] == 'HTTP 400/422: {"code":1,"data":"Invalid object type"}'
    assert broken["plan"].startswith("skipped (") and "Invalid object type" in broken["plan"]
    assert broken["requests"] == 1 and broken["keyset"] == "not probed"
    assert all(e["rows_sampled"] for oid, e in objects.items() if oid != BROKEN_OBJECT_ID)
    assert report["requests_spent"] == served
    assert f"oRetiredItems ({BROKEN_OBJECT_ID}): refused" in text


def test_meta_listing_the_key_gives_full_rows_where_meta_was_empty(reports):
    objects = _objects(reports("meta-id-numeric")[0])
    assert objects[146]["meta_fields"] == 1 and objects[146]["full_rows"] is True
    assert objects[146]["plan"] == "incremental on dlm"  # its records carry dlm


def test_real_meta_types_related_data_is_not_a_missing_field(reports):
    objects = _objects(reports("real-meta-types")[0])
    assert objects[10000]["full_rows"] is True  # a related_data field is not a record key
    assert {"f2103//firstname", "f2104//f2005//firstname"} <= set(objects[10001]["not_in_meta"])


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_variant_keeps_the_budget(reports, variant):
    report, _, served = reports(variant)
    assert report["requests_spent"] == served <= 100
    assert all(entry["requests"] <= 3 for entry in report["objects"])


# --- the budget ------------------------------------------------------------------------------


def _config(sandbox: Sandbox) -> dict:
    return {"app_id": APP_ID, "api_key": API_KEY, "api_url": sandbox.url}


def test_the_total_budget_is_enforced_and_unread_objects_are_judged_on_meta():
    sandbox = _start(rate_limit=0)
    try:
        report = run_check(_config(sandbox), RequestBudget(total_limit=10))
        served = sandbox.counters.total
    finally:
        sandbox.stop()
    assert report.requests_spent == served == 10
    unread = [f for f in report.objects if f.requests == 0]
    assert len(unread) == len(report.objects) - 9
    assert all(f.plan.startswith(("incremental on dlm", "full table (no record sampled"))
               for f in unread)


def test_retries_count_against_an_objects_three_requests():
    sandbox = _start(rate_limit=0, faults=[Fault("500", path="/Contacts", every=1, count=2)])
    try:
        report = run_check(_config(sandbox))
        contacts = [e for e in sandbox.counters.log if e.path == "/1/Contacts"]
    finally:
        sandbox.stop()
    found = {f.object_id: f for f in report.objects}[0]
    assert len(contacts) == 3 and found.requests == 3  # two 500s, then the answer
    assert found.rows_sampled == 50 and found.keyset == "not probed"
    assert report.unknown_field.startswith("refused")  # probed on an object with room left


def test_a_retry_beyond_the_budget_is_never_sent(tmp_path, capsys):
    sandbox = _start(rate_limit=0, faults=[Fault("500", path="/objects/meta", every=1)])
    try:
        config = _config_file(tmp_path, sandbox)
        with pytest.raises(check.BudgetExceeded):
            run_check(_config(sandbox), RequestBudget(total_limit=2))
        assert sandbox.counters.total == 2
        assert check.main(["--config", str(config)]) == 1
    finally:
        sandbox.stop()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) >= 1 and err[-1].startswith("tap-ontraport-check: ")
    assert APP_ID not in "".join(err) and API_KEY not in "".join(err)


# --- bad input -------------------------------------------------------------------------------


def test_bad_config_and_rejected_keys_are_one_line_errors(tmp_path, capsys):
    assert check.main(["--config", str(tmp_path / "missing.json")]) == 1
    (tmp_path / "bad.json").write_text("{not json")
    assert check.main(["--config", str(tmp_path / "bad.json")]) == 1
    (tmp_path / "empty.json").write_text(json.dumps({"app_id": "", "api_key": API_KEY}))
    assert check.main(["--config", str(tmp_path / "empty.json")]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("tap-ontraport-check: ") for line in lines)
    assert "not found" in lines[0] and "JSON" in lines[1] and "`app_id` is empty" in lines[2]
    assert API_KEY not in "".join(lines)
    sandbox = _start(rate_limit=0)
    try:
        wrong = tmp_path / "wrong.json"
        wrong.write_text(json.dumps({"app_id": APP_ID, "api_key": "not-the-key-7777",
                                     "api_url": sandbox.url}))
        assert check.main(["--config", str(wrong)]) == 1
    finally:
        sandbox.stop()
    err = capsys.readouterr().err
    assert "HTTP 401" in err and "not-the-key-7777" not in err and len(err.strip().splitlines()) == 1


# --- the plan rule ---------------------------------------------------------------------------


@pytest.mark.parametrize(("fields", "plan"), [
    ({"refused": "HTTP 403", "dlm_in_meta": True}, "skipped (HTTP 403)"),
    ({"dlm_in_meta": True, "requests": 2}, "incremental on dlm"),
    ({"dlm_in_records": True, "requests": 2}, "incremental on dlm"),
    ({"dlm_in_records": False, "requests": 2}, "full table"),
    ({"requests": 0}, "full table (no record sampled: incremental if records carry dlm)"),
])
def test_planned_replication_follows_the_rules(fields, plan):
    base = {"object_id": 7, "meta_name": "Message", "stream_name": "messages", "meta_fields": 3,
            "dlm_in_meta": False}
    assert planned_replication(check.ObjectFindings(**{**base, **fields})) == plan


# --- attribution of a refused keyset read -------------------------------------------------------


class _CountRefusingClient:
    """Answers like an account whose API refuses `count=true` (and every sort on `grade`)."""

    api_url = "https://api.example.test/1"

    def __init__(self, budget: RequestBudget) -> None:
        self.budget = budget
        self.governor = type("Governor", (), {"window": None})()
        self.sent: list[dict] = []

    def get(self, path: str, params: dict, *, label: str):
        from tap_ontraport.client import ApiResponse
        from tap_ontraport.errors import BadRequestError

        self.budget.spend()
        self.sent.append(dict(params))
        if path == "/objects/meta":
            data = {"0": {"name": "Contact", "fields": {"id": {"type": "numeric"},
                                                        "dlm": {"type": "timestamp"}}}}
        elif params.get("count"):
            raise BadRequestError("Ontraport refused GET /Contacts as malformed (HTTP 400: 'Invalid query').")
        else:
            low = int(json.loads(params["condition"])[0]["value"]["value"]) if "condition" in params else 0
            data = [{"id": str(i), "dlm": "1700000000"} for i in range(low + 1, low + 6)]
        return ApiResponse(data=data, envelope={"code": 0, "data": data}, status=200, headers={})


def test_a_refused_count_is_told_apart_from_a_refused_sort():
    budget = RequestBudget()
    client = _CountRefusingClient(budget)
    report = check.Checker(client, budget).run()
    contacts = report.objects[0]
    assert contacts.keyset == "works"
    assert contacts.count == ("refused (HTTP 400/422: Invalid query); "
                              "without count=true the read works")
    assert contacts.requests == 3 and report.requests_spent == 4  # meta + 3 on Contacts
    assert report.unknown_field == "not probed"  # Contacts had no request left
    assert "condition" in client.sent[-1] and "count" not in client.sent[-1]


def test_the_command_is_installed_as_a_console_script():
    import tomllib

    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    assert pyproject["project"]["scripts"]["tap-ontraport-check"] == "tap_ontraport.check:main"
