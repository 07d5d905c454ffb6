"""The local L2A archive as a searchable STAC catalogue: item files on disk, filtered in memory.

Layout (written by `compositing.demo.archive` and by ingest)::

    {archive_dir}/{collection_id}/{item_id}/{item_id}.json   STAC Item, asset hrefs relative
    {archive_dir}/{collection_id}/{item_id}/B04.tif …        the assets

Items are served with asset hrefs made absolute filesystem paths, so that a worker on the same
filesystem opens them with rasterio. Parsed items are cached and re-read only when the set of
item files or their modification times change.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import shapely
from shapely.errors import GEOSException
from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry

from compositing.stacspec import STAC_VERSION

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 10
MAX_LIMIT = 1000
LEGAL_NOTICE_URL = "https://sentinel.esa.int/documents/247904/690755/Sentinel_Data_Legal_Notice"

# Links the API writes itself (they depend on where it is served); any found in a file are dropped.
_API_LINK_RELS = {"self", "root", "parent", "collection", "items", "next", "prev"}
_GEOMETRY_TYPES = {
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
}
_COLLECTION_TEXT = {
    "sentinel-2-l2a": (
        "Sentinel-2 Level-2A (local archive)",
        "Sentinel-2 MSI Level-2A bottom-of-atmosphere reflectance and scene classification, "
        "held in the hub's local archive (demo scenes and ingested products).",
    ),
}
# RFC 3339 date-time (seconds required) or a bare date; the offset may be left out (taken as UTC).
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}"
    r"(?:[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})?)?$",
    re.ASCII,
)
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
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


@dataclass(frozen=True)
class _Entry:
    """One parsed item with what filtering needs; the item itself is kept as JSON text."""

    collection: str
    item_id: str
    # Decoding the text is several times faster than deep-copying the dict, and callers get an
    # object of their own to add links to.
    text: str
    bbox: list[float] | None
    geometry: BaseGeometry | None
    start: datetime
    end: datetime


@dataclass(frozen=True)
class _Snapshot:
    """An immutable view of the archive at one moment, in default order (datetime, id)."""

    entries: tuple[_Entry, ...]
    by_key: dict[tuple[str, str], _Entry]
    collections: dict[str, dict[str, Any]]


_EMPTY = _Snapshot((), {}, {})
_Stamp = tuple[int, int]  # (mtime_ns, size) of an item file


class LocalCatalog:
    """STAC items of a local archive directory, cached in memory and searchable."""

    def __init__(self, archive_dir: Path | str) -> None:
        self.archive_dir = Path(archive_dir).expanduser().absolute()
        self._lock = threading.Lock()
        self._files: dict[str, tuple[str, _Stamp]] = {}
        self._parsed: dict[str, tuple[_Stamp, _Entry | None]] = {}
        self._snapshot = _EMPTY

    def collection_ids(self) -> list[str]:
        """Ids of the collections that hold at least one item, sorted."""
        return sorted(self._refresh().collections)

    def collection(self, collection_id: str) -> dict[str, Any] | None:
        """The STAC Collection (without API links), or None when it holds no items."""
        found = self._refresh().collections.get(collection_id)
        return copy.deepcopy(found) if found is not None else None

    def item(self, collection_id: str, item_id: str) -> dict[str, Any] | None:
        """One STAC Item (without API links), or None when it does not exist."""
        entry = self._refresh().by_key.get((collection_id, item_id))
        return json.loads(entry.text) if entry is not None else None

    def search(
        self,
        *,
        bbox: Sequence[float] | str | None = None,
        intersects: Mapping[str, Any] | str | None = None,
        datetime: str | None = None,
        collections: Sequence[str] | str | None = None,
        ids: Sequence[str] | str | None = None,
        limit: int | str | None = DEFAULT_LIMIT,
        token: str | None = None,
        sortby: str | Sequence[str | Mapping[str, Any]] | None = None,
    ) -> SearchPage:
        """Items matching all the filters, one page of them; strings take the GET forms."""
        query = _Query.parse(bbox, intersects, datetime, collections, ids, sortby)
        page_size = parse_limit(limit)
        offset = parse_token(token)
        matches = [entry for entry in self._refresh().entries if query.matches(entry)]
        _sort(matches, query.sort)
        page = matches[offset : offset + page_size]
        end = offset + len(page)
        next_token = f"offset:{end}" if page and end < len(matches) else None
        return SearchPage([json.loads(e.text) for e in page], len(matches), next_token)

    def _refresh(self) -> _Snapshot:
        """The current snapshot, rebuilt when item files were added, removed or modified."""
        with self._lock:
            files = _scan(self.archive_dir)
            if files != self._files:
                self._parsed = {
                    path: self._parse_once(path, collection, stamp)
                    for path, (collection, stamp) in files.items()
                }
                self._snapshot = _build_snapshot(e for _, e in self._parsed.values() if e)
                self._files = files
            return self._snapshot

    def _parse_once(
        self, path: str, collection: str, stamp: _Stamp
    ) -> tuple[_Stamp, _Entry | None]:
        """The cached parse of an unchanged file, else a fresh one (failures are cached too)."""
        cached = self._parsed.get(path)
        if cached is not None and cached[0] == stamp:
            return cached
        return stamp, _load_entry(path, collection)


def _subdirs(folder: str) -> list[os.DirEntry[str]]:
    """Visible sub-directories of a folder, by name; nothing when it cannot be listed."""
    try:
        with os.scandir(folder) as it:
            found = [e for e in it if not e.name.startswith(".") and e.is_dir()]
    except OSError:
        return []
    return sorted(found, key=lambda e: e.name)


def _scan(archive_dir: Path) -> dict[str, tuple[str, _Stamp]]:
    """Every `{collection}/{item}/{item}.json` with its collection id and (mtime, size)."""
    # Plain strings and os functions: this runs on every request, and pathlib costs several
    # times more per file than the stat itself.
    files: dict[str, tuple[str, _Stamp]] = {}
    for collection in _subdirs(str(archive_dir)):
        for item_dir in _subdirs(collection.path):
            path = os.path.join(item_dir.path, f"{item_dir.name}.json")
            try:
                st = os.stat(path)
            except OSError:
                continue  # a folder still being written, or not an item
            files[path] = (collection.name, (st.st_mtime_ns, st.st_size))
    return files


def _load_entry(path: str, collection: str) -> _Entry | None:
    """Parse one item file; a broken one is logged and left out rather than failing the API."""
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
        return _entry_from_item(raw, Path(path).parent, collection)
    except (OSError, ValueError, TypeError, KeyError, AttributeError, GEOSException) as exc:
        log.warning("skipping STAC item %s: %s", path, exc)
        return None


def _entry_from_item(raw: Any, folder: Path, collection: str) -> _Entry:
    """The served form of an item read from `folder`: absolute asset hrefs, own collection id."""
    if not isinstance(raw, dict) or raw.get("type") != "Feature":
        raise ValueError("not a GeoJSON Feature")
    if raw.get("id") != folder.name:
        raise ValueError(f"id {raw.get('id')!r} differs from its folder name {folder.name!r}")
    item = dict(raw, collection=collection)
    item["assets"] = {
        name: dict(asset, href=_absolute_href(asset["href"], folder))
        for name, asset in (raw.get("assets") or {}).items()
    }
    item["links"] = [
        dict(link, href=_absolute_href(link["href"], folder))
        for link in raw.get("links") or []
        if link.get("rel") not in _API_LINK_RELS
    ]
    geometry = _item_geometry(item)
    if geometry is not None and "bbox" not in item:
        item["bbox"] = list(geometry.bounds)
    start, end = _item_interval(item.get("properties") or {})
    return _Entry(collection, folder.name, json.dumps(item), item.get("bbox"), geometry, start, end)


def _absolute_href(href: str, folder: Path) -> str:
    """A relative href made an absolute filesystem path; URLs and absolute paths unchanged."""
    if _URL_SCHEME.match(href) or os.path.isabs(href):
        return href
    return os.path.normpath(os.path.join(folder, href))


def _item_geometry(item: Mapping[str, Any]) -> BaseGeometry | None:
    """The item footprint as a prepared shapely geometry (None for a null geometry)."""
    if item.get("geometry") is None:
        return None
    geometry = shape(item["geometry"])
    if not geometry.is_valid:
        geometry = shapely.make_valid(geometry)
    shapely.prepare(geometry)
    return geometry


def _item_interval(properties: Mapping[str, Any]) -> tuple[datetime, datetime]:
    """The acquisition instant, or the start/end range when `datetime` is null."""
    if properties.get("datetime"):
        instant = _as_utc(datetime.fromisoformat(properties["datetime"]))
        return instant, instant
    start = _as_utc(datetime.fromisoformat(properties["start_datetime"]))
    end = _as_utc(datetime.fromisoformat(properties["end_datetime"]))
    return start, end


def _as_utc(value: datetime) -> datetime:
    """Aware UTC datetime; naive values are taken as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_datetime(value: datetime) -> str:
    """RFC 3339 in UTC with a `Z`, as STAC writes it."""
    return _as_utc(value).isoformat().replace("+00:00", "Z")


def _build_snapshot(entries: Any) -> _Snapshot:
    """Order the entries (datetime then id) and summarise each collection."""
    ordered = tuple(sorted(entries, key=lambda e: (e.start, e.item_id, e.collection)))
    by_key: dict[tuple[str, str], _Entry] = {}
    grouped: dict[str, list[_Entry]] = {}
    for entry in ordered:
        by_key[(entry.collection, entry.item_id)] = entry
        grouped.setdefault(entry.collection, []).append(entry)
    collections = {cid: _collection_dict(cid, members) for cid, members in grouped.items()}
    return _Snapshot(ordered, by_key, collections)


def _collection_dict(collection_id: str, entries: list[_Entry]) -> dict[str, Any]:
    """A STAC Collection whose extent covers its items."""
    title, description = _COLLECTION_TEXT.get(
        collection_id,
        (collection_id, f"Items of the hub's local archive folder {collection_id!r}."),
    )
    first = min(e.start for e in entries)
    last = max(e.end for e in entries)
    return {
        "type": "Collection",
        "stac_version": STAC_VERSION,
        "stac_extensions": [],
        "id": collection_id,
        "title": title,
        "description": description,
        "keywords": ["Copernicus", "Sentinel-2", "MSI", "L2A", "reflectance"],
        "license": "proprietary",
        "providers": [
            {
                "name": "European Space Agency (ESA), Copernicus",
                "roles": ["licensor", "producer"],
                "url": "https://sentinel.esa.int/web/sentinel/missions/sentinel-2",
            }
        ],
        "extent": {
            "spatial": {"bbox": [_union_bbox(e.bbox for e in entries)]},
            "temporal": {"interval": [[format_datetime(first), format_datetime(last)]]},
        },
        "links": [
            {
                "rel": "license",
                "href": LEGAL_NOTICE_URL,
                "title": "Legal notice on the use of Copernicus Sentinel Data",
            }
        ],
    }


def _union_bbox(bboxes: Any) -> list[float]:
    """The 2D bbox covering all given bboxes; full longitude range when one crosses 180°."""
    boxes = [_bbox2d(b) for b in bboxes if b]
    if not boxes:
        return [-180.0, -90.0, 180.0, 90.0]
    south = min(b[1] for b in boxes)
    north = max(b[3] for b in boxes)
    if any(b[0] > b[2] for b in boxes):
        return [-180.0, south, 180.0, north]
    return [min(b[0] for b in boxes), south, max(b[2] for b in boxes), north]


def _bbox2d(bbox: Sequence[float]) -> list[float]:
    """West, south, east, north of a 4- or 6-number bbox."""
    if len(bbox) == 6:
        return [bbox[0], bbox[1], bbox[3], bbox[4]]
    return list(bbox[:4])


# --- parameters ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Query:
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
    ) -> _Query:
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

    def matches(self, entry: _Entry) -> bool:
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
    west, south, east, north = _bbox2d(numbers)
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
        return _as_utc(datetime.fromisoformat(text.upper()))
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


def _sort(entries: list[_Entry], keys: Sequence[tuple[str, bool]]) -> None:
    """Sort in place by the keys; ties keep the default order (datetime, id)."""
    # Stable sorts applied from the last key to the first give a multi-key sort with per-key
    # direction; `reverse=True` keeps equal elements in their original order.
    for name, descending in reversed(keys):
        if name == "datetime":
            entries.sort(key=lambda e: e.start, reverse=descending)
        else:
            entries.sort(key=lambda e: e.item_id, reverse=descending)
