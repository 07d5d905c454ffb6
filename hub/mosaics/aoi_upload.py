"""The ordering dialogue's AOI upload: a GeoJSON, KML/KMZ or zipped Shapefile becomes the AOI."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_POST

from compositing.orders.aoi_files import MAX_FILE_BYTES, AoiFileError, read_aoi_file
from compositing.orders.spec import SpecError, aoi_area_km2, parse_aoi
from hub.errors import error_response

FIELD = "aoi_file"


@login_required
@require_POST
def aoi_upload(request: HttpRequest) -> HttpResponse:
    """POST multipart `aoi_file`: its polygons' union as WGS 84 GeoJSON, or 400 naming the field.

    Nothing is stored: the page puts the geometry in the AOI box, and the order is checked
    again when it is placed.
    """
    upload = request.FILES.get(FIELD)
    if upload is None:
        return error_response(400, "choose a GeoJSON, KML, KMZ or zipped Shapefile", FIELD)
    if upload.size is not None and upload.size > MAX_FILE_BYTES:
        return error_response(400, f"the file is {upload.size / 1e6:.1f} MB, over the limit "
                                   f"of {MAX_FILE_BYTES / 1e6:.0f} MB", FIELD)
    try:
        found = read_aoi_file(upload.name or "", upload.read(),
                              max_vertices=settings.HUB_MAX_AOI_VERTICES,
                              max_members=settings.HUB_MAX_UPLOAD_MEMBERS)
        # The same checks as an order's AOI (validity, lon/lat range, the size and vertex
        # limits), now, so that the person learns it before filling in the rest.
        aoi = parse_aoi(found.geometry.__geo_interface__, max_area_km2=settings.HUB_MAX_AOI_KM2,
                        max_vertices=settings.HUB_MAX_AOI_VERTICES)
    except (AoiFileError, SpecError) as exc:
        message = exc.message if isinstance(exc, SpecError) else str(exc)
        return error_response(400, message, FIELD)
    return JsonResponse({
        "geometry": json.loads(json.dumps(aoi.__geo_interface__)),
        "kind": found.kind,
        "polygons": found.polygons,
        "ignored": found.ignored,
        "source_crs": found.source_crs,
        "repaired": found.repaired,
        "area_km2": round(aoi_area_km2(aoi), 3),
    })
