"""The `mosaics` collection of the STAC API: the finished products of mosaic requests.

Each DONE request delivers a `stac_item.json` in its product folder; it is served with asset
hrefs pointing at the download API and sizes/checksums from the request's file list. Products
are private: a caller sees their own (session or API token), staff see all, anonymous callers
see none. Filters take the same parameters, with the same validation, as the archive search.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlparse

import shapely
from django.conf import settings
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from compositing.archive.query import (
    parse_area,
    parse_datetime,
    parse_limit,
    parse_names,
    parse_sortby,
    parse_token,
)
from compositing.archive.store import LEGAL_NOTICE_URL
from compositing.products.metadata import (
    MEDIA_TYPES,
    SHA256_MULTIHASH_PREFIX,
    STAC_COLLECTION,
    file_suffix,
)
from compositing.stacspec import FILE_EXTENSION, STAC_VERSION
from hub.accounts.auth import api_user
from hub.mosaics.models import MosaicRequest, ProductFile, Status

log = logging.getLogger(__name__)

COLLECTION_ID = STAC_COLLECTION
ITEM_FILE = "stac_item.json"
# Sentinel-2A's launch: no mosaic can start earlier.
FIRST_DAY = "2015-06-23T00:00:00Z"
WORLD = [-180.0, -90.0, 180.0, 90.0]
# Links the API writes itself: any in the product's file point at the product folder.
API_RELS = {"self", "root", "parent", "collection", "items", "next", "prev"}


@dataclass(frozen=True)
class MosaicEntry:
    """One served item with what filtering and sorting need."""

    item: dict[str, Any]
    geometry: BaseGeometry | None
    start: datetime
    end: datetime


def caller(request: HttpRequest) -> Any:
    """The user a mosaic search is answered for: token or session, None when anonymous.

    A read-only search needs no CSRF token, so a session counts without one; a bad token is
    still a 401.
    """
    if request.META.get("HTTP_AUTHORIZATION"):
        return api_user(request)
    return request.user if request.user.is_authenticated else None


def visible_requests(user: Any) -> QuerySet[MosaicRequest]:
    """Finished requests the user may see: their own, every one for staff, none for nobody."""
    done = MosaicRequest.objects.filter(status=Status.DONE).exclude(product_folder="")
    if user is None:
        return done.none()
    return done if user.is_staff else done.filter(owner=user)


def entries(request: HttpRequest, requests: QuerySet[MosaicRequest]) -> list[MosaicEntry]:
    """The served items of the requests, in default order (start, id); unreadable ones skipped."""
    found = []
    for req in requests.prefetch_related("files"):
        item = load_item(request, req)
        if item is not None:
            found.append(_entry(item))
    found.sort(key=lambda e: (e.start, e.item["id"]))
    return found


def load_item(request: HttpRequest, req: MosaicRequest) -> dict[str, Any] | None:
    """The product's STAC Item with download-API hrefs, or None if its file is unreadable."""
    path = Path(settings.HUB_MEDIA_ROOT) / req.product_folder / ITEM_FILE
    try:
        item = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("request %s: cannot read %s (%s)", req.pk, path, exc)
        return None
    if not isinstance(item, dict) or not isinstance(item.get("assets"), dict):
        log.warning("request %s: %s is not a STAC Item", req.pk, path)
        return None
    files = {f.name: f for f in req.files.all()}
    served: dict[str, Any] = {}
    for key, asset in item["assets"].items():
        stored = _file_of(asset, files)
        if stored is None:  # a file the product no longer lists cannot be downloaded
            continue
        served[key] = {**asset, **_file_fields(request, stored)}
        del files[stored.name]
    # Files written after the item (the manifest): metadata assets keyed by their path
    # without the suffix, e.g. "manifest" (an item cannot describe itself).
    for name, stored in files.items():
        key = str(PurePosixPath(name).with_suffix(""))
        if PurePosixPath(name).name != ITEM_FILE and key not in served:
            served[key] = {"title": name, "roles": ["metadata"], **_media_type(name),
                           **_file_fields(request, stored)}
    item["assets"] = served
    item["collection"] = COLLECTION_ID
    if FILE_EXTENSION not in item.setdefault("stac_extensions", []):
        item["stac_extensions"].append(FILE_EXTENSION)
    item["links"] = [link for link in item.get("links", [])
                     if isinstance(link, dict) and link.get("rel") not in API_RELS]
    item["links"].append({"rel": "alternate", "type": "application/json",
                          "title": "Mosaic request (REST API)",
                          "href": request.build_absolute_uri(reverse("api-mosaic",
                                                                     args=[req.pk]))})
    return item


def _file_of(asset: Any, files: Mapping[str, ProductFile]) -> ProductFile | None:
    """The product file an asset describes: by its title (the file name) or its href."""
    if not isinstance(asset, dict):
        return None
    title = asset.get("title")
    if isinstance(title, str) and title in files:
        return files[title]
    href = asset.get("href")
    if not isinstance(href, str):
        return None
    path = unquote(urlparse(href).path)
    return next((f for name, f in files.items() if path == name or path.endswith("/" + name)),
                None)


def _file_fields(request: HttpRequest, stored: ProductFile) -> dict[str, Any]:
    """href, size and checksum of a product file, as the download API serves it."""
    href = request.build_absolute_uri(reverse("api-mosaic-file",
                                              args=[stored.request_id, stored.name]))
    return {"href": href, "file:size": stored.size,
            "file:checksum": SHA256_MULTIHASH_PREFIX + stored.sha256}


def _media_type(name: str) -> dict[str, str]:
    suffix = file_suffix(name)
    if suffix in MEDIA_TYPES:
        return {"type": MEDIA_TYPES[suffix]}
    return {"type": "text/plain"} if suffix == "sha256" else {}


def _entry(item: dict[str, Any]) -> MosaicEntry:
    props = item.get("properties", {})
    start = _instant(props.get("start_datetime") or props.get("datetime"))
    end = _instant(props.get("end_datetime") or props.get("datetime"))
    geometry = shape(item["geometry"]) if item.get("geometry") else None
    if geometry is not None:
        shapely.prepare(geometry)
    return MosaicEntry(item, geometry, start, end)


def _instant(text: Any) -> datetime:
    value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def find_item(request: HttpRequest, item_id: str) -> dict[str, Any] | None:
    """One item by id among the caller's products, or None."""
    requests = visible_requests(caller(request)).filter(
        Q(product_folder=item_id) | Q(product_folder__endswith="/" + item_id))
    return next((e.item for e in entries(request, requests) if e.item["id"] == item_id), None)


# ---------------------------------------------------------------- search


@dataclass(frozen=True)
class MosaicQuery:
    """Validated filters of a search over the mosaics."""

    geometry: BaseGeometry | None
    start: datetime | None
    end: datetime | None
    ids: frozenset[str] | None
    sort: tuple[tuple[str, bool], ...]
    offset: int
    limit: int

    @classmethod
    def parse(cls, params: Mapping[str, Any]) -> MosaicQuery:
        """Validate the parameters as the archive search does (SearchError names the field)."""
        geometry = parse_area(params.get("bbox"), params.get("intersects"))
        start, end = parse_datetime(params.get("datetime"))
        return cls(geometry, start, end, parse_names("ids", params.get("ids")),
                   parse_sortby(params.get("sortby")), parse_token(params.get("token")),
                   parse_limit(params.get("limit")))

    def matches(self, entry: MosaicEntry) -> bool:
        """Whether the item passes every filter."""
        if self.ids is not None and entry.item["id"] not in self.ids:
            return False
        if self.start is not None and entry.end < self.start:
            return False
        if self.end is not None and entry.start > self.end:
            return False
        if self.geometry is not None:
            return entry.geometry is not None and self.geometry.intersects(entry.geometry)
        return True


def search(request: HttpRequest, query: MosaicQuery) -> list[MosaicEntry]:
    """Every matching item the caller may see, sorted as asked."""
    found = [e for e in entries(request, visible_requests(caller(request))) if query.matches(e)]
    return sort_items(found, query.sort, key=lambda e: e.item)


def sort_items(found: list[Any], keys: Sequence[tuple[str, bool]], key: Any = None) -> list[Any]:
    """Stable multi-key sort of items (or of objects `key` maps to items) by datetime or id."""
    get = key or (lambda x: x)
    ordered = list(found)
    for name, descending in reversed(keys):
        if name == "datetime":
            ordered.sort(key=lambda x: item_start(get(x)), reverse=descending)
        else:
            ordered.sort(key=lambda x: get(x)["id"], reverse=descending)
    return ordered


def item_start(item: Mapping[str, Any]) -> datetime:
    """When an item starts: its datetime, else its start_datetime."""
    props = item.get("properties", {})
    return _instant(props.get("datetime") or props.get("start_datetime"))


# ---------------------------------------------------------------- collection


def collection(request: HttpRequest) -> dict[str, Any]:
    """The collection document (without API links); its extent covers the caller's products."""
    found = entries(request, visible_requests(caller(request)))
    bboxes = [e.item["bbox"] for e in found if isinstance(e.item.get("bbox"), list)]
    bbox = ([min(b[0] for b in bboxes), min(b[1] for b in bboxes),
             max(b[2] for b in bboxes), max(b[3] for b in bboxes)] if bboxes else WORLD)
    interval = ([_stamp(min(e.start for e in found)), _stamp(max(e.end for e in found))]
                if found else [FIRST_DAY, None])
    return {
        "type": "Collection",
        "stac_version": STAC_VERSION,
        "stac_extensions": [],
        "id": COLLECTION_ID,
        "title": "Sentinel-2 mosaics ordered on this hub",
        "description": ("Best-available-pixel composites of Copernicus Sentinel-2 Level-2A "
                        "made on demand by this hub. Products are private to whoever ordered "
                        "them: sign in or send an API token to see your own."),
        "keywords": ["Sentinel-2", "Level-2A", "mosaic", "composite", "Copernicus"],
        "license": "proprietary",
        "providers": [{"name": settings.HUB_ORGANISATION, "roles": ["processor", "host"]},
                      {"name": "European Space Agency / Copernicus", "roles": ["producer"],
                       "url": "https://sentinels.copernicus.eu/"}],
        "extent": {"spatial": {"bbox": [bbox]}, "temporal": {"interval": [interval]}},
        "links": [
            {"rel": "license", "type": "text/html", "title": "Sentinel data legal notice",
             "href": LEGAL_NOTICE_URL},
            {"rel": "related", "type": "text/html", "title": "Order a mosaic",
             "href": request.build_absolute_uri(reverse("new-request"))},
        ],
    }


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
