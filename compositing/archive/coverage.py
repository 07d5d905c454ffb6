"""How much of an area of interest an archive's scenes cover in a period, and what a person who
orders an area nothing covers has most likely got wrong.

The share is the area of the union of the scenes' footprints within the AOI over the AOI's
area, both measured on the ellipsoid. It is what the order form shows before an order is
placed: an AOI in the ocean, a period without acquisitions or latitude and longitude given the
wrong way round all make an empty product, which S2GM delivered without a word.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from compositing.archive.archives import Archive
from compositing.archive.scenes import stac_search
from compositing.orders.spec import aoi_area_km2

# Footprints measured per archive and request: enough for a year over a few tiles; beyond
# it the share is a lower bound (`Coverage.complete` says so).
COVERAGE_ITEMS = 1000


@dataclass(frozen=True)
class Coverage:
    """The covered share of an AOI (0 to 1) and whether every matching footprint was in it."""

    share: float
    complete: bool


@dataclass(frozen=True)
class Mistake:
    """What an order over an area with little or no data most likely got wrong."""

    kind: str  # "swapped", "period", "outside" or "partial"
    message: str


def covered_share(aoi: BaseGeometry, footprints: Iterable[BaseGeometry]) -> float:
    """The share of the AOI's area inside the union of the footprints."""
    parts = [f.intersection(aoi) for f in footprints if f.intersects(aoi)]
    if not parts:
        return 0.0
    covered = shapely.union_all(parts).intersection(aoi)
    total = aoi_area_km2(aoi)
    return min(1.0, aoi_area_km2(covered) / total) if total > 0 else 0.0


def item_footprints(items: Iterable[Mapping[str, Any]]) -> list[BaseGeometry]:
    """The footprints of STAC items (as dicts) that have a geometry."""
    out = []
    for item in items:
        geometry = item.get("geometry")
        if geometry:
            footprint = shape(geometry)
            out.append(footprint if footprint.is_valid else footprint.buffer(0))
    return out


def archive_items(archive: Archive, aoi: BaseGeometry, start: date, end: date,
                  limit: int = COVERAGE_ITEMS) -> tuple[list[dict[str, Any]], int | None, bool]:
    """Up to `limit` of the archive's items (as dicts) over the AOI from start to end, how many
    match (None where its API does not count), and whether they are all."""
    search = stac_search(archive, aoi, start, end, limit=min(limit, 250), max_items=limit)
    items = list(search.items_as_dicts())
    matched = search.matched()
    return items, matched, matched is not None and len(items) >= matched


def swapped(aoi: BaseGeometry) -> BaseGeometry | None:
    """The AOI with longitude and latitude exchanged, where that is still a place on Earth."""
    flipped = shapely.transform(aoi, lambda xy: xy[:, ::-1])
    minx, miny, maxx, maxy = flipped.bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        return None
    return flipped


def likely_mistake(share: float, threshold: float, swapped_has_scenes: bool,
                   elsewhere_in_time: bool,
                   span: tuple[date, date | None] | None) -> Mistake | None:
    """What the person most likely got wrong, from the covered share and what would have
    been covered otherwise: the coordinates the wrong way round (exchanged, the AOI has
    scenes), the period (the AOI has scenes at other times), the place (no scene anywhere in
    time), or nothing but a partial cover (below the threshold). None at or above it."""
    if share >= threshold:
        return None
    if share > 0:
        return Mistake("partial", f"Only {share:.0%} of the area has scenes in this period: "
                                  "the rest of the product will be empty.")
    if swapped_has_scenes:
        return Mistake("swapped", "No scene covers this area, but with longitude and latitude "
                                  "exchanged it lies on the archive: were the coordinates "
                                  "given as latitude, longitude? They are read as longitude, "
                                  "latitude (WGS 84).")
    held = (f" The archive holds scenes from {span[0]:%d %b %Y} to "
            f"{span[1]:%d %b %Y}." if span is not None and span[1] is not None else "")
    if elsewhere_in_time:
        return Mistake("period", "The archive has no scene over this area in this period, "
                                 f"but has some at other times.{held}")
    return Mistake("outside", "No scene of the archive covers this area at any time: it is "
                              f"outside every footprint (in the sea, or beyond the archive).{held}")
