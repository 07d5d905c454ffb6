"""The page parameters of the REST API's list of requests (`limit`, `offset`)."""

from __future__ import annotations

from django.http import HttpRequest

from hub.errors import ApiError

DEFAULT_PAGE = 100
# A page stays small: its entries give the AOI's bbox, not its geometry.
MAX_PAGE = 100
# Beyond any person's number of requests, and within every database's integers.
MAX_OFFSET = 10**9


def page_bounds(request: HttpRequest) -> tuple[int, int]:
    """`offset` and `limit` of the query, or ApiError 400 naming the one out of range."""
    return (int_param(request, "offset", 0, 0, MAX_OFFSET),
            int_param(request, "limit", DEFAULT_PAGE, 1, MAX_PAGE))


def int_param(request: HttpRequest, name: str, default: int, low: int, high: int) -> int:
    """A whole-number query parameter from low to high; absent or empty: the default."""
    raw = request.GET.get(name, "").strip()
    if raw == "":
        return default
    # ASCII digits only, and no longer than the bound: int() reads other scripts' digits and
    # numbers too large for the database.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(high)):
        raise ApiError(400, f"{name} must be a whole number from {low} to {high}", name)
    value = int(raw)
    if not low <= value <= high:
        raise ApiError(400, f"{name} must be a whole number from {low} to {high}", name)
    return value
