"""Compositing periods as S2GM aligned them: day, ten days (dekads), month, quarter, year."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

PERIOD_TYPES: tuple[str, ...] = ("day", "tenday", "month", "quarter", "year", "custom")
# One-letter codes of the S2GM product names.
PERIOD_CODES: dict[str, str] = {
    "day": "D",
    "tenday": "T",
    "month": "M",
    "quarter": "Q",
    "year": "Y",
    "custom": "C",
}


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


def next_period_start(period_type: str, day: date) -> date:
    """The first day of the period following the one that contains `day`."""
    return period_bounds(period_type, day)[1] + timedelta(days=1)


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])
