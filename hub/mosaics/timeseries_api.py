"""REST API v1 time-series tool: composite values per period, or raw observations, at a pixel.

`GET /api/v1/timeseries?lon=&lat=&start=&end=&period=month&resolution=20&window=1|3
&bands=B02,B04,B08&kind=composite|observations&format=json|csv` (session or token auth).

Composite columns: period_start, period_end, one per band (reflectance 0-1), NDVI and the
indices asked for (`indices=evi,nbr`: the product's index layers), with window 3 `<band>_std`,
`<INDEX>_std` and n_pixels, then valid_obs, total_obs, method (medoid, stc, none),
medoid_mos, scl, acquisition_date, scene_id. Observation columns: date, datetime, scene_id,
tile, one per band, one per index, scl, valid, all_scene_ids (';'-separated granules of the
acquisition over the pixel). `quality=true` adds S2GM's quality columns to either (AOT, cloud
and snow probability, view and sun angles: `timeseries.QUALITY_LAYERS`); `extent=periods` makes
an observation list cover the whole periods of the composite series over the dates. Dates are
ISO 8601; empty values are empty CSV fields / JSON null.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from compositing import timeseries as ts
from compositing.archive.scenes import ArchiveDataError
from compositing.orders.spec import SpecError
from hub import throttle
from hub.accounts.auth import api_user
from hub.errors import ApiError, json_api
from hub.mosaics.services import mosaic_settings

KINDS: tuple[str, ...] = ("composite", "observations")
FORMATS: tuple[str, ...] = ("json", "csv")


@json_api
@require_GET
def timeseries(request: HttpRequest) -> HttpResponse:
    """The time series at one pixel, as JSON or as a CSV attachment."""
    throttle.hit(request, "timeseries", api_user(request))
    query = ts.parse_query(request.GET)
    kind = _choice(request, "kind", KINDS)
    fmt = _choice(request, "format", FORMATS)
    settings = mosaic_settings()
    try:
        if kind == "composite":
            series = ts.composite_series(query, settings.archives, settings.medoid_min_obs)
        else:
            series = ts.observations(query, settings.archives)
    except ArchiveDataError as exc:
        raise ApiError(422, str(exc), "bands") from None
    if fmt == "csv":
        return _csv_response(series)
    return JsonResponse({
        "kind": series.kind,
        "period": query.period_type if kind == "composite" else None,
        # The days the rows cover: an observation list of whole periods may reach beyond.
        "start": (query.span()[0] if kind == "observations" else query.start).isoformat(),
        "end": (query.span()[1] if kind == "observations" else query.end).isoformat(),
        "lon": query.lon,
        "lat": query.lat,
        "bands": list(query.bands),
        "indices": list(query.indices),
        "pixel": series.pixel_info(),
        "columns": series.columns,
        "rows": [_row(series, row) for row in series.rows],
    })


def csv_filename(series: ts.TimeSeries) -> str:
    """Download name: kind, period, resolution, window, point and dates."""
    q = series.query
    lat = f"{abs(q.lat):.4f}{'N' if q.lat >= 0 else 'S'}"
    lon = f"{abs(q.lon):.4f}{'E' if q.lon >= 0 else 'W'}"
    period = f"{q.period_type}_" if series.kind == "composite" else ""
    window = "_3x3" if q.window == 3 and series.kind == "composite" else ""
    return (f"timeseries_{series.kind}_{period}{q.resolution}m{window}_{lat}_{lon}_"
            f"{q.start.isoformat()}_{q.end.isoformat()}.csv")


def _csv_response(series: ts.TimeSeries) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(series.columns)
    for row in series.rows:
        values = _row(series, row)
        writer.writerow(["" if values[c] is None else _csv_value(values[c])
                         for c in series.columns])
    response = HttpResponse(buffer.getvalue().encode("utf-8"),
                            content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{csv_filename(series)}"'
    return response


def _csv_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _row(series: ts.TimeSeries, row: dict[str, Any]) -> dict[str, Any]:
    return {column: ts.serialise(row.get(column)) for column in series.columns}


def _choice(request: HttpRequest, name: str, allowed: tuple[str, ...]) -> str:
    value = (request.GET.get(name) or allowed[0]).strip().lower()
    if value not in allowed:
        raise SpecError(name, f"unknown {name} {value!r}; one of {', '.join(allowed)}")
    return value
