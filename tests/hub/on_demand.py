"""Products composed on first use, for fixtures whose tests each need only some of them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class OnDemand(dict[str, Any]):
    """A mapping that makes a missing entry with `make(key)` the first time it is read."""

    def __init__(self, make: Callable[[str], Any]) -> None:
        super().__init__()
        self._make = make

    def __missing__(self, key: str) -> Any:
        self[key] = value = self._make(key)
        return value
