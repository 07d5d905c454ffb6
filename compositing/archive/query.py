"""The STAC item-search grammar: bbox, intersects, datetime, ids and collections, limit,
paging token and sortby, validated into a Query (OGC API Features / STAC API semantics).

Every parser raises SearchError naming the parameter; nothing here reads the archive.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol, TypeVar

import shapely
from shapely.errors import GEOSException
from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry

DEFAULT_LIMIT = 10
MAX_LIMIT = 1000
_GEOMETRY_TYPES = {
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
}
# RFC 3339 date-time (seconds required) or a bare date; the offset may be left out (taken as UTC).
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}"
    r"(?:[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})?)?$",
    re.ASCII,
)
_TOKEN = re.compile(r"^offset:(\d{1,12})$", re.ASCII)
_INTEGER = re.compile(r"\s*[+-]?\d+\s*", re.ASCII)
_SORT_FIELDS = {"datetime": "datetime", "properties.datetime": "datetime", "id": "id"}


class SearchError(ValueError):
    """A search parameter that cannot be understood; `field` names the parameter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class SearchPage:
    """One page of search results: copies of the items, the total matched, the next token."""

    items: list[dict[str, Any]]
    number_matched: int
    next_token: str | None

    @classmethod
    def of(cls, items: list[dict[str, Any]], offset: int, number_matched: int) -> SearchPage:
        """The page of items starting at match `offset`, with the token of the next page."""
        return cls(items, number_matched, next_token(offset, len(items), number_matched))


def next_token(offset: int, returned: int, number_matched: int) -> str | None:
    """The token of the page after `returned` items from match `offset`; None after the last."""
    end = offset + returned
    return f"offset:{end}" if returned and end < number_matched else None


class Searchable(Protocol):
    """What a query filters and sorts: an item's collection, id, footprint and time range."""

    @property
    def collection(self) -> str: ...

    @property
    def item_id(self) -> str: ...

    @property
    def geometry(self) -> BaseGeometry | None: ...

    @property
    def start(self) -> datetime: ...

    @property
    def end(self) -> datetime: ...


_S = TypeVar("_S", bound=Searchable)


@dataclass(frozen=True)
class Query:
    """The validated filters of a search."""

    geometry: BaseGeometry | None
    start: datetime | None
    end: datetime | None
    collections: frozenset[str] | None
    ids: frozenset[str] | None
    sort: tuple[tuple[str, bool], ...]

    @classmethod
    def parse(
        cls,
        bbox: Any,
        intersects: Any,
        datetime_: Any,
        collections: Any,
        ids: Any,
        sortby: Any,
    ) -> Query:
        """Validate every filter, raising SearchError on the first bad one."""
        geometry = parse_area(bbox, intersects)
        start, end = parse_datetime(datetime_)
        return cls(
            geometry,
            start,
            end,
            parse_names("collections", collections),
            parse_names("ids", ids),
            parse_sortby(sortby),
        )

    def matches(self, entry: Searchable) -> bool:
        """Whether the item passes every filter."""
        if self.collections is not None and entry.collection not in self.collections:
            return False
        if self.ids is not None and entry.item_id not in self.ids:
            return False
        if self.start is not None and entry.end < self.start:
            return False
        if self.end is not None and entry.start > self.end:
            return False
        if self.geometry is not None:
            return entry.geometry is not None and self.geometry.intersects(entry.geometry)
        return True


def parse_bbox(value: Any) -> list[float] | None:
    """West, south, east, north from `w,s,e,n` or a list (4 numbers, or 6 with heights)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            numbers = [float(part) for part in value.split(",")]
        except ValueError:
            raise SearchError("bbox", f"{value!r} is not a list of numbers") from None
    elif isinstance(value, (list, tuple)) and all(_is_number(v) for v in value):
        try:
            numbers = [float(v) for v in value]
        except OverflowError:
            raise SearchError("bbox", "bbox numbers must be finite") from None
    else:
        raise SearchError("bbox", "bbox must be a list of numbers")
    if len(numbers) not in (4, 6):
        raise SearchError("bbox", "bbox needs 4 numbers (west,south,east,north) or 6 with heights")
    west, south, east, north = bbox2d(numbers)
    if not all(math.isfinite(n) for n in numbers):
        raise SearchError("bbox", "bbox numbers must be finite")
    if not (-180 <= west <= 180 and -180 <= east <= 180):
        raise SearchError("bbox", "bbox longitudes must lie within -180..180")
    if not -90 <= south <= north <= 90:
        raise SearchError("bbox", "bbox latitudes must lie within -90..90 with south <= north")
    return [west, south, east, north]


def _is_number(value: Any) -> bool:
    """A JSON number (booleans are not)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_area(bbox: Any, intersects: Any) -> BaseGeometry | None:
    """The search area of a bbox or an intersects geometry (not both), or None."""
    area = parse_bbox(bbox)
    geometry = parse_intersects(intersects)
    if area is not None and geometry is not None:
        raise SearchError("intersects", "use either bbox or intersects, not both")
    return bbox_geometry(area) if area is not None else geometry


def bbox_geometry(bbox: Sequence[float]) -> BaseGeometry:
    """A prepared polygon for the bbox; two when it crosses the antimeridian (west > east)."""
    west, south, east, north = bbox
    if west <= east:
        geometry = box(west, south, east, north)
    else:
        geometry = shapely.MultiPolygon(
            [box(west, south, 180, north), box(-180, south, east, north)]
        )
    shapely.prepare(geometry)
    return geometry


def parse_intersects(value: Any) -> BaseGeometry | None:
    """A prepared shapely geometry from a GeoJSON geometry (dict or JSON text)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise SearchError("intersects", "intersects is not valid JSON") from None
    if not isinstance(value, Mapping) or value.get("type") not in _GEOMETRY_TYPES:
        raise SearchError("intersects", "intersects must be a GeoJSON geometry object")
    try:
        geometry = shape(value)
        if not geometry.is_empty and not geometry.is_valid:
            geometry = shapely.make_valid(geometry)
    # shapely reports malformed coordinates through several exception types.
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, GEOSException) as exc:
        raise SearchError("intersects", f"intersects is not a valid geometry: {exc}") from None
    if geometry.is_empty:
        raise SearchError("intersects", "intersects is an empty geometry")
    shapely.prepare(geometry)
    return geometry


def parse_datetime(value: Any) -> tuple[datetime | None, datetime | None]:
    """Start and end (inclusive, None when open) of an RFC 3339 instant or `a/b` interval."""
    if value is None or value == "":
        return None, None
    if not isinstance(value, str):
        raise SearchError("datetime", "datetime must be a string")
    parts = value.split("/")
    if len(parts) == 1:
        return _parse_instant(parts[0], end=False), _parse_instant(parts[0], end=True)
    if len(parts) != 2:
        raise SearchError("datetime", f"{value!r} is neither an instant nor an interval a/b")
    start = None if parts[0] in ("", "..") else _parse_instant(parts[0], end=False)
    end = None if parts[1] in ("", "..") else _parse_instant(parts[1], end=True)
    if start is None and end is None:
        raise SearchError("datetime", "an interval needs at least one closed end")
    if start is not None and end is not None and start > end:
        raise SearchError("datetime", f"{value!r} ends before it starts")
    return start, end


def _parse_instant(text: str, *, end: bool) -> datetime:
    """One RFC 3339 date-time; a bare date stands for its whole (UTC) day."""
    text = text.strip()
    if not _RFC3339.match(text):
        raise SearchError("datetime", f"{text!r} is not an RFC 3339 date-time")
    try:
        if len(text) == 10:
            day = datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
            return day + timedelta(days=1, microseconds=-1) if end else day
        return as_utc(datetime.fromisoformat(text.upper()))
    except ValueError as exc:
        raise SearchError("datetime", f"{text!r} is not a valid date-time: {exc}") from None


def parse_names(field: str, value: Any) -> frozenset[str] | None:
    """A set of ids from `a,b,c` or a list of strings; empty means no filter."""
    if value is None:
        return None
    if isinstance(value, str):
        names = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        names = list(value)
    else:
        raise SearchError(field, f"{field} must be a list of strings")
    return frozenset(names) if names else None


def parse_limit(value: Any) -> int:
    """Page size, at least 1; larger than MAX_LIMIT acts as MAX_LIMIT (OGC API Features)."""
    if value is None or value == "":
        return DEFAULT_LIMIT
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        digits = value.strip()
        # Beyond 18 digits the exact value does not matter, only its sign (and int() of a
        # very long string is refused by Python).
        number = int(digits) if len(digits) <= 18 else (-1 if digits[0] == "-" else MAX_LIMIT)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        raise SearchError("limit", f"limit must be an integer, not {value!r}")
    if number < 1:
        raise SearchError("limit", f"limit must be between 1 and {MAX_LIMIT}")
    return min(number, MAX_LIMIT)


def parse_token(value: Any) -> int:
    """The offset a paging token stands for."""
    if value is None or value == "":
        return 0
    match = _TOKEN.match(value) if isinstance(value, str) else None
    if match is None:
        raise SearchError("token", "unknown paging token: use the one from a next link")
    return int(match.group(1))


def parse_sortby(value: Any) -> tuple[tuple[str, bool], ...]:
    """(field, descending) pairs from `-datetime,id`, a list of them, or STAC sortby objects."""
    if value is None or value == "" or value == []:
        return (("datetime", False),)
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, (list, tuple)):
        raise SearchError("sortby", "sortby must be a string or a list")
    return tuple(_parse_sort_term(term) for term in value)


def _parse_sort_term(term: Any) -> tuple[str, bool]:
    """One sort key: `+field`, `-field`, `field` or {"field": ..., "direction": asc|desc}."""
    if isinstance(term, Mapping):
        name, direction = term.get("field"), term.get("direction", "asc")
        if direction not in ("asc", "desc"):
            raise SearchError("sortby", f"sort direction must be asc or desc, not {direction!r}")
        descending = direction == "desc"
    elif isinstance(term, str):
        # A `+` typed into a URL arrives as a space: strip it like an explicit `+`.
        name = term.strip()
        descending = name.startswith("-")
        name = name.lstrip("+-").strip()
    else:
        raise SearchError("sortby", "sortby terms must be strings or field/direction objects")
    if not isinstance(name, str) or name not in _SORT_FIELDS:
        raise SearchError("sortby", f"cannot sort by {name!r}: use datetime or id")
    return _SORT_FIELDS[name], descending


def sort_in_place(entries: list[_S], keys: Sequence[tuple[str, bool]]) -> None:
    """Sort in place by the keys; ties keep the default order (datetime, id)."""
    # Stable sorts applied from the last key to the first give a multi-key sort with per-key
    # direction; `reverse=True` keeps equal elements in their original order.
    for name, descending in reversed(keys):
        if name == "datetime":
            entries.sort(key=lambda e: e.start, reverse=descending)
        else:
            entries.sort(key=lambda e: e.item_id, reverse=descending)


def bbox2d(bbox: Sequence[float]) -> list[float]:
    """West, south, east, north of a 4- or 6-number bbox."""
    if len(bbox) == 6:
        return [bbox[0], bbox[1], bbox[3], bbox[4]]
    return list(bbox[:4])


def as_utc(value: datetime) -> datetime:
    """Aware UTC datetime; naive values are taken as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
