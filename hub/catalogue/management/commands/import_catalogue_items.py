"""import_catalogue_items FAMILY_SLUG MANIFEST: bulk-load the items of a product family."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hub.catalogue.importer import COLUMNS, ManifestError, import_items, read_manifest
from hub.catalogue.models import ProductFamily


class Command(BaseCommand):
    help = (
        "Import items of a product family from a CSV or JSON manifest, one row per file, "
        f"columns: {', '.join(COLUMNS)}. Every row is checked first; if any is bad nothing "
        "is imported. Re-importing the same manifest changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("family", help="slug of the product family, e.g. lwq")
        parser.add_argument("manifest", type=Path, help="a .csv or .json manifest")

    def handle(self, *args: Any, **options: Any) -> None:
        """Import the manifest and report created/updated/unchanged items."""
        try:
            family = ProductFamily.objects.get(slug=options["family"])
        except ProductFamily.DoesNotExist:
            raise CommandError(f"there is no product family {options['family']!r}") from None
        manifest: Path = options["manifest"]
        if not manifest.is_file():
            raise CommandError(f"{manifest} is not a file")
        try:
            report = import_items(family, read_manifest(manifest))
        except ManifestError as exc:
            lines = [f"row {row}: {reason}" if row else reason for row, reason in exc.errors]
            raise CommandError("nothing imported, the manifest has bad rows:\n"
                               + "\n".join(lines)) from None
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read {manifest}: {exc}") from None
        self.stdout.write(
            f"{family.slug}: {len(report.created)} created, {len(report.updated)} updated, "
            f"{len(report.unchanged)} unchanged"
        )
