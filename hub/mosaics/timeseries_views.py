"""The time-series tool's page, and the pixel a map click selects (before any series is read).

The series themselves come from `GET /api/v1/timeseries` (hub.mosaics.timeseries_api); the page
calls it from the browser. `pixel` answers a click at once with the output pixel (or 3x3 window)
that the API will read there, so the map can snap the marker and outline the pixel in the
point's UTM zone without a UTM implementation in JavaScript.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from pyproj import Transformer

from compositing import l2a
from compositing import timeseries as ts
from compositing.orders.periods import PERIOD_TYPES
from compositing.orders.spec import SpecError, parse_resolution
from compositing.products.indices import INDICES
from hub.accounts.auth import api_user
from hub.errors import json_api
from hub.mosaics.operator import archive_interval

# Bands ticked when the page opens: true colour and the near infrared of NDVI.
DEFAULT_BANDS: tuple[str, ...] = ("B02", "B03", "B04", "B08")


@login_required
@require_GET
def timeseries_page(request: HttpRequest) -> HttpResponse:
    """The time-series tool: map, options, charts and tables (filled in by timeseries.js)."""
    start, end = default_range()
    context = {
        "bands": [{"name": b.name, "nm": b.center_nm, "native": b.native_m,
                   "description": b.description, "checked": b.name in DEFAULT_BANDS}
                  for b in l2a.SURFACE_BANDS],
        "periods": [(p, PERIOD_TYPES[p].label) for p in ts.TIMESERIES_PERIODS],
        "column_docs": list(ts.COLUMN_DOCS.items()),
        "indices": [{"name": n, "title": i.title, "formula": i.formula}
                    for n, i in INDICES.items() if n not in ts.DEFAULT_INDICES],
        "resolutions": l2a.RESOLUTIONS_M,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "collection": settings.HUB_STAC_COLLECTION,
        "scl_names": l2a.SCL_CLASS_NAMES,
    }
    return render(request, "mosaics/timeseries.html", context)


def default_range(today: date | None = None) -> tuple[date, date]:
    """Up to a year of the local archive, from the first of a month to its last acquisition day
    (without an archive: the year to yesterday)."""
    interval = archive_interval()
    first, last = interval if interval else (None, None)
    if last is None:
        last = (today or date.today()) - timedelta(days=1)
    year_before = date(last.year - 1, last.month, 1) + timedelta(days=32)
    start = year_before.replace(day=1)  # the month after the same month a year earlier
    if first is not None and first > start:
        start = first.replace(day=1)
    return start, last


@json_api
@require_GET
def pixel(request: HttpRequest) -> HttpResponse:
    """The output pixel at lon/lat: centre (lon/lat and UTM) and the window outline as GeoJSON."""
    api_user(request)
    lon = _coordinate(request, "lon", -180.0, 180.0)
    lat = _coordinate(request, "lat", ts.MIN_LAT, ts.MAX_LAT)
    resolution = parse_resolution(request.GET.get("resolution") or 20)
    window_raw = (request.GET.get("window") or "1").strip()
    if window_raw not in {str(w) for w in ts.WINDOWS}:
        raise SpecError("window", f"{window_raw!r} is not a window; use 1 or 3")
    found = ts.pixel_grid(lon, lat, resolution, int(window_raw))
    x, y = found.centre
    centre_lon, centre_lat = found.centre_lonlat
    return JsonResponse({"epsg": found.grid.epsg, "x": x, "y": y, "lon": centre_lon,
                         "lat": centre_lat, "resolution": resolution,
                         "window": int(window_raw), "outline": _outline(found)})


def _outline(found: ts.PixelGrid) -> dict[str, Any]:
    """The window's square in lon/lat: a UTM square is a slightly turned one there."""
    left, bottom, right, top = found.grid.bounds
    to_lonlat = Transformer.from_crs(found.grid.epsg, 4326, always_xy=True)
    corners = [(left, bottom), (right, bottom), (right, top), (left, top), (left, bottom)]
    ring = [list(to_lonlat.transform(cx, cy)) for cx, cy in corners]
    return {"type": "Polygon", "coordinates": [ring]}


def _coordinate(request: HttpRequest, name: str, low: float, high: float) -> float:
    raw = (request.GET.get(name) or "").strip()
    if not raw:
        raise SpecError(name, "this parameter is required")
    try:
        value = float(raw)
    except ValueError:
        raise SpecError(name, f"{raw!r} is not a number") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise SpecError(name, f"{name} must be between {low:g} and {high:g} degrees")
    return value
