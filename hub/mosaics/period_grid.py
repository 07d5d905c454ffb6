"""The order form's period grid, as S2GM's: the aligned periods of one year (the years of the
archive for yearly periods) with the scenes over the AOI in each, so that a period without
data is seen, greyed, before it is ordered."""

from __future__ import annotations

from collections import Counter
from datetime import date

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_http_methods

from compositing.orders.periods import PERIOD_TYPES, period_bounds, periods_of_year
from compositing.orders.spec import (
    SENTINEL2_FIRST_DAY,
    SpecError,
    latest_day,
    parse_aoi,
    parse_date,
)
from hub.errors import error_response
from hub.mosaics.archive_items import Found, items_over
from hub.mosaics.operator import archive_interval

# Items counted for one year of one AOI: a year over a few tiles (a tile has about 150
# acquisitions a year with both satellites). Beyond it empty periods are not greyed.
GRID_ITEMS = 3000


@login_required
@require_http_methods(["GET", "POST"])
def period_grid(request: HttpRequest) -> HttpResponse:
    """aoi, period and start (GET query, or POST form for AOIs too long for a URL; POST changes
    nothing either): the periods of the start's year with their scene counts, or 400 naming
    the field it cannot read."""
    data = request.POST if request.method == "POST" else request.GET
    try:
        aoi = parse_aoi(data.get("aoi", ""), max_area_km2=settings.HUB_MAX_AOI_KM2,
                        max_vertices=settings.HUB_MAX_AOI_VERTICES)
        period_type = data.get("period") or "month"
        if period_type not in PERIOD_TYPES or not PERIOD_TYPES[period_type].aligned:
            raise SpecError("period", "the period grid shows aligned periods: "
                                      + ", ".join(p for p in PERIOD_TYPES
                                                  if PERIOD_TYPES[p].aligned))
        span = _years()
        given = data.get("start")
        year = parse_date("start", given).year if given else span[1]
    except SpecError as exc:
        return error_response(400, exc.message, exc.field)
    year = min(max(year, span[0]), span[1])
    if period_type == "year":
        periods = [(date(y, 1, 1), date(y, 12, 31)) for y in range(span[0], span[1] + 1)]
        found = [items_over(aoi, first, last, limit=1) for first, last in periods]
        counts = [sum(n or 0 for n in f.counts.values()) for f in found]
        complete = all(None not in f.counts.values() for f in found)
        unreachable = {k: v for f in found for k, v in f.unreachable.items()}
    else:
        periods = periods_of_year(period_type, year)
        whole = items_over(aoi, date(year, 1, 1), date(year, 12, 31), limit=GRID_ITEMS)
        counts = _per_period(whole, period_type, periods)
        complete, unreachable = whole.complete, whole.unreachable
    return JsonResponse({
        "period": period_type, "year": year, "years": list(span),
        # Zeros are only known to be empty where every item was counted.
        "complete": complete and not unreachable,
        "unreachable": unreachable,
        "periods": [{"start": first.isoformat(), "end": last.isoformat(), "scenes": n,
                     "orderable": _orderable(first, last)}
                    for (first, last), n in zip(periods, counts, strict=True)],
    })


def _years() -> tuple[int, int]:
    """The first and last year the grid may show: the archive's, else the Sentinel-2 era."""
    span = archive_interval()
    first, last = span if span is not None else (SENTINEL2_FIRST_DAY, latest_day())
    return first.year, min(last, latest_day()).year


def _per_period(found: Found, period_type: str, periods: list[tuple[date, date]]) -> list[int]:
    """The items counted into the periods by their acquisition day."""
    days = [day for day in map(_day, found.items) if day is not None]
    starts = Counter(period_bounds(period_type, day)[0] for day in days)
    return [starts.get(first, 0) for first, _ in periods]


def _day(item: dict) -> date | None:
    stamp = (item.get("properties") or {}).get("datetime")
    return date.fromisoformat(stamp[:10]) if isinstance(stamp, str) and len(stamp) >= 10 else None


def _orderable(first: date, last: date) -> bool:
    """Whether the period has a day of the Sentinel-2 era (the order form refuses others)."""
    return last >= SENTINEL2_FIRST_DAY and first <= latest_day()
