"""The sandbox keeps its own facts: it must never import the tap it is there to test."""

import ast
from pathlib import Path

import ontraport_sandbox

SANDBOX = Path(ontraport_sandbox.__file__).parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def test_no_sandbox_module_imports_the_tap():
    # nor the webhook receiver: the sandbox's deliveries are tested against it, not built from it
    offenders = {
        path.name: sorted(name for name in imported_modules(path)
                          if name.split(".")[0] in ("tap_ontraport", "ontraport_webhooks"))
        for path in sorted(SANDBOX.glob("*.py"))
    }
    offenders = {name: modules for name, modules in offenders.items() if modules}
    assert offenders == {}


def test_the_check_sees_an_import_when_there_is_one(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("from tap_ontraport.objects import OBJECTS_BY_ID\nimport json\n")
    assert "tap_ontraport.objects" in imported_modules(probe)
