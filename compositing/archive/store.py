"""The local L2A archive as a searchable STAC catalogue: item files on disk, filtered in memory.

Layout (written by `compositing.demo.archive` and by ingest)::

    {archive_dir}/{collection_id}/{item_id}/{item_id}.json   STAC Item, asset hrefs relative
    {archive_dir}/{collection_id}/{item_id}/B04.tif …        the assets

Items are served with asset hrefs made absolute filesystem paths, so that a worker on the same
filesystem opens them with rasterio. Parsed items are cached and re-read only when the set of
item files or their modification times change. The search parameters are those of the STAC
item search (`compositing.archive.query`).
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
from datetime import datetime
from pathlib import Path
from time import monotonic
from typing import Any

import shapely
from shapely.errors import GEOSException
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from compositing.archive.query import (
    DEFAULT_LIMIT,
    Query,
    SearchPage,
    as_utc,
    bbox2d,
    next_token,
    parse_limit,
    parse_token,
    sort_in_place,
)
from compositing.stacspec import STAC_VERSION

log = logging.getLogger(__name__)

LEGAL_NOTICE_URL = "https://sentinel.esa.int/documents/247904/690755/Sentinel_Data_Legal_Notice"

# Links the API writes itself (they depend on where it is served); any found in a file are dropped.
_API_LINK_RELS = {"self", "root", "parent", "collection", "items", "next", "prev"}
_COLLECTION_TEXT = {
    "sentinel-2-l2a": (
        "Sentinel-2 Level-2A (local archive)",
        "Sentinel-2 MSI Level-2A bottom-of-atmosphere reflectance and scene classification, "
        "held in the hub's local archive (demo scenes and ingested products).",
    ),
}
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass(frozen=True)
class _Entry:
    """One parsed item with what filtering needs; the item itself is kept as JSON text."""

    collection: str
    item_id: str
    # The item as JSON text without its "links", and its own links as a JSON array: decoding
    # text is several times faster than deep-copying a dict (callers get an object of their
    # own), and the API splices its links into the text without decoding it at all.
    body: str
    links: str
    bbox: list[float] | None
    geometry: BaseGeometry | None
    start: datetime
    end: datetime

    def as_dict(self) -> dict[str, Any]:
        """The item, a new object."""
        item: dict[str, Any] = json.loads(self.body)
        item["links"] = json.loads(self.links)
        return item

    def feature_text(self, api_links: list[dict[str, Any]]) -> str:
        """The item as JSON text with `api_links` before its own links."""
        own = self.links[1:-1]
        joined = json.dumps(api_links)[1:-1] + (", " + own if own else "")
        return f'{self.body[:-1]}, "links": [{joined}]}}'


@dataclass(frozen=True)
class ServedPage:
    """A search page of items as text (`_Entry.feature_text` writes each with links)."""

    items: list[_Entry]
    number_matched: int
    next_token: str | None


@dataclass(frozen=True)
class _Snapshot:
    """An immutable view of the archive at one moment, in default order (datetime, id)."""

    entries: tuple[_Entry, ...]
    by_key: dict[tuple[str, str], _Entry]
    collections: dict[str, dict[str, Any]]


_EMPTY = _Snapshot((), {}, {})
_Stamp = tuple[int, int]  # (mtime_ns, size) of an item file


class LocalArchive:
    """STAC items of a local archive directory, cached in memory and searchable."""

    def __init__(self, archive_dir: Path | str, rescan_s: float = 0.0) -> None:
        """`rescan_s`: how long a look at the archive's files holds before the next (0: every
        call). A web server answering hundreds of searches a second spends a third of each on
        the look (a stat per item); a second's delay before a new item is served costs
        nothing."""
        self.archive_dir = Path(archive_dir).expanduser().absolute()
        self.rescan_s = rescan_s
        self._lock = threading.Lock()
        self._files: dict[str, tuple[str, _Stamp]] = {}
        self._parsed: dict[str, tuple[_Stamp, _Entry | None]] = {}
        self._snapshot = _EMPTY
        self._scanned_at = -math.inf

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
        return entry.as_dict() if entry is not None else None

    def search(self, **filters: Any) -> SearchPage:
        """Items matching all the filters (the keywords of `search_served`), one page of them
        as new dicts."""
        served = self.search_served(**filters)
        return SearchPage(
            [e.as_dict() for e in served.items], served.number_matched, served.next_token)

    def search_served(
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
    ) -> ServedPage:
        """Items matching all the filters, one page of them as stored text (an API writes them
        out without decoding them); strings take the GET forms."""
        query = Query.parse(bbox, intersects, datetime, collections, ids, sortby)
        page_size = parse_limit(limit)
        offset = parse_token(token)
        matches = [entry for entry in self._refresh().entries if query.matches(entry)]
        sort_in_place(matches, query.sort)
        page = matches[offset : offset + page_size]
        return ServedPage(page, len(matches), next_token(offset, len(page), len(matches)))

    def _refresh(self) -> _Snapshot:
        """The current snapshot, rebuilt when item files were added, removed or modified."""
        with self._lock:
            now = monotonic()
            if now - self._scanned_at < self.rescan_s:
                return self._snapshot
            self._scanned_at = now
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
    links = [
        dict(link, href=_absolute_href(link["href"], folder))
        for link in raw.get("links") or []
        if link.get("rel") not in _API_LINK_RELS
    ]
    item.pop("links", None)
    geometry = _item_geometry(item)
    if geometry is not None and "bbox" not in item:
        item["bbox"] = list(geometry.bounds)
    start, end = _item_interval(item.get("properties") or {})
    return _Entry(collection, folder.name, json.dumps(item), json.dumps(links), item.get("bbox"),
                  geometry, start, end)


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
        instant = as_utc(datetime.fromisoformat(properties["datetime"]))
        return instant, instant
    start = as_utc(datetime.fromisoformat(properties["start_datetime"]))
    end = as_utc(datetime.fromisoformat(properties["end_datetime"]))
    return start, end


def format_datetime(value: datetime) -> str:
    """RFC 3339 in UTC with a `Z`, as STAC writes it."""
    return as_utc(value).isoformat().replace("+00:00", "Z")


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
    boxes = [bbox2d(b) for b in bboxes if b]
    if not boxes:
        return [-180.0, -90.0, 180.0, 90.0]
    south = min(b[1] for b in boxes)
    north = max(b[3] for b in boxes)
    if any(b[0] > b[2] for b in boxes):
        return [-180.0, south, 180.0, north]
    return [min(b[0] for b in boxes), south, max(b[2] for b in boxes), north]


