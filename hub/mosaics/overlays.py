"""The user's finished products as map overlays: quicklook URL and WGS 84 bounds.

Bounds: the lon/lat bounding box of the product grid's corners, `Geometry.Boundary_WGS84` of
its metadata.json, since the quicklook is exactly that grid. A product without a readable
metadata.json (not ordered, or removed from disk) falls back to the AOI's bounding box, which
the grid covers up to a pixel. Either is a lon/lat box for Leaflet's image overlay, so a UTM
quicklook is drawn slightly unrotated: a background for orientation, not a measurement.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_GET
from shapely.geometry import shape

from hub.mosaics.models import MosaicRequest, ProductFile, Status

MAX_OVERLAYS = 50
METADATA_NAME = "metadata.json"
MAX_METADATA_BYTES = 5 * 1024 * 1024


@login_required
@require_GET
def my_quicklooks(request: HttpRequest) -> HttpResponse:
    """The caller's DONE requests that have a quicklook, newest first (at most 50)."""
    done = (MosaicRequest.objects.filter(owner=request.user, status=Status.DONE)
            .prefetch_related("files")[:MAX_OVERLAYS])
    results = []
    for req in done:
        files = {f.name: f for f in req.files.all()}
        pngs = sorted((n for n in files if n.lower().endswith(".png")),
                      key=lambda n: (n.count("/"), n))  # the whole product's, at the top
        if not pngs:
            continue
        bounds, source = _metadata_bounds(files.get(METADATA_NAME)), "metadata"
        if bounds is None:
            bounds, source = _aoi_bounds(req.aoi), "aoi"
        if bounds is None:
            continue
        results.append({
            "id": str(req.id), "name": req.name,
            "start": req.start_date.isoformat(), "end": req.end_date.isoformat(),
            "quicklook": reverse("api-mosaic-file", args=[req.id, pngs[0]]),
            "page": reverse("request-detail", args=[req.id]),
            "bounds": bounds, "bounds_from": source,
        })
    return JsonResponse({"results": results})


def _metadata_bounds(product_file: ProductFile | None) -> list[float] | None:
    """[west, south, east, north] of the grid corners in metadata.json, or None."""
    if product_file is None:
        return None
    root = Path(settings.HUB_MEDIA_ROOT).resolve()
    path = (root / product_file.path).resolve()
    try:
        if not path.is_relative_to(root) or path.stat().st_size > MAX_METADATA_BYTES:
            return None
        corners = json.loads(path.read_text(encoding="utf-8"))["Geometry"]["Boundary_WGS84"]
        lons = [float(c[0]) for c in corners]
        lats = [float(c[1]) for c in corners]
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None
    return [min(lons), min(lats), max(lons), max(lats)]


def _aoi_bounds(aoi: Any) -> list[float] | None:
    try:
        return [float(v) for v in shape(aoi).bounds]
    except Exception:  # shapely raises several types for a malformed stored geometry
        return None
