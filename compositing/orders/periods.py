"""Compositing periods as S2GM aligned them: day, ten days (dekads), month, quarter, year.

`PERIOD_TYPES` is the one registry of period types: the order form, the REST API and its
OpenAPI document, the command line, product names, metadata and the time-series tool read it.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class PeriodType:
    """One kind of compositing period."""

    name: str  # the order option's value
    code: str  # one letter of S2GM product names ("M20")
    label: str  # what a person picks in a form
    adjective: str  # "Monthly": metadata titles and S2GM's Compositing_period
    aligned: bool  # snapped to calendar periods (custom: the ordered dates as given)
    # ISO 8601 duration for NetCDF time_coverage_resolution; None where the length varies
    # with the dates (dekads, custom), which then give their own length in days.
    duration: str | None


PERIOD_TYPES: dict[str, PeriodType] = {p.name: p for p in (
    PeriodType("day", "D", "Day", "Daily", True, "P1D"),
    PeriodType("tenday", "T", "Ten days (1-10, 11-20, 21-end)", "Ten-daily", True, None),
    PeriodType("month", "M", "Month", "Monthly", True, "P1M"),
    PeriodType("quarter", "Q", "Quarter", "Quarterly", True, "P3M"),
    PeriodType("year", "Y", "Year", "Yearly", True, "P1Y"),
    PeriodType("custom", "C", "Custom start and end", "Custom", False, None),
)}
ALIGNED_PERIOD_TYPES: tuple[str, ...] = tuple(n for n, p in PERIOD_TYPES.items() if p.aligned)


def period_bounds(period_type: str, day: date) -> tuple[date, date]:
    """First and last day (inclusive) of the aligned period of this type that contains `day`."""
    if period_type == "day":
        return day, day
    if period_type == "tenday":
        # Dekads: 1-10, 11-20, 21-end of month (the later S2GM UI and its validation tools).
        if day.day <= 10:
            return day.replace(day=1), day.replace(day=10)
        if day.day <= 20:
            return day.replace(day=11), day.replace(day=20)
        return day.replace(day=21), _month_end(day)
    if period_type == "month":
        return day.replace(day=1), _month_end(day)
    if period_type == "quarter":
        first_month = 3 * ((day.month - 1) // 3) + 1
        start = date(day.year, first_month, 1)
        return start, _month_end(date(day.year, first_month + 2, 1))
    if period_type == "year":
        return date(day.year, 1, 1), date(day.year, 12, 31)
    raise ValueError(f"period type {period_type!r} has no alignment")


def periods_of_year(period_type: str, year: int) -> list[tuple[date, date]]:
    """The aligned periods of this type (not 'year') in a calendar year, in order: what the
    order form's period grid shows one year of."""
    out = []
    day = date(year, 1, 1)
    while day.year == year:
        out.append(period_bounds(period_type, day))
        day = next_period_start(period_type, day)
    return out


def next_period_start(period_type: str, day: date) -> date:
    """The first day of the period following the one that contains `day`."""
    return period_bounds(period_type, day)[1] + timedelta(days=1)


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])
