"""Queries behind the public pages: families by theme, items overlapping a date range, an
item's page."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.urls import reverse

from hub.catalogue.geometry import footprint_bbox
from hub.catalogue.inspire import CATALOGUE_EPSG
from hub.catalogue.models import Item, ItemFile, ProductFamily, Theme
from hub.mosaics.listing import quicklook_file
from hub.mosaics.product_page import (
    METADATA_FILE,
    ProductMetadata,
    crs_label,
    read_metadata_file,
)

MAX_SELECTION = 500


def overlap_q(start: date | None, end: date | None, prefix: str = "") -> Q:
    """Items whose period overlaps [start, end] (either bound may be open)."""
    q = Q()
    if start:
        q &= Q(**{f"{prefix}end__gte": start})
    if end:
        q &= Q(**{f"{prefix}start__lte": end})
    return q


def browse(filters: dict[str, Any]) -> list[dict[str, Any]]:
    """Families matching the filters, grouped by theme, each with its matching item count."""
    dated = bool(filters.get("start") or filters.get("end"))
    families = ProductFamily.objects.annotate(matching=Count(
        "items", filter=overlap_q(filters.get("start"), filters.get("end"), "items__")))
    if filters.get("theme"):
        families = families.filter(theme=filters["theme"])
    if filters.get("variable"):
        families = families.filter(variable=filters["variable"])
    if dated:
        families = families.filter(matching__gt=0)
    # Resolutions are a JSON list: filtered here, as SQLite has no JSON containment lookup.
    found = [f for f in families if not filters.get("resolution")
             or filters["resolution"] in f.resolutions]
    return [{"theme": label, "families": [f for f in found if f.theme == value]}
            for value, label in Theme.choices if any(f.theme == value for f in found)]


def family_items(family: ProductFamily, start: date | None, end: date | None) -> QuerySet[Item]:
    """The items of a family overlapping the range, newest first, with their files."""
    return (family.items.filter(overlap_q(start, end))
            .annotate(file_count=Count("files"), total_size=Sum("files__size"))
            .order_by("-start", "identifier"))


def selected_files(family: ProductFamily, item_ids: list[str]) -> list[ItemFile]:
    """The files of the selected items of a family (ids that are not numbers are ignored)."""
    ids = [int(i) for i in item_ids if i.isdigit()][:MAX_SELECTION]
    return list(ItemFile.objects.filter(item__family=family, item__pk__in=ids)
                .select_related("item").order_by("item__identifier", "name"))


def item_page(found: Item) -> dict[str, Any]:
    """What an item's page shows: its files, and for a product of this hub the facts of its
    metadata.json and its quicklook on a map over the footprint."""
    files = list(found.files.all())
    metadata = _item_metadata(files)
    quicklook = quicklook_file(f for f in files if f.local_file() is not None)
    map_data: dict[str, Any] = {"aoi": found.footprint, "aoi_label": "Footprint",
                                "quicklook": None}
    if quicklook is not None and metadata is not None and metadata.corners:
        map_data["quicklook"] = {"url": reverse("catalogue:file", args=[quicklook.pk]),
                                 "corners": metadata.corners}
    return {"item": found, "family": found.family, "files": files, "metadata": metadata,
            "map_data": map_data, "total_size": sum(f.size for f in files),
            "bbox": [round(v, 5) for v in footprint_bbox(found.footprint)],
            "crs": crs_label(f"EPSG:{found.epsg or CATALOGUE_EPSG}")}


def _item_metadata(files: list[ItemFile]) -> ProductMetadata | None:
    """The item's own metadata.json (a published mosaic's), read as the product page does."""
    entry = next((f for f in files if f.name == METADATA_FILE), None)
    local = entry.local_file() if entry else None
    return read_metadata_file(local) if local is not None else None
