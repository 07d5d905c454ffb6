"""What the benchmarks of the hub start from: the default demo archive under var/bench (built on
first use), demo archives that cover a given extent, Django set up on one of them, searching
it through the embedded STAC API, and a PostgreSQL database of their own."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ARCHIVE = REPO / "var" / "bench" / "archive-pipeline"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def ensure_archive() -> Path:
    """The default demo archive (`python -m compositing.demo.archive`), built if absent."""
    if not any(ARCHIVE.glob("*/*/*.json")):
        subprocess.run([sys.executable, "-m", "compositing.demo.archive", str(ARCHIVE)], check=True,
                       cwd=REPO)
    return ARCHIVE


def ensure_extent_archive(width_km: float, height_km: float,
                          tiles: tuple[str, ...] = ("29UNU", "29UPU"),
                          dates: tuple[str, str] | None = None) -> Path:
    """A year of demo scenes (or those between the ISO `dates`) of `tiles` covering width x
    height km around the demo centre (`manage.py make_demo_archive --extent-km`), built if
    absent; the midlands tiles by default, the only ones an AOI around the demo centre needs."""
    span = f"-{dates[0]}-{dates[1]}" if dates else ""
    archive = (REPO / "var" / "bench"
               / f"archive-{'-'.join(tiles)}-{width_km:g}x{height_km:g}km{span}")
    period = ["--start", dates[0], "--end", dates[1]] if dates else []
    subprocess.run([sys.executable, "manage.py", "make_demo_archive", "--if-empty",
                    "--archive", str(archive), "--tiles", ",".join(tiles),
                    "--extent-km", str(width_km), str(height_km), *period],
                   check=True, cwd=REPO, env={**os.environ, "DEBUG": "1"})
    return archive


def setup_django(archive: Path = ARCHIVE) -> None:
    """Django on a benchmark archive, with the embedded STAC API (HUB_STAC_URL empty)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
    os.environ["HUB_ARCHIVE_DIR"], os.environ["HUB_STAC_URL"] = str(archive), ""
    import django

    django.setup()


@contextlib.contextmanager
def database(prefix: str) -> Iterator[str]:
    """The URL of a new PostgreSQL database on loopback, dropped afterwards (with whatever
    connections Django or the hub's processes still hold on it)."""
    import psycopg

    name = f"mosaichub_{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgres://postgres@127.0.0.1:5432/{name}"
    finally:
        from django.conf import settings

        if settings.configured:  # a bench that runs Django in-process (scale.py)
            from django.db import connections

            connections.close_all()
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
