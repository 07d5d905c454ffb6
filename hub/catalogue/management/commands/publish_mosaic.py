"""publish_mosaic REQUEST_ID [--family SLUG]: a finished mosaic into the catalogue."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hub.catalogue.models import ProductFamily
from hub.catalogue.publishing import MOSAIC_FAMILY, PublishError, publish_request
from hub.mosaics.models import MosaicRequest


class Command(BaseCommand):
    help = ("Publish a finished mosaic request as a public item of a catalogue family, with "
            "its files (hard-linked into the catalogue, so they stay when the request "
            "expires), its INSPIRE record and STAC item. Publishing again changes nothing.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("request_id", help="the mosaic request's id (a UUID)")
        parser.add_argument("--family", default=MOSAIC_FAMILY,
                            help=f"slug of the catalogue family (default {MOSAIC_FAMILY})")

    def handle(self, *args: Any, **options: Any) -> None:
        """Publish, and say what was done and where the item is."""
        try:
            req = MosaicRequest.objects.get(pk=uuid.UUID(options["request_id"]))
        except (ValueError, MosaicRequest.DoesNotExist):
            raise CommandError(f"there is no mosaic request {options['request_id']!r}") from None
        try:
            family = ProductFamily.objects.get(slug=options["family"])
        except ProductFamily.DoesNotExist:
            raise CommandError(f"there is no product family {options['family']!r}") from None
        try:
            published = publish_request(req, family)
        except PublishError as exc:
            raise CommandError(f"not published: {exc}") from None
        files = published.item.files.count()
        self.stdout.write(f"{published.message}: {files} files, "
                          f"{published.item.get_absolute_url()}")
