"""What the benchmarks of the hub start from: the default demo archive under var/bench (built on
first use) and Django set up on it, searching it through the embedded STAC API."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ARCHIVE = REPO / "var" / "bench" / "archive-pipeline"


def ensure_archive() -> Path:
    """The default demo archive (`python -m compositing.demo.archive`), built if absent."""
    if not any(ARCHIVE.glob("*/*/*.json")):
        subprocess.run([sys.executable, "-m", "compositing.demo.archive", str(ARCHIVE)], check=True,
                       cwd=REPO)
    return ARCHIVE


def setup_django() -> None:
    """Django on the benchmark archive, with the embedded STAC API (HUB_STAC_URL empty)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
    os.environ["HUB_ARCHIVE_DIR"], os.environ["HUB_STAC_URL"] = str(ARCHIVE), ""
    import django

    django.setup()
