"""STAC API views of the catalogue: families as collections, items as features."""

from __future__ import annotations

from django.core.paginator import EmptyPage, Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse

from compositing.stacspec import STAC_VERSION
from hub.catalogue import stac
from hub.catalogue.models import Item, ProductFamily
from hub.errors import ApiError
from hub.stac.views import stac_endpoint

DEFAULT_LIMIT, MAX_LIMIT = 100, 1000


def _family(slug: str) -> ProductFamily:
    """The family, or a 404 ApiError."""
    found = ProductFamily.objects.filter(slug=slug).first()
    if found is None:
        raise ApiError(404, f"there is no collection {slug!r}", "collection_id")
    return found


def _positive(request: HttpRequest, key: str, default: int, maximum: int) -> int:
    """A positive integer query parameter, or a 400 ApiError."""
    raw = request.GET.get(key, str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise ApiError(400, f"{key} must be an integer from 1 to {maximum}", key)
    return int(raw)


@stac_endpoint("GET")
def root(request: HttpRequest) -> HttpResponse:
    """A small STAC catalog over the catalogue's collections."""
    here = stac.url(request, "stac-root")
    children = [stac.link("child", stac.url(request, "stac-collection", f.slug), title=f.name)
                for f in ProductFamily.objects.all()]
    return JsonResponse({
        "type": "Catalog", "stac_version": STAC_VERSION, "stac_extensions": [],
        "id": "mosaic-hub-catalogue", "title": "Land-product catalogue",
        "description": "Copernicus land products and Sentinel-2 mosaics listed by the hub.",
        "links": [stac.link("self", here), stac.link("root", here),
                  stac.link("data", stac.url(request, "stac-collections")), *children],
    })


@stac_endpoint("GET")
def collections(request: HttpRequest) -> HttpResponse:
    """Every family as a STAC collection."""
    found = ProductFamily.objects.prefetch_related("documents")
    here, root_url = stac.url(request, "stac-collections"), stac.url(request, "stac-root")
    return JsonResponse({
        "collections": [stac.collection(request, f) for f in found],
        "links": [stac.link("self", here), stac.link("root", root_url),
                  stac.link("parent", root_url)],
    })


@stac_endpoint("GET")
def collection(request: HttpRequest, collection_id: str) -> HttpResponse:
    """One family as a STAC collection."""
    return JsonResponse(stac.collection(request, _family(collection_id)))


@stac_endpoint("GET")
def items(request: HttpRequest, collection_id: str) -> HttpResponse:
    """The items of a family, paged with `limit` and `page`."""
    family = _family(collection_id)
    limit = _positive(request, "limit", DEFAULT_LIMIT, MAX_LIMIT)
    number = _positive(request, "page", 1, 10**9)
    paginator = Paginator(family.items.select_related("family").prefetch_related("files")
                          .order_by("start", "identifier"), limit)
    try:
        page = paginator.page(number)
    except EmptyPage:
        page = None
    features = [stac.item(request, i) for i in page] if page else []
    here = request.build_absolute_uri()
    links = [stac.link("self", here, stac.GEOJSON),
             stac.link("root", stac.url(request, "stac-root")),
             stac.link("parent", stac.url(request, "stac-collection", family.slug)),
             stac.link("collection", stac.url(request, "stac-collection", family.slug))]
    if page and page.has_next():
        query = request.GET.copy()
        query["page"] = str(page.next_page_number())
        links.append(stac.link("next", request.build_absolute_uri(
            f"{request.path}?{query.urlencode()}"), stac.GEOJSON, method="GET"))
    return JsonResponse({"type": "FeatureCollection", "features": features,
                         "numberMatched": paginator.count, "numberReturned": len(features),
                         "links": links}, content_type=stac.GEOJSON)


@stac_endpoint("GET")
def item(request: HttpRequest, collection_id: str, item_id: str) -> HttpResponse:
    """One item of a family."""
    family = _family(collection_id)
    found = (Item.objects.filter(family=family, identifier=item_id)
             .select_related("family").prefetch_related("files").first())
    if found is None:
        raise ApiError(404, f"there is no item {item_id!r} in {collection_id!r}", "item_id")
    return JsonResponse(stac.item(request, found), content_type=stac.GEOJSON)
