"""Register real L2A products (SAFE folders, .SAFE.zip, STAC Items with COGs) in the archive."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from compositing.archive.ingest import IngestError, IngestResult, ingest_path


class Command(BaseCommand):
    help = ("Register L2A products in HUB_ARCHIVE_DIR: SAFE folders, .SAFE.zip files, "
            "MTD_MSIL2A.xml files or STAC Item JSON files with local COG assets.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")
        parser.add_argument("--archive", type=Path, default=None,
                            help="archive directory (default: HUB_ARCHIVE_DIR)")
        parser.add_argument("--collection", default=None,
                            help="collection folder (default: HUB_STAC_COLLECTION)")
        parser.add_argument("--remote", action="store_true",
                            help="register a STAC Item's assets that have no local file by "
                                 "their remote hrefs (http(s), s3): read where they are, by "
                                 "ranges, never downloaded")

    def handle(self, *args: Any, **opts: Any) -> None:
        archive: Path = (opts["archive"] or Path(settings.HUB_ARCHIVE_DIR)).expanduser()
        collection: str = opts["collection"] or settings.HUB_STAC_COLLECTION
        counts: dict[str, int] = {}
        failed: list[str] = []
        for path in opts["paths"]:
            try:
                result = ingest_path(path, archive, collection, keep_remote=opts["remote"])
            except IngestError as exc:
                failed.append(str(path))
                self.stderr.write(f"FAILED {exc}")
                continue
            counts[result.status] = counts.get(result.status, 0) + 1
            self._report(result)
        summary = ", ".join(f"{n} {status}" for status, n in counts.items())
        total = len(opts["paths"])
        self.stdout.write(f"{total} path(s): {summary or 'none registered'}"
                          + (f", {len(failed)} failed" if failed else ""))
        if failed:
            raise CommandError(f"{len(failed)} of {total} path(s) failed: {', '.join(failed)}")

    def _report(self, result: IngestResult) -> None:
        """What was registered from one path and what it lacks."""
        self.stdout.write(f"{result.status}: {result.item_id}  ({result.source})")
        self.stdout.write(f"  item: {result.item_path}")
        assets = ", ".join(f"{key} {what}" for key, what in result.assets.items())
        self.stdout.write(f"  assets: {assets}")
        if result.notes:
            self.stdout.write("  resolution differs from the item, taken from the local files: "
                              + ", ".join(result.notes))
        if result.missing:
            self.stdout.write("  missing:")
            for line in result.missing:
                self.stdout.write(f"    - {line}")
