"""STAC API 1.0.0 over the local L2A archive: landing page, collections, items and item search."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import date
from functools import wraps
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.http import RFC3986_SUBDELIMS
from django.views.decorators.csrf import csrf_exempt

from compositing.archive.query import MAX_LIMIT, SearchPage, parse_names
from compositing.archive.store import LocalArchive, ServedPage
from compositing.stacspec import STAC_VERSION
from hub.errors import ApiError, error_response, json_api, json_body
from hub.stac import mosaics

JSON = "application/json"
GEOJSON = "application/geo+json"
CONFORMANCE = [
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/collections",
    "https://api.stacspec.org/v1.0.0/ogcapi-features",
    "https://api.stacspec.org/v1.0.0/item-search",
    "https://api.stacspec.org/v1.0.0/item-search#sort",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
]
# Request parameters handed to LocalArchive.search (GET query or POST body keys).
SEARCH_PARAMS = ("bbox", "intersects", "datetime", "collections", "ids", "limit", "token", "sortby")
# What reverse() leaves unquoted in a path argument, so that item links match the routes'.
URL_SAFE = RFC3986_SUBDELIMS + "/~:@"
ITEMS_PARAMS = ("bbox", "datetime", "limit", "token", "sortby")

_archives: dict[Path, LocalArchive] = {}
_archives_lock = threading.Lock()

View = Callable[..., HttpResponse]


def get_archive() -> LocalArchive:
    """The process-wide local L2A archive of `settings.HUB_ARCHIVE_DIR` (one per directory)."""
    path = Path(settings.HUB_ARCHIVE_DIR).expanduser().absolute()
    with _archives_lock:
        if path not in _archives:
            _archives[path] = LocalArchive(path, rescan_s=settings.HUB_ARCHIVE_RESCAN_S)
        return _archives[path]


def local_interval() -> tuple[date, date] | None:
    """First and last acquisition day of the local L2A archive, or None when it is empty."""
    collection = get_archive().collection(settings.HUB_STAC_COLLECTION)
    if collection is None:
        return None
    first, last = collection["extent"]["temporal"]["interval"][0]
    if not first or not last:
        return None
    return date.fromisoformat(first[:10]), date.fromisoformat(last[:10])


def _json(data: dict[str, Any], content_type: str = JSON, status: int = 200) -> JsonResponse:
    """A JSON response with the given media type."""
    return JsonResponse(data, status=status, content_type=content_type)


def stac_endpoint(*methods: str) -> Callable[[View], View]:
    """Restrict a view to the methods and map domain errors to 400/404/405 JSON answers."""

    allowed = {*methods, "HEAD"} if "GET" in methods else set(methods)

    def decorate(view: View) -> View:
        mapped = json_api(view)

        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in allowed:
                response = error_response(405, f"{request.method} is not allowed here")
                response["Allow"] = ", ".join(sorted(allowed))
                return response
            return mapped(request, *args, **kwargs)

        return wrapper

    return decorate


def _url(request: HttpRequest, name: str, *args: str) -> str:
    """Absolute URL of a named STAC route."""
    return request.build_absolute_uri(reverse(f"stac:{name}", args=args))


def _link(rel: str, href: str, media_type: str = JSON, **extra: Any) -> dict[str, Any]:
    """A STAC link object."""
    return {"rel": rel, "href": href, "type": media_type, **extra}


def _collection_links(request: HttpRequest, collection: dict[str, Any]) -> dict[str, Any]:
    """The collection with its API links added."""
    cid = collection["id"]
    root = _url(request, "landing")
    collection["links"] = [
        _link("self", _url(request, "collection", cid)),
        _link("root", root),
        _link("parent", root),
        _link("items", _url(request, "items", cid), GEOJSON),
        *collection.get("links", []),
    ]
    return collection


def _item_links(request: HttpRequest, item: dict[str, Any]) -> dict[str, Any]:
    """The item with self/parent/collection/root links added."""
    item["links"] = [*_ItemLinks(request)(item["collection"], item["id"]),
                     *item.get("links", [])]
    return item


def _require_collection(archive: LocalArchive, collection_id: str) -> dict[str, Any]:
    """The collection, or a 404."""
    collection = archive.collection(collection_id)
    if collection is None:
        raise ApiError(404, f"there is no collection {collection_id!r}", "collection_id")
    return collection


def _feature_collection(
    request: HttpRequest, page: SearchPage | ServedPage, links: list[dict[str, Any]]
) -> HttpResponse:
    """A GeoJSON FeatureCollection page. Archive items (a ServedPage) are written out from
    their stored text, links spliced in: decoding and encoding them again was most of the time
    of a search that workers and clients make hundreds of times a second."""
    item_links = _ItemLinks(request)
    head = {"type": "FeatureCollection"}
    tail = {"numberMatched": page.number_matched, "numberReturned": len(page.items),
            "links": links}
    if isinstance(page, ServedPage):
        features = ", ".join(e.feature_text(item_links(e.collection, e.item_id))
                             for e in page.items)
        text = f'{json.dumps(head)[:-1]}, "features": [{features}], {json.dumps(tail)[1:]}'
        return HttpResponse(text, content_type=GEOJSON)
    for item in page.items:
        item["links"] = [*item_links(item["collection"], item["id"]), *item.get("links", [])]
    return _json({**head, "features": page.items, **tail}, GEOJSON)


class _ItemLinks:
    """The API links of items, from URLs built once a page rather than four times an item."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self.root = _url(request, "landing")
        self.collections: dict[str, str] = {}

    def __call__(self, cid: str, iid: str) -> list[dict[str, Any]]:
        if cid not in self.collections:
            self.collections[cid] = _url(self.request, "collection", cid)
        base = self.collections[cid]
        return [_link("self", f"{base}/items/{quote(iid, safe=URL_SAFE)}", GEOJSON),
                _link("parent", base), _link("collection", base), _link("root", self.root)]


def _get_next_link(request: HttpRequest, token: str | None) -> list[dict[str, Any]]:
    """The `next` link of a GET page: the same query with the new token."""
    if token is None:
        return []
    query = request.GET.copy()
    query["token"] = token
    href = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
    return [_link("next", href, GEOJSON, method="GET")]


@stac_endpoint("GET")
def landing(request: HttpRequest) -> HttpResponse:
    """The landing page: what this API conforms to and where everything is."""
    archive = get_archive()
    root = _url(request, "landing")
    search = _url(request, "search")
    found = [archive.collection(cid) for cid in archive.collection_ids()]
    children = [
        _link("child", _url(request, "collection", c["id"]), title=c["title"])
        for c in found
        if c is not None
    ]
    return _json(
        {
            "type": "Catalog",
            "id": "mosaic-hub",
            "title": "Mosaic Hub L2A archive",
            "description": ("STAC API over the hub's local Sentinel-2 L2A archive and the "
                            "mosaics ordered on it."),
            "stac_version": STAC_VERSION,
            "stac_extensions": [],
            "conformsTo": CONFORMANCE,
            "links": [
                _link("self", root),
                _link("root", root),
                _link("conformance", _url(request, "conformance")),
                _link("data", _url(request, "collections")),
                _link("search", search, GEOJSON, method="GET"),
                _link("search", search, GEOJSON, method="POST"),
                *children,
                _link("child", _url(request, "collection", mosaics.COLLECTION_ID),
                      title="Sentinel-2 mosaics ordered on this hub"),
                _link("child", request.build_absolute_uri(reverse("catalogue:stac-root")),
                      title="Land-product catalogue"),
            ],
        }
    )


@stac_endpoint("GET")
def conformance(request: HttpRequest) -> HttpResponse:
    """The conformance classes."""
    return _json({"conformsTo": CONFORMANCE})


@stac_endpoint("GET")
def collections(request: HttpRequest) -> HttpResponse:
    """Every collection of the archive, and the mosaics."""
    archive = get_archive()
    found = [archive.collection(cid) for cid in archive.collection_ids()]
    found.append(mosaics.collection(request))
    return _json(
        {
            "collections": [_collection_links(request, c) for c in found if c is not None],
            "links": [
                _link("self", _url(request, "collections")),
                _link("root", _url(request, "landing")),
                _link("parent", _url(request, "landing")),
            ],
        }
    )


@stac_endpoint("GET")
def collection(request: HttpRequest, collection_id: str) -> HttpResponse:
    """One collection."""
    if collection_id == mosaics.COLLECTION_ID:
        return _json(_collection_links(request, mosaics.collection(request)))
    return _json(_collection_links(request, _require_collection(get_archive(), collection_id)))


@stac_endpoint("GET")
def items(request: HttpRequest, collection_id: str) -> HttpResponse:
    """The items of one collection (OGC API Features), filtered by bbox and datetime."""
    params = {key: request.GET[key] for key in ITEMS_PARAMS if key in request.GET}
    page: SearchPage | ServedPage
    if collection_id == mosaics.COLLECTION_ID:
        page = _mosaic_page(request, params, [])
    else:
        archive = get_archive()
        _require_collection(archive, collection_id)
        page = archive.search_served(collections=[collection_id], **params)
    links = [
        _link("self", request.build_absolute_uri(), GEOJSON),
        _link("root", _url(request, "landing")),
        _link("parent", _url(request, "collection", collection_id)),
        _link("collection", _url(request, "collection", collection_id)),
        *_get_next_link(request, page.next_token),
    ]
    return _feature_collection(request, page, links)


@stac_endpoint("GET")
def item(request: HttpRequest, collection_id: str, item_id: str) -> HttpResponse:
    """One item."""
    if collection_id == mosaics.COLLECTION_ID:
        found = mosaics.find_item(request, item_id)
    else:
        archive = get_archive()
        _require_collection(archive, collection_id)
        found = archive.item(collection_id, item_id)
    if found is None:
        raise ApiError(404, f"there is no item {item_id!r} in {collection_id!r}",
                       "item_id")
    return _json(_item_links(request, found), GEOJSON)


@csrf_exempt
@stac_endpoint("GET", "POST")
def search(request: HttpRequest) -> HttpResponse:
    """Item search across collections (GET query or POST JSON body)."""
    if request.method == "POST":
        body = json_body(request)
        params = {key: body[key] for key in SEARCH_PARAMS if key in body}
    else:
        params = {key: request.GET[key] for key in SEARCH_PARAMS if key in request.GET}
    names = parse_names("collections", params.get("collections"))
    page: SearchPage | ServedPage
    if names is not None and mosaics.COLLECTION_ID in names:
        page = _mosaic_page(request, params, sorted(names - {mosaics.COLLECTION_ID}))
    else:  # the archive search the workers make: mosaics only when asked for by name
        page = get_archive().search_served(**params)
    links = [_link("root", _url(request, "landing"))]
    if request.method == "POST":
        links.append(_link("self", _url(request, "search"), GEOJSON, method="POST", body=body))
        if page.next_token is not None:
            next_body = {**body, "token": page.next_token}
            links.append(
                _link("next", _url(request, "search"), GEOJSON, method="POST", body=next_body)
            )
    else:
        links.append(_link("self", request.build_absolute_uri(), GEOJSON))
        links.extend(_get_next_link(request, page.next_token))
    return _feature_collection(request, page, links)


def _mosaic_page(request: HttpRequest, params: dict[str, Any],
                 archive_collections: list[str]) -> SearchPage:
    """A page of a search over the mosaics, merged with archive collections if also asked."""
    query = mosaics.MosaicQuery.parse(params)
    found = [e.item for e in mosaics.search(request, query)]
    total = len(found)
    if archive_collections:
        archive, matched = _archive_prefix(params, archive_collections, query.offset + query.limit)
        # Both lists are sorted alike; a stable sort of the two merges them.
        found = mosaics.sort_items(archive + found, query.sort)
        total += matched
    return SearchPage.of(found[query.offset:query.offset + query.limit], query.offset, total)


def _archive_prefix(params: dict[str, Any], collections: list[str],
                    wanted: int) -> tuple[list[dict[str, Any]], int]:
    """The first `wanted` archive items of the search, and how many match in all."""
    query = {k: v for k, v in params.items() if k not in ("collections", "limit", "token")}
    found: list[dict[str, Any]] = []
    token = None
    while True:
        page = get_archive().search(collections=collections, limit=min(wanted, MAX_LIMIT),
                                    token=token, **query)
        found += page.items
        token = page.next_token
        if token is None or len(found) >= wanted:
            return found[:wanted], page.number_matched


def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Any other path under the API: a JSON 404."""
    return error_response(404, f"{request.path} is not an endpoint of this STAC API")
