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


def log_in(page: Any, hub: dict[str, Any]) -> None:
    """Sign in through the login form as the running hub's user."""
    page.goto(hub["base"] + "/accounts/login/")
    page.fill("#id_username", hub["user"])
    page.fill("#id_password", hub["password"])
    page.click("main button[type=submit]")


def order(page: Any, *, generate: bool = True) -> str:
    """Press "Order mosaic", then Generate (or Cancel) in the confirmation step; its text."""
    page.click("text=Order mosaic")
    page.wait_for_selector("#order-confirm[open]")
    text: str = page.text_content("#order-confirm")
    page.click("#order-generate" if generate else "#order-cancel")
    return text
