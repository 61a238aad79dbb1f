"""The shape of the package's code: short functions, and an import graph without cycles."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "tap_ontraport"
#: A function longer than this is split: it reads in one screen, and each part gets a name.
MAX_FUNCTION_LINES = 40


def _functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def test_no_function_in_the_package_is_longer_than_forty_lines():
    too_long = []
    for path in sorted(PACKAGE.glob("*.py")):
        for node in _functions(ast.parse(path.read_text(encoding="utf-8"))):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                too_long.append(f"{path.name}:{node.lineno} {node.name} ({length} lines)")
    assert not too_long, "split these functions: " + ", ".join(too_long)


def test_the_length_check_sees_a_long_function():
    body = "\n".join(f"    x{n} = {n}" for n in range(MAX_FUNCTION_LINES))
    (node,) = _functions(ast.parse(f"def long():\n{body}\n"))
    assert node.end_lineno - node.lineno + 1 == MAX_FUNCTION_LINES + 1


def _imports(path: Path) -> set[str]:
    """The package modules `path` imports, at run time or for type checking alike."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tap_ontraport"):
            parts = node.module.split(".")
            if len(parts) > 1:
                names.add(parts[1])
            else:  # from tap_ontraport import x
                names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name.split(".")[1] for a in node.names if a.name.startswith("tap_ontraport."))
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    return (names & modules) - {path.stem}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path of names, or None."""
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return [*path[path.index(target):], target] if target in path else [node, target]
            if target not in state and (found := visit(target, [*path, target])):
                return found
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_the_package_import_graph_has_no_cycle():
    graph = {path.stem: _imports(path) for path in PACKAGE.glob("*.py")}
    assert graph["tap"], "the graph was read (tap.py imports package modules)"
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_check_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
