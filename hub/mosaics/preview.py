"""What an order would be, before it is placed: area, aligned period, CRS, scenes, size."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, time
from typing import Any

import shapely
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_http_methods
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from compositing.archive.coverage import (
    COVERAGE_ITEMS,
    Coverage,
    archive_footprints,
    covered_share,
    item_footprints,
    likely_mistake,
    swapped,
)
from compositing.archive.scenes import count_scenes
from compositing.grid import utm_epsg
from compositing.orders.effort import granules_per_pixel, order_work
from compositing.orders.size import product_size
from compositing.orders.spec import ORDER_OPTIONS, SpecError, aoi_area_km2
from hub.errors import error_response
from hub.mosaics.operator import archive_interval, archives, serves_own_archive
from hub.mosaics.rates import measured_rate
from hub.mosaics.services import free_storage_bytes, read_order
from hub.stac.views import get_archive

log = logging.getLogger(__name__)


@login_required
@require_http_methods(["GET", "POST"])
def preview(request: HttpRequest) -> HttpResponse:
    """The order form's fields (GET query, or POST form for AOIs too long for a URL): a JSON
    summary, or 400 naming the field. POST changes nothing either."""
    data = request.POST if request.method == "POST" else request.GET
    options: dict[str, Any] = {
        name: data.getlist(name) if option.many else data.get(name)
        for name, option in ORDER_OPTIONS.items() if data.get(name, "") != ""}
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
    counts, footprints, complete, unreachable = _scene_counts(spec.aoi, spec.start, spec.end)
    coverage = Coverage(covered_share(spec.aoi, footprints), complete)
    centre = spec.aoi.centroid
    utm = utm_epsg(centre.x, centre.y)
    summary: dict[str, Any] = {
        "area_km2": round(aoi_area_km2(spec.aoi), 3),
        "start": spec.start.isoformat(), "end": spec.end.isoformat(),
        "epsg": spec.crs, "crs_name": CRS.from_epsg(spec.crs).name,
        "width": size.width, "height": size.height,
        # Distinct granules are at least the largest archive's count (a granule in several
        # archives is read from the first); each archive's own count beside it.
        "scenes": max((n for n in counts.values() if n is not None), default=0),
        "scenes_by_archive": counts,
        "estimated_bytes": size.estimated_bytes,
        "tiles": size.tiles,
        "delivery": size.describe(),
        "free_bytes": free,
        "fits_storage": size.working_bytes <= free,
        "utm_epsg": utm, "utm_name": CRS.from_epsg(utm).name,
    }
    summary.update(_coverage_summary(spec.aoi, spec.start, spec.end, coverage))
    summary.update(_time_estimate(size.width * size.height, spec.aoi, footprints))
    if unreachable:
        summary["archive_errors"] = unreachable
    if not str(options.get("aoi", "")).lstrip().startswith("{"):
        # A bbox or a tile id: the page draws the area the server understood.
        summary["aoi_geometry"] = json.loads(shapely.to_geojson(spec.aoi))
    return JsonResponse(summary)


def _window(start: date, end: date) -> str:
    """The STAC datetime interval of whole UTC days from start to end."""
    return (f"{datetime.combine(start, time.min, UTC):%Y-%m-%dT%H:%M:%SZ}/"
            f"{datetime.combine(end, time.max, UTC):%Y-%m-%dT%H:%M:%SZ}")


def _scene_counts(aoi: BaseGeometry, start: date, end: date
                  ) -> tuple[dict[str, int | None], list[BaseGeometry], bool, dict[str, str]]:
    """Items over the AOI and period per archive (None: its API does not count), their
    footprints, whether those are all of them, and the archives that could not be asked, with
    why. The local archive is searched in-process."""
    window = _window(start, end)
    counts: dict[str, int | None] = {}
    footprints: list[BaseGeometry] = []
    complete = True
    unreachable: dict[str, str] = {}
    for configured, archive in zip(settings.HUB_ARCHIVES, archives(), strict=True):
        if serves_own_archive(configured):
            page = get_archive().search(intersects=aoi.__geo_interface__, datetime=window,
                                        collections=[archive.collection], limit=COVERAGE_ITEMS)
            counts[archive.name] = page.number_matched
            footprints += item_footprints(page.items)
            complete &= len(page.items) >= page.number_matched
            continue
        try:
            found, counts[archive.name], all_found = archive_footprints(archive, aoi, start, end)
        except Exception as exc:  # a remote archive that is down must not fail the preview
            log.warning("preview: archive %s could not be searched (%s: %s)", archive.name,
                        type(exc).__name__, exc)
            unreachable[archive.name] = f"{archive.stac_url} could not be searched"
            continue
        footprints += found
        complete &= all_found
    return counts, footprints, complete, unreachable


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
    """The covered share, and below HUB_MIN_COVERAGE the likely mistake and a request to
    confirm. Where nothing is covered, the AOI is tried with its coordinates exchanged and
    over the archive's whole span, to tell a swapped AOI or a wrong period from a place the
    archive does not cover."""
    out: dict[str, Any] = {"coverage": round(coverage.share, 3),
                           "coverage_complete": coverage.complete,
                           "min_coverage": settings.HUB_MIN_COVERAGE}
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
    window = _window(start, end)
    for configured, archive in zip(settings.HUB_ARCHIVES, archives(), strict=True):
        found: int | None
        try:
            if serves_own_archive(configured):
                found = get_archive().search(intersects=aoi.__geo_interface__, datetime=window,
                                             collections=[archive.collection],
                                             limit=1).number_matched
            else:
                found = count_scenes(archive, aoi, start, end)
        except Exception:  # noqa: BLE001 - an archive that is down says nothing here
            continue
        if found:
            return True
    return False
