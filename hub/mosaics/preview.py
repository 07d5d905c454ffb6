"""What an order would be, before it is placed: area, aligned period, CRS, scenes, size."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import shapely
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_http_methods
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from compositing.archive.coverage import (
    Coverage,
    covered_share,
    item_footprints,
    likely_mistake,
    swapped,
)
from compositing.grid import utm_epsg
from compositing.orders.effort import granules_per_pixel, order_work
from compositing.orders.size import product_size
from compositing.orders.spec import ORDER_OPTIONS, SpecError, aoi_area_km2
from hub.errors import error_response
from hub.mosaics.archive_items import items_over
from hub.mosaics.operator import archive_interval
from hub.mosaics.rates import measured_rate
from hub.mosaics.services import free_storage_bytes, read_order


@login_required
@require_http_methods(["GET", "POST"])
def preview(request: HttpRequest) -> HttpResponse:
    """The order form's fields (GET query, or POST form for AOIs too long for a URL): a JSON
    summary, or 400 naming the field. POST changes nothing either."""
    data = request.POST if request.method == "POST" else request.GET
    options: dict[str, Any] = {
        name: data.getlist(name) if option.many else data.get(name)
        for name, option in ORDER_OPTIONS.items() if data.get(name, "") != ""}
    if "compare_start" not in options:  # a change order has default bands
        options.setdefault("bands", ["B04"])  # the size estimate needs a band
    options.setdefault("crs", "UTM")
    if options.get("period") != "custom":
        options["end"] = None
    try:
        spec = read_order(options)
    except SpecError as exc:
        return error_response(400, exc.message, exc.field)
    size = product_size(spec)
    free = free_storage_bytes()
    first = _PeriodScenes.search(spec.aoi, spec.start, spec.end)
    centre = spec.aoi.centroid
    utm = utm_epsg(centre.x, centre.y)
    summary: dict[str, Any] = {
        "area_km2": round(aoi_area_km2(spec.aoi), 3),
        "start": spec.start.isoformat(), "end": spec.end.isoformat(),
        "epsg": spec.crs, "crs_name": CRS.from_epsg(spec.crs).name,
        "width": size.width, "height": size.height,
        **first.summary(""),
        "estimated_bytes": size.estimated_bytes,
        "tiles": size.tiles,
        "delivery": size.describe(),
        "free_bytes": free,
        "fits_storage": size.working_bytes <= free,
        "utm_epsg": utm, "utm_name": CRS.from_epsg(utm).name,
        "change": spec.is_change,
        "bands": list(spec.bands),
    }
    summary.update(_coverage_summary(spec.aoi, spec.start, spec.end, first.coverage))
    periods = [first]
    if spec.is_change and spec.compare_start is not None and spec.compare_end is not None:
        second = _PeriodScenes.search(spec.aoi, spec.compare_start, spec.compare_end)
        periods.append(second)
        summary.update({"compare_start": spec.compare_start.isoformat(),
                        "compare_end": spec.compare_end.isoformat(),
                        "confidence": spec.confidence, "change_classes": spec.change_classes,
                        **second.summary("compare_")})
        if "warning" not in summary:
            later = _coverage_summary(spec.aoi, spec.compare_start, spec.compare_end,
                                      second.coverage)
            if "warning" in later:
                later["warning"]["message"] = (
                    f"The second period ({spec.compare_start} to {spec.compare_end}): "
                    f"{later['warning']['message']}")
                summary.update(warning=later["warning"], confirm=True)
    footprints = [f for period in periods for f in period.footprints]
    summary.update(_time_estimate(size.width * size.height, spec.aoi, footprints))
    unreachable = {name: why for period in periods for name, why in period.unreachable.items()}
    if unreachable:
        summary["archive_errors"] = unreachable
    if not str(options.get("aoi", "")).lstrip().startswith("{"):
        # A bbox or a tile id: the page draws the area the server understood.
        summary["aoi_geometry"] = json.loads(shapely.to_geojson(spec.aoi))
    return JsonResponse(summary)


@dataclass(frozen=True)
class _PeriodScenes:
    """What the archives hold over the AOI in one period of the order."""

    counts: dict[str, int | None]
    unreachable: dict[str, str]
    footprints: list[BaseGeometry]
    coverage: Coverage

    @classmethod
    def search(cls, aoi: BaseGeometry, start: date, end: date) -> _PeriodScenes:
        found = items_over(aoi, start, end)
        footprints = item_footprints(found.items)
        return cls(found.counts, found.unreachable, footprints,
                   Coverage(covered_share(aoi, footprints), found.complete))

    def summary(self, prefix: str) -> dict[str, Any]:
        """The period's scene counts and covered share, keyed with the prefix ('' for the
        first period, 'compare_' for a change order's second)."""
        return {
            # Distinct granules are at least the largest archive's count (a granule in several
            # archives is read from the first); each archive's own count beside it.
            f"{prefix}scenes": max((n for n in self.counts.values() if n is not None),
                                   default=0),
            f"{prefix}scenes_by_archive": self.counts,
            f"{prefix}coverage": round(self.coverage.share, 3),
            f"{prefix}coverage_complete": self.coverage.complete,
        }


def _time_estimate(pixels: int, aoi: BaseGeometry,
                   footprints: list[BaseGeometry]) -> dict[str, Any]:
    """The order's work and, once orders have finished on this hub, its processing time at
    their rate (queueing not included)."""
    work = order_work(pixels, granules_per_pixel(aoi, footprints))
    rate = measured_rate()
    return {"work_mpx_obs": round(work, 6),
            "estimated_seconds": None if rate is None else round(rate.estimate(work), 1),
            "rate_orders": 0 if rate is None else rate.orders}


def _coverage_summary(aoi: BaseGeometry, start: date, end: date,
                      coverage: Coverage) -> dict[str, Any]:
    """The least share to cover, and below it the likely mistake and a request to
    confirm. Where nothing is covered, the AOI is tried with its coordinates exchanged and
    over the archive's whole span, to tell a swapped AOI or a wrong period from a place the
    archive does not cover."""
    out: dict[str, Any] = {"min_coverage": settings.HUB_MIN_COVERAGE}
    span = archive_interval()
    swapped_has_scenes = elsewhere = False
    if coverage.share == 0:
        flipped = swapped(aoi)
        if span is not None:
            swapped_has_scenes = flipped is not None and _any_scene(flipped, *span)
            elsewhere = _any_scene(aoi, *span)
    mistake = likely_mistake(coverage.share, settings.HUB_MIN_COVERAGE, swapped_has_scenes,
                             elsewhere, span)
    if mistake is not None:
        out["warning"] = {"kind": mistake.kind, "message": mistake.message}
        out["confirm"] = True
    return out


def _any_scene(aoi: BaseGeometry, start: date, end: date) -> bool:
    """Whether any archive has an item over the AOI from start to end."""
    return items_over(aoi, start, end, limit=1).any
