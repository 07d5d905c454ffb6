"""Publishing a finished mosaic into the catalogue: a public Item of a family, with its files.

The one service behind the admin action, the product page's staff button and
`manage.py publish_mosaic`.

Files: every product file is hard-linked into the catalogue root, under
`<family>/<identifier>/<name>`, or copied where the catalogue root is on another file system.
A link costs no room, and unlike a reference into the product folder it outlives the request:
expiry and deletion remove the product folder (`services.remove_product`), not the catalogue's
link to the same bytes. Sizes and SHA-256 are the product's own (computed when it was
delivered), not computed again.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction

from hub.catalogue.geometry import FootprintError, parse_footprint
from hub.catalogue.models import Item, ItemFile, ProductFamily, catalogue_root
from hub.mosaics.models import MosaicRequest, ProductFile, Status
from hub.mosaics.product_page import ProductMetadata, read_metadata, stored_path

log = logging.getLogger(__name__)

# The family a mosaic goes to unless staff choose another (seeded by migration 0002).
MOSAIC_FAMILY = "sentinel-2-global-mosaic"


class PublishError(Exception):
    """A request that cannot be published (nothing was changed); the message says why."""


@dataclass(frozen=True)
class Published:
    """The item of a published request and what publishing did: created, updated, unchanged."""

    item: Item
    outcome: str

    @property
    def message(self) -> str:
        """What publishing did, for staff: 'S2GM_… created in Sentinel-2 Global Mosaic'."""
        return f"{self.item.identifier} {self.outcome} in {self.item.family.name}"


def item_identifier(req: MosaicRequest) -> str:
    """The catalogue identifier of a request's product: its folder name, S2GM-style
    (S2GM_M20_20230601_20230630_june_STD_v0.1.0_1a2b3c4d)."""
    return Path(req.product_folder).name


def published_item(req: MosaicRequest) -> Item | None:
    """The catalogue item a request was published as, if it was."""
    if not req.product_folder:
        return None
    return Item.objects.select_related("family").filter(identifier=item_identifier(req)).first()


def publish_request(req: MosaicRequest, family: ProductFamily) -> Published:
    """Publish a DONE request as an item of `family` with its files; again: nothing changes.

    Raises PublishError, changing nothing, for a request that is not finished, that is
    published in another family, or whose files are gone from storage."""
    existing = published_item(req)
    if existing is not None and existing.family_id != family.pk:
        raise PublishError(f"{existing.identifier} is already published in "
                           f"{existing.family.name}; delete that item to publish it elsewhere")
    if req.status != Status.DONE:
        if existing is not None:  # published before it expired: that item stands
            return Published(existing, "unchanged")
        raise PublishError(f"request {req.name} is {req.get_status_display().lower()}: only "
                           "a finished mosaic (ready to download) can be published")
    files = _stored_files(req)
    fields = _item_fields(req, read_metadata(req))
    identifier = item_identifier(req)
    folder = f"{family.slug}/{identifier}"
    for product_file, source in files:
        _place(source, catalogue_root() / folder / product_file.name)
    wanted = [{"name": f.name, "url": "", "path": f"{folder}/{f.name}", "size": f.size,
               "sha256": f.sha256} for f, _ in files]
    return _save(identifier, family, fields, wanted)


def _stored_files(req: MosaicRequest) -> list[tuple[ProductFile, Path]]:
    """The request's files with where they are, or PublishError if any is missing."""
    files = [(f, stored_path(f)) for f in req.files.all()]
    if not files:
        raise PublishError(f"request {req.name} has no files to publish")
    missing = [f.name for f, path in files if path is None]
    if missing:
        raise PublishError(f"files of request {req.name} are missing from product storage: "
                           f"{', '.join(missing)}")
    return [(f, path) for f, path in files if path is not None]


def _place(source: Path, target: Path) -> None:
    """Hard-link source at target (a copy across file systems), replacing a different file."""
    # The same inode, or a copy of the same size that an earlier publication made: the
    # product's files never change once delivered.
    if target.is_file() and (target.samefile(source)
                             or target.stat().st_size == source.stat().st_size):
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.publishing")
    temporary.unlink(missing_ok=True)
    try:
        os.link(source, temporary)
    except OSError:  # another file system, or one without hard links
        shutil.copyfile(source, temporary)
    os.replace(temporary, target)


def _item_fields(req: MosaicRequest, metadata: ProductMetadata | None) -> dict[str, Any]:
    """The item's period, footprint and record details, from the order and its metadata."""
    spec = req.spec
    try:
        footprint = parse_footprint(req.options["aoi"])
    except FootprintError as exc:  # an area the order accepted but a catalogue cannot hold
        raise PublishError(f"the area of request {req.name} is no catalogue footprint: "
                           f"{exc}") from None
    return {
        # Both periods of a change order: the item is found by either.
        "start": spec.covered_period[0], "end": spec.covered_period[1], "footprint": footprint,
        "description": metadata.summary if metadata else "",
        "lineage": lineage(req, metadata),
        "epsg": spec.crs, "resolution_m": float(spec.resolution),
        "credit": metadata.attribution if metadata else "",
    }


def lineage(req: MosaicRequest, metadata: ProductMetadata | None) -> str:
    """Where the item comes from: the order it was composed for and its L2A inputs."""
    scenes = [scene for source in (metadata.sources if metadata else []) for scene in
              source.scenes]
    finished = f" on {req.finished_at:%Y-%m-%d}" if req.finished_at else ""
    text = (f"Composited by this hub{finished} for the order {req.name} from Copernicus "
            "Sentinel-2 MSI Level-2A products, keeping for each pixel one valid observation "
            "(medoid or short-term composite; the item's metadata.json gives the parameters).")
    if req.spec.is_change:
        text += (f" The mosaics of {req.spec.start} to {req.spec.end} and of "
                 f"{req.spec.compare_start} to {req.spec.compare_end} are compared by Change "
                 "Vector Analysis.")
    if scenes:
        text += f" Inputs ({len(scenes)} L2A granules): {', '.join(scenes)}."
    return text


def _save(identifier: str, family: ProductFamily, fields: dict[str, Any],
          wanted: list[dict[str, Any]]) -> Published:
    """Create or update the item and its files in one transaction."""
    with transaction.atomic():
        item = Item.objects.select_for_update().filter(identifier=identifier).first()
        if item is not None and _same(item, fields, wanted):
            return Published(item, "unchanged")
        outcome = "created" if item is None else "updated"
        item, _ = Item.objects.update_or_create(identifier=identifier,
                                                defaults={"family": family, **fields})
        item.files.all().delete()
        ItemFile.objects.bulk_create(ItemFile(item=item, **row) for row in wanted)
    log.info("request product %s %s in the catalogue family %s", identifier, outcome,
             family.slug)
    return Published(item, outcome)


def _same(item: Item, fields: dict[str, Any], wanted: list[dict[str, Any]]) -> bool:
    """Whether the stored item already holds these fields and files."""
    stored = sorted((f.to_row() for f in item.files.all()), key=lambda row: row["name"])
    return (all(getattr(item, key) == value for key, value in fields.items())
            and stored == sorted(wanted, key=lambda row: row["name"]))
