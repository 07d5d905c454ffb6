"""Compose a mosaic in this process, for scripts and tests (same pipeline as the workers)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from compositing.archive.scenes import ArchiveDataError
from compositing.orders.spec import SpecError, parse_spec
from compositing.pipeline import run_mosaic
from hub.mosaics.services import mosaic_settings


class Command(BaseCommand):
    help = "Compose a Sentinel-2 L2A mosaic into --out without the queue."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--aoi", required=True,
                            help="GeoJSON file, or a bbox min_lon,min_lat,max_lon,max_lat")
        parser.add_argument("--start", required=True, help="YYYY-MM-DD")
        parser.add_argument("--end", help="YYYY-MM-DD (with a custom period)")
        parser.add_argument("--period", help="day, tenday, month, quarter, year or custom "
                                             "(default: custom when --end is given)")
        parser.add_argument("--resolution", required=True, help="10, 20 or 60")
        parser.add_argument("--crs", required=True, help="EPSG:NNNN or UTM")
        parser.add_argument("--format", default="GTiff")
        parser.add_argument("--bands", required=True, help="comma-separated, e.g. B02,B03,B04")
        parser.add_argument("--aux", default="", help="comma-separated auxiliary layers")
        parser.add_argument("--name", default="mosaic")
        parser.add_argument("--cloud-buffer", default=0,
                            help="dilate cloud and shadow masks by this many pixels")
        parser.add_argument("--layout", default="multiband",
                            help="GeoTIFF: multiband (one file for the bands) or per_layer "
                                 "(one file per band)")
        parser.add_argument("--tiling", default="single",
                            help="single, or mgrs: one subfolder per Sentinel-2 tile (UTM only)")
        parser.add_argument("--out", required=True, type=Path, help="output directory")

    def handle(self, *args: Any, **opts: Any) -> None:
        aoi_arg = opts["aoi"]
        aoi_path = Path(aoi_arg)
        aoi = aoi_path.read_text(encoding="utf-8") if aoi_path.is_file() else aoi_arg
        options = {k: opts[k] for k in ("start", "end", "period", "resolution", "crs",
                                        "format", "bands", "aux", "name", "cloud_buffer",
                                        "layout", "tiling")}
        options["aoi"] = aoi
        try:
            spec = parse_spec(options)
        except SpecError as exc:
            raise CommandError(f"--{exc.field}: {exc.message}") from None
        out: Path = opts["out"].resolve()
        out.mkdir(parents=True, exist_ok=True)

        def progress(fraction: float) -> None:
            self.stderr.write(f"\r{100 * fraction:5.1f} %", ending="")

        try:
            result = run_mosaic(spec, mosaic_settings(), out, uuid.uuid4().hex[:8], progress)
        except ArchiveDataError as exc:
            raise CommandError(str(exc)) from None
        self.stderr.write("")
        self.stdout.write(f"{result.folder}")
        for f in result.files:
            self.stdout.write(f"  {f.name}  {f.size} bytes  sha256 {f.sha256}")
