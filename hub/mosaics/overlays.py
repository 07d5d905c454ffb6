"""The user's finished products as map overlays: quicklook URL, placement and WGS 84 bounds.

A quicklook is exactly its product's grid, whose corners metadata.json gives
(`Geometry.Boundary_WGS84`); `corners` (top-left, top-right, bottom-left as [lat, lon]) place it
as the product page does, rotated where a UTM grid is. A product without a readable
metadata.json has no corners, and its bounds fall back to the AOI's bounding box, which the grid
covers up to a pixel.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_GET
from shapely.geometry import shape

from hub.mosaics.listing import quicklook_file
from hub.mosaics.models import MosaicRequest, Status
from hub.mosaics.product_page import read_metadata

MAX_OVERLAYS = 50


@login_required
@require_GET
def my_quicklooks(request: HttpRequest) -> HttpResponse:
    """The caller's DONE requests that have a quicklook, newest first (at most 50)."""
    done = (MosaicRequest.objects.filter(owner=request.user, status=Status.DONE)
            .prefetch_related("files")[:MAX_OVERLAYS])
    results = []
    for req in done:
        quicklook = quicklook_file(req.files.all())
        if quicklook is None:
            continue
        metadata = read_metadata(req)
        corners = metadata.corners if metadata else None
        bounds, source = (metadata.bounds if metadata else None), "metadata"
        if bounds is None or corners is None:
            bounds, source, corners = _aoi_bounds(req.options["aoi"]), "aoi", None
        if bounds is None:
            continue
        results.append({
            "id": str(req.id), "name": req.name,
            "start": req.options["start"], "end": req.options["end"],
            "quicklook": reverse("api-mosaic-file", args=[req.id, quicklook.name]),
            "page": reverse("request-detail", args=[req.id]),
            "bounds": bounds, "bounds_from": source, "corners": corners,
        })
    return JsonResponse({"results": results})


def _aoi_bounds(aoi: Any) -> list[float] | None:
    try:
        return [float(v) for v in shape(aoi).bounds]
    except Exception:  # shapely raises several types for a malformed stored geometry
        return None
