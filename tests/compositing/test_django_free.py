"""tests/compositing tests the compositing package alone: no Django, no database, no hub.

A pytest run in a subprocess with pytest-django switched off and the Django side made
unimportable (tests/compositing/without_django.py) collects every test here and resolves its
fixtures, then runs a few for real, among them one on the shared demo archive.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from tests.compositing.without_django import is_django_side
from tests.conftest import REPO

HERE = Path(__file__).parent
# A few real runs: the shared demo archive fixture, an order, a writer, a kernel.
RUN_FOR_REAL = ["archive/test_read_overlap.py", "orders/test_order.py",
                "products/test_quicklook.py", "selection/test_mask.py"]


def pytest_without_django(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """pytest in a subprocess, its temporary files under tmp_path (not beside this run's)."""
    env = {k: v for k, v in os.environ.items()
           if k != "DJANGO_SETTINGS_MODULE" and not k.startswith("PYTEST_")}
    command = [sys.executable, "-m", "pytest", "-p", "no:django", "-p", "no:cacheprovider",
               "-p", "tests.compositing.without_django", "-W", "ignore::pytest.PytestConfigWarning",
               "--basetemp", str(tmp_path / "basetemp"),
               "--ignore", str(Path(__file__).relative_to(REPO)), *args]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)


def test_no_compositing_test_imports_the_django_side() -> None:
    found = []
    for path in sorted(HERE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.relative_to(REPO)}:{node.lineno} {name}"
                      for name in names if is_django_side(name)]
    assert found == []


def test_every_compositing_test_collects_and_finds_its_fixtures_without_django(
        tmp_path: Path) -> None:
    plan = pytest_without_django(tmp_path, "--setup-plan", "-q", str(HERE.relative_to(REPO)))
    assert plan.returncode == 0, plan.stdout[-4000:] + plan.stderr[-4000:]
    planned = {line.split("::")[0].strip() for line in plan.stdout.splitlines() if "::" in line}
    on_disk = {str(p.relative_to(REPO)) for p in HERE.rglob("test_*.py") if p != Path(__file__)}
    assert planned == on_disk


def test_some_compositing_tests_pass_without_django(tmp_path: Path) -> None:
    files = [str((HERE / p).relative_to(REPO)) for p in RUN_FOR_REAL]
    run = pytest_without_django(tmp_path, "-q", *files)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert " passed" in run.stdout.splitlines()[-1] and "skipped" not in run.stdout
