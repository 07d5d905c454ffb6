"""STAC 1.0.0 documents of catalogue families (collections) and items, with absolute links."""

from __future__ import annotations

import mimetypes
from typing import Any

from django.db.models import Max, Min
from django.http import HttpRequest
from django.urls import reverse

from compositing.products.metadata import (
    MEDIA_TYPES,
    SHA256_MULTIHASH_PREFIX,
    asset_role,
    file_suffix,
)
from compositing.stacspec import FILE_EXTENSION, STAC_VERSION, extension
from hub.catalogue.geometry import footprint_bbox
from hub.catalogue.models import Document, Item, ItemFile, ProductFamily

JSON = "application/json"
GEOJSON = "application/geo+json"
XML = "application/xml"
INSPIRE_ASSET = "inspire"
WORLD = [-180.0, -90.0, 180.0, 90.0]
PROJECTION_EXTENSION = extension("projection/v2.0.0")


def url(request: HttpRequest, name: str, *args: Any) -> str:
    """Absolute URL of a named catalogue route."""
    return request.build_absolute_uri(reverse(f"catalogue:{name}", args=args))


def link(rel: str, href: str, media_type: str = JSON, **extra: Any) -> dict[str, Any]:
    """A STAC link object."""
    return {"rel": rel, "href": href, "type": media_type, **extra}


def _iso(day: Any, end: bool = False) -> str:
    """A date as an RFC 3339 UTC instant (start or end of the day)."""
    return f"{day.isoformat()}T{'23:59:59' if end else '00:00:00'}Z"


def _extent(family: ProductFamily) -> dict[str, Any]:
    """Spatial and temporal extent from the items (world and open interval when none)."""
    items = list(family.items.only("footprint"))
    if items:
        boxes = [footprint_bbox(i.footprint) for i in items]
        bbox = [min(b[0] for b in boxes), min(b[1] for b in boxes),
                max(b[2] for b in boxes), max(b[3] for b in boxes)]
    else:
        bbox = WORLD
    span = family.items.aggregate(first=Min("start"), last=Max("end"))
    interval = [_iso(span["first"]) if span["first"] else None,
                _iso(span["last"], end=True) if span["last"] else None]
    return {"spatial": {"bbox": [bbox]}, "temporal": {"interval": [interval]}}


def collection(request: HttpRequest, family: ProductFamily) -> dict[str, Any]:
    """The family as a STAC Collection."""
    root = url(request, "stac-root")
    links = [
        link("self", url(request, "stac-collection", family.slug)),
        link("root", root),
        link("parent", root),
        link("items", url(request, "stac-items", family.slug), GEOJSON),
        link("alternate", request.build_absolute_uri(family.get_absolute_url()), "text/html",
             title="Catalogue page"),
    ]
    if family.product_page_url:
        links.append(link("about", family.product_page_url, "text/html",
                          title="Official product page"))
    links += [_document_link(request, d) for d in family.documents.all() if d.href]
    if family.ordering_url:
        links.append(link("order", request.build_absolute_uri(family.ordering_url), "text/html"))
    return {
        "type": "Collection",
        "stac_version": STAC_VERSION,
        "stac_extensions": [],
        "id": family.slug,
        "title": family.name,
        "description": family.description or family.name,
        "keywords": [family.get_theme_display(), family.variable],
        "license": "proprietary",
        "extent": _extent(family),
        "summaries": {"resolutions": family.resolutions,
                      "temporal_frequency": [family.temporal_frequency]},
        "links": links,
    }


def _document_link(request: HttpRequest, document: Document) -> dict[str, Any]:
    """A document as a describedby link, typed when its address says what it is."""
    found = {"rel": "describedby", "href": request.build_absolute_uri(document.href),
             "title": document.title}
    media_type = mimetypes.guess_type(document.file.name if document.file else document.url)[0]
    return {**found, "type": media_type} if media_type else found


def file_href(request: HttpRequest, file: ItemFile) -> str:
    """Where a file is downloaded: its external URL, else the hub's public file route."""
    return file.url or url(request, "file", file.pk)


def media_type(name: str) -> str:
    """The media type of a file by its name (a product format's own where it is one)."""
    return (MEDIA_TYPES.get(file_suffix(name)) or mimetypes.guess_type(name)[0]
            or "application/octet-stream")


def _asset(request: HttpRequest, file: ItemFile) -> dict[str, Any]:
    """A file as an asset with size and multihash SHA-256 checksum."""
    return {"href": file_href(request, file), "type": media_type(file.name), "title": file.name,
            "roles": [asset_role(file.name)], "file:size": file.size,
            "file:checksum": SHA256_MULTIHASH_PREFIX + file.sha256}


def _properties(found: Item) -> dict[str, Any]:
    """The item's period, and its title, description, pixel size and CRS where known."""
    properties: dict[str, Any] = {
        "title": f"{found.family.name} {found.start:%Y-%m-%d} to {found.end:%Y-%m-%d}",
        "datetime": None, "start_datetime": _iso(found.start),
        "end_datetime": _iso(found.end, end=True)}
    if found.description:
        properties["description"] = found.description
    if found.resolution_m:
        properties["gsd"] = found.resolution_m
    if found.epsg:
        properties["proj:code"] = f"EPSG:{found.epsg}"
    return properties


def item(request: HttpRequest, found: Item) -> dict[str, Any]:
    """An item as a STAC Item (a GeoJSON Feature)."""
    slug = found.family.slug
    collection_url = url(request, "stac-collection", slug)
    inspire_url = url(request, "item-inspire", slug, found.identifier)
    return {
        "type": "Feature",
        "stac_version": STAC_VERSION,
        "stac_extensions": [FILE_EXTENSION, *([PROJECTION_EXTENSION] if found.epsg else [])],
        "id": found.identifier,
        "collection": slug,
        "geometry": found.footprint,
        "bbox": footprint_bbox(found.footprint),
        "properties": _properties(found),
        "assets": {**{f.name: _asset(request, f) for f in found.files.all()},
                   INSPIRE_ASSET: {"href": inspire_url, "type": XML,
                                   "title": "INSPIRE metadata (ISO 19139)",
                                   "roles": ["metadata"]}},
        "links": [
            link("self", url(request, "stac-item", slug, found.identifier), GEOJSON),
            link("parent", collection_url),
            link("collection", collection_url),
            link("root", url(request, "stac-root")),
            link("describedby", inspire_url, XML, title="INSPIRE metadata (ISO 19139)"),
            link("alternate", request.build_absolute_uri(found.get_absolute_url()),
                 "text/html", title="Catalogue page"),
        ],
    }
