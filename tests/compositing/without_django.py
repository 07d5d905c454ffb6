"""A pytest plugin (`-p tests.compositing.without_django`) that makes Django and the hub
unimportable, so a compositing test that reaches for them fails instead of loading them."""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

# The Django side of the project, and the pytest plugin that would set it up.
DJANGO_SIDE = ("django", "pytest_django", "hub", "workers", "tests.hub", "tests.browser")


def is_django_side(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in DJANGO_SIDE)


class _Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        if is_django_side(fullname):
            raise ImportError(f"{fullname} imported while running tests/compositing, "
                              "which must run without Django")
        return None


def pytest_configure() -> None:
    """Installed as a plugin only: importing this module elsewhere refuses nothing."""
    loaded = sorted(name for name in sys.modules if is_django_side(name))
    if loaded:
        raise ImportError(f"loaded before the tests/compositing guard: {', '.join(loaded)}")
    sys.meta_path.insert(0, _Refuse())
