"""What an order would be, before it is placed: area, aligned period, CRS, scenes, size."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from typing import Any

import shapely
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_http_methods
from pyproj import CRS

from compositing.grid import utm_epsg
from compositing.orders.size import product_size
from compositing.orders.spec import ORDER_OPTIONS, SpecError, aoi_area_km2
from hub.errors import error_response
from hub.mosaics.services import free_storage_bytes, read_order
from hub.stac.views import get_archive


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
    window = (f"{datetime.combine(spec.start, time.min, UTC):%Y-%m-%dT%H:%M:%SZ}/"
              f"{datetime.combine(spec.end, time.max, UTC):%Y-%m-%dT%H:%M:%SZ}")
    page = get_archive().search(intersects=spec.aoi.__geo_interface__, datetime=window,
                                collections=[settings.HUB_STAC_COLLECTION], limit=1)
    centre = spec.aoi.centroid
    utm = utm_epsg(centre.x, centre.y)
    summary: dict[str, Any] = {
        "area_km2": round(aoi_area_km2(spec.aoi), 3),
        "start": spec.start.isoformat(), "end": spec.end.isoformat(),
        "epsg": spec.crs, "crs_name": CRS.from_epsg(spec.crs).name,
        "width": size.width, "height": size.height,
        "scenes": page.number_matched,
        "estimated_bytes": size.estimated_bytes,
        "tiles": size.tiles,
        "delivery": size.describe(),
        "free_bytes": free,
        "fits_storage": size.working_bytes <= free,
        "utm_epsg": utm, "utm_name": CRS.from_epsg(utm).name,
    }
    if not str(options.get("aoi", "")).lstrip().startswith("{"):
        # A bbox or a tile id: the page draws the area the server understood.
        summary["aoi_geometry"] = json.loads(shapely.to_geojson(spec.aoi))
    return JsonResponse(summary)
