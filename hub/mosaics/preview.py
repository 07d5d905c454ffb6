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
from pyproj import CRS, Geod

from compositing.grid import OutputGrid, utm_epsg
from compositing.orders.spec import ORDER_OPTIONS, SpecError
from hub.errors import error_response
from hub.mosaics.services import read_order
from hub.stac.views import get_archive

# Deflate typically halves surface reflectance; an estimate, shown as such.
COMPRESSION_RATIO = 0.5


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
    grid = OutputGrid.for_aoi(spec.aoi, spec.crs, spec.resolution)
    bytes_per_px = sum(2 for _ in spec.bands) + sum(lyr.dtype_size for lyr in spec.aux_layers)
    window = (f"{datetime.combine(spec.start, time.min, UTC):%Y-%m-%dT%H:%M:%SZ}/"
              f"{datetime.combine(spec.end, time.max, UTC):%Y-%m-%dT%H:%M:%SZ}")
    page = get_archive().search(intersects=spec.aoi.__geo_interface__, datetime=window,
                                collections=[settings.HUB_STAC_COLLECTION], limit=1)
    centre = spec.aoi.centroid
    utm = utm_epsg(centre.x, centre.y)
    summary: dict[str, Any] = {
        "area_km2": round(abs(Geod(ellps="WGS84").geometry_area_perimeter(spec.aoi)[0]) / 1e6,
                          3),
        "start": spec.start.isoformat(), "end": spec.end.isoformat(),
        "epsg": spec.crs, "crs_name": CRS.from_epsg(spec.crs).name,
        "width": grid.width, "height": grid.height,
        "scenes": page.number_matched,
        "estimated_bytes": int(grid.width * grid.height * bytes_per_px * COMPRESSION_RATIO),
        "utm_epsg": utm, "utm_name": CRS.from_epsg(utm).name,
    }
    if not str(options.get("aoi", "")).lstrip().startswith("{"):
        # A bbox or a tile id: the page draws the area the server understood.
        summary["aoi_geometry"] = json.loads(shapely.to_geojson(spec.aoi))
    return JsonResponse(summary)
