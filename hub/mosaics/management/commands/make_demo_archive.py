"""Build the demo Sentinel-2 L2A archive (synthetic scenes in the real on-disk shape).

By default a whole year (2023) of both demo areas: 29UNU/29UPU in zone 29 and 29UPU/30UUD across
the zone 29/30 border, 4 scenes per pass, at a window size that builds in well under a minute
on two cores (passes are shared out to one process per core).
"""

from __future__ import annotations

import os
import shutil
import time
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from compositing.demo import archive as demo


class Command(BaseCommand):
    help = "Write demo L2A scenes with STAC Items into HUB_ARCHIVE_DIR (skipped if present)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--archive", type=Path, default=None,
                            help="archive directory (default: HUB_ARCHIVE_DIR)")
        parser.add_argument("--start", type=date.fromisoformat, default=demo.FULL_START)
        parser.add_argument("--end", type=date.fromisoformat, default=demo.FULL_END)
        parser.add_argument("--tiles", default=",".join(demo.FULL_TILES),
                            help="comma-separated MGRS tiles (default: both demo areas)")
        size = parser.add_mutually_exclusive_group()
        size.add_argument("--size-m", type=int, default=None,
                          help="side of each scene's window in metres (a multiple of 60; "
                               f"default {demo.FULL_SIZE_M})")
        size.add_argument("--extent-km", type=float, nargs=2, metavar=("WIDTH", "HEIGHT"),
                          help="instead of --size-m: windows just large enough to cover WIDTH "
                               "x HEIGHT km (east x north) around the centre of each demo area")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                            help="processes writing scenes (default: one per CPU)")
        parser.add_argument("--force", action="store_true", help="rebuild even if present")
        parser.add_argument("--if-empty", action="store_true",
                            help="do nothing when the archive already holds scenes")

    def handle(self, *args: Any, **opts: Any) -> None:
        archive: Path = (opts["archive"] or Path(settings.HUB_ARCHIVE_DIR)).resolve()
        if opts["end"] < opts["start"]:
            raise CommandError("--end is before --start")
        tiles = [t for t in opts["tiles"].split(",") if t.strip()]
        if not tiles:
            raise CommandError("--tiles names no tile")
        try:
            windows = demo.demo_windows(tiles, demo.FULL_SIZE_M)
        except KeyError as exc:
            raise CommandError(exc.args[0]) from None
        size_m = demo.FULL_SIZE_M if opts["size_m"] is None else opts["size_m"]
        try:  # every option is checked before the archive is touched
            if opts["extent_km"]:
                size_m = demo.size_for_extent(tiles, *(1000 * v for v in opts["extent_km"]))
            demo.check_window_size(size_m)
        except ValueError as exc:
            option = "--extent-km" if opts["extent_km"] else "--size-m"
            raise CommandError(f"{option}: {exc}") from None
        # A scene folder holds its STAC Item, named as the folder, beside sidecars (angles.json).
        existing = ([f for f in archive.glob("*/*/*.json") if f.stem == f.parent.name]
                    if archive.exists() else [])
        if existing and not opts["force"]:
            if opts["if_empty"]:
                self.stdout.write(f"archive {archive} holds {len(existing)} scenes; kept")
                return
            raise CommandError(f"{archive} already holds scenes; use --force to rebuild")
        if opts["force"] and archive.exists():
            shutil.rmtree(archive / "sentinel-2-l2a", ignore_errors=True)
        t0 = time.perf_counter()
        self.stdout.write(f"writing demo scenes to {archive} ...")
        bar = ProgressBar(self.stdout, t0)
        try:
            items = demo.build_demo_archive(archive, start=opts["start"], end=opts["end"],
                                            tiles=tiles, size_m=size_m,
                                            seed=opts["seed"], workers=opts["workers"],
                                            progress=bar)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        areas = sorted({w.area for w in windows})
        self.stdout.write(f"wrote {len(items)} demo scenes ({', '.join(areas)}) of {size_m} m "
                          f"to {archive} in {time.perf_counter() - t0:.1f} s")


class ProgressBar:
    """Acquisition days written of all, and the time left at the rate so far: on one line
    redrawn in a terminal (make run), every tenth otherwise (logs)."""

    WIDTH = 30

    def __init__(self, out: Any, started: float) -> None:
        self.out, self.started = out, started
        self.tty = out.isatty()
        self.shown_tenth = -1

    def __call__(self, done: int, total: int) -> None:
        elapsed = time.perf_counter() - self.started
        left = elapsed / done * (total - done)
        filled = round(self.WIDTH * done / total)
        line = (f"[{'#' * filled}{' ' * (self.WIDTH - filled)}] {done}/{total} acquisition days"
                f" · {elapsed:.0f} s, about {left:.0f} s left")
        if self.tty:
            self.out.write("\r" + line, ending="\n" if done == total else "")
            self.out.flush()
        elif done * 10 // total > self.shown_tenth:
            self.shown_tenth = done * 10 // total
            self.out.write(line)
