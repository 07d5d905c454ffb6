"""publish_demo_mosaics [--if-empty]: compose two small mosaics of the demo archive in this
process and publish them, so that a new hub's catalogue has real, downloadable items.

`make run` runs it after creating the demo account. Each mosaic is an order of the demo
account, composed by the same tasks a worker runs (`services.process_request`), then published
(`publishing.publish_request`). An order of that name the account already has is reused
rather than ordered again, so a hub whose archive lacks the demo scenes tries once, says why
it could not, and starts without them.
"""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from compositing.demo.archive import DEMO_AOI_BBOX
from compositing.orders.spec import SpecError
from hub.catalogue.models import ProductFamily
from hub.catalogue.publishing import MOSAIC_FAMILY, PublishError, publish_request
from hub.mosaics.models import MosaicRequest, Status
from hub.mosaics.services import process_request, read_order

# A month and the quarter that holds it, over the demo area across the 29UNU/29UPU border:
# about 150 x 150 pixels each at 20 m, seconds to compose.
DEMO_ORDER = {"aoi": list(DEMO_AOI_BBOX), "resolution": 20, "crs": "EPSG:32629",
              "format": "GTiff", "bands": ["B02", "B03", "B04", "B08"],
              "aux": ["valid_obs", "source_index", "method"]}
DEMO_MOSAICS = (
    {**DEMO_ORDER, "name": "demo-2023-06", "period": "month", "start": "2023-06-01"},
    {**DEMO_ORDER, "name": "demo-2023-q2", "period": "quarter", "start": "2023-04-01"},
)


class Command(BaseCommand):
    help = ("Compose two small mosaics of the demo archive (June 2023 and its quarter) as "
            "orders of the demo account and publish them into the Sentinel-2 mosaic family "
            "of the catalogue.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--owner", default="demo", help="the account that orders them")
        parser.add_argument("--if-empty", action="store_true",
                            help="do nothing when the mosaic family already has items")

    def handle(self, *args: Any, **options: Any) -> None:
        """Compose and publish each demo mosaic not published yet."""
        family = ProductFamily.objects.filter(slug=MOSAIC_FAMILY).first()
        if family is None:
            raise CommandError(f"there is no product family {MOSAIC_FAMILY!r} (migrate first)")
        if options["if_empty"] and family.items.exists():
            self.stdout.write(f"the catalogue's {family.name} family holds "
                              f"{family.items.count()} items; no demo mosaics added")
            return
        owner = get_user_model().objects.filter(username=options["owner"]).first()
        if owner is None:
            raise CommandError(f"there is no account {options['owner']!r} "
                               "(manage.py create_demo_user makes the demo one)")
        for order in DEMO_MOSAICS:
            self._publish_one(order, owner, family)

    def _publish_one(self, options: dict[str, Any], owner: Any, family: ProductFamily) -> None:
        """Compose (or reuse) one demo order and publish it; a failure is reported, not
        raised: the hub starts without that item."""
        started = time.perf_counter()
        req = MosaicRequest.objects.filter(owner=owner, name=options["name"]).first()
        if req is None:
            req = _compose(options, owner)
        if req.status != Status.DONE:
            self.stderr.write(f"demo mosaic {req.name} not published: the order is "
                              f"{req.get_status_display().lower()}"
                              f"{f' ({req.error})' if req.error else ''}")
            return
        try:
            published = publish_request(req, family)
        except PublishError as exc:
            self.stderr.write(f"demo mosaic {req.name} not published: {exc}")
            return
        self.stdout.write(f"demo mosaic {published.message} "
                          f"({time.perf_counter() - started:.1f} s)")


def _compose(options: dict[str, Any], owner: Any) -> MosaicRequest:
    """Order the mosaic and compose it here, as the workers would (no queue: the hub's
    worker is not running yet)."""
    try:
        spec = read_order(options)
    except SpecError as exc:  # the demo orders are fixed: this is a bug, said loudly
        raise CommandError(f"demo order {options['name']}: {exc}") from None
    req = MosaicRequest.from_spec(spec, owner)
    req.save()
    process_request(str(req.pk))
    req.refresh_from_db()
    return req
