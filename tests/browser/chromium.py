"""Debian's headless Chromium for the browser tests, and where their screenshots go."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.hubstack import REPO

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


def shot(page: Any, name: str) -> None:
    """Save a full-page screenshot as test-artifacts/<name>.png (look at them)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
