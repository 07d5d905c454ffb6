"""The layers of ARCHITECTURE.md hold: compositing knows nothing of the web, the hub never
imports the workers, and no module of the project imports itself back through others.

The static graph counts every import at any depth (inside functions too: a lazy import that
dodges a cycle is still an edge of it); imports under `if TYPE_CHECKING:` are not run, so they
are left out.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("compositing", "hub", "workers")
WEB = ("django", "celery", "hub", "workers")

Graph = dict[str, set[str]]


def module_files() -> dict[str, Path]:
    """Every module of the project's packages by dotted name (packages by their __init__)."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return ((isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
            or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def _import_nodes(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements at any depth, except in the body of `if TYPE_CHECKING:`."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield from _import_nodes(ast.Module(body=[other], type_ignores=[]))
        else:
            yield from _import_nodes(child)


def imported_names(module: str, path: Path) -> set[str]:
    """Dotted names a module imports: `import a.b` gives a.b, `from a import b` gives a.b
    (b may be a module or a name in a), relative imports resolved."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            parent = package.split(".")[:len(package.split(".")) - node.level + 1]
            base = ".".join([*parent, base] if base else parent)
        names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def project_graph() -> tuple[Graph, dict[str, set[str]]]:
    """Edges between the project's modules, and every name each module imports."""
    modules = module_files()
    names = {module: imported_names(module, path) for module, path in modules.items()}
    graph: Graph = {}
    for module, imported in names.items():
        targets = set()
        for name in imported:
            # The longest project module the name lies in: a.b.c is module a.b.c, or name c
            # of module a.b.
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != module:
                targets.add(name)
        graph[module] = targets
    return graph, names


def find_cycle(graph: Graph) -> list[str] | None:
    """One cycle of the graph as a path [a, b, ..., a], or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def _within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


@pytest.fixture(scope="module")
def graph() -> tuple[Graph, dict[str, set[str]]]:
    return project_graph()


def test_the_graph_sees_every_kind_of_import(graph):
    edges, _ = graph
    assert "hub.mosaics.models" in edges["hub.mosaics.services"]  # from a.b import name
    assert "hub.stac.embedded" in edges["hub.mosaics.operator"]  # inside a function
    assert "hub.mosaics.services" in edges["hub.mosaics.api"]  # from a.b import module
    assert "hub.mosaics.services" in edges["workers.tasks"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_the_graph_leaves_out_type_checking_imports_only(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import hub\n"
                      "else:\n    import workers\ndef f():\n    from . import sibling\n")
    assert imported_names("pkg.m", source) == {"typing.TYPE_CHECKING", "workers",
                                               "pkg.sibling"}


def test_no_module_imports_itself_back(graph):
    edges, _ = graph
    cycle = find_cycle(edges)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_hub_never_imports_the_workers(graph):
    _, names = graph
    offenders = {m: sorted(n for n in imported if _within(n, ("workers",)))
                 for m, imported in names.items() if _within(m, ("hub",))}
    assert {m: n for m, n in offenders.items() if n} == {}


def test_compositing_imports_nothing_of_the_web(graph):
    _, names = graph
    offenders = {m: sorted(n for n in imported if _within(n, WEB))
                 for m, imported in names.items() if _within(m, ("compositing",))}
    assert {m: n for m, n in offenders.items() if n} == {}


IMPORT_ALL = """
import importlib, json, pkgutil, sys
import compositing
for info in pkgutil.walk_packages(compositing.__path__, "compositing."):
    importlib.import_module(info.name)
loaded = sorted(m for m in sys.modules if m.partition(".")[0] in {web!r})
count = sum(m.partition(".")[0] == "compositing" for m in sys.modules)
print(json.dumps({{"web": loaded, "compositing": count}}))
"""


def test_every_compositing_module_imports_without_django_celery_hub_or_workers():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    proc = subprocess.run([sys.executable, "-c", IMPORT_ALL.format(web=set(WEB))], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    expected = sum(_within(m, ("compositing",)) for m in module_files())
    assert result["compositing"] == expected  # every module was imported
    assert result["web"] == []
