"""The catalogue's STAC endpoints: families as collections, items as features (pystac-valid)."""

from __future__ import annotations

import pystac
import pytest

from hub.catalogue.models import Item, ProductFamily
from tests.hub.catalogue_items import LWQ, create_lwq_item

pytestmark = pytest.mark.django_db

FOOTPRINT = {"type": "Polygon", "coordinates": [[[10, 40], [12, 40], [12, 42], [10, 42],
                                                  [10, 40]]]}


@pytest.fixture
def lwq_item() -> Item:
    """One LWQ item with a URL file."""
    return create_lwq_item(FOOTPRINT)


def test_every_family_is_a_valid_stac_collection(client) -> None:
    response = client.get("/catalogue/stac/collections")
    assert response.status_code == 200
    body = response.json()
    assert len(body["collections"]) == 20
    for data in body["collections"]:
        assert pystac.Collection.from_dict(data).id == data["id"]
        hub_links = [link for link in data["links"] if link["rel"] not in ("about",
                                                                           "describedby")]
        assert all(link["href"].startswith("http://testserver/") for link in hub_links)
    mosaic = next(c for c in body["collections"] if c["id"] == "sentinel-2-global-mosaic")
    assert {"rel": "order", "href": "http://testserver/requests/new/",
            "type": "text/html"} in mosaic["links"]


def test_a_clms_collection_links_its_official_page_and_documents(client) -> None:
    data = client.get("/catalogue/stac/collections/swe").json()
    page = "https://land.copernicus.eu/en/products/snow/snow-water-equivalent-v2-0-5km"
    assert {"rel": "about", "href": page, "type": "text/html",
            "title": "Official product page"} in data["links"]
    documents = [link for link in data["links"] if link["rel"] == "describedby"]
    assert [d["title"] for d in documents] == [
        "Snow Water Equivalent: Algorithm Theoretical Basis Document",
        "Snow Water Equivalent: Product User Manual",
        "Snow Water Equivalent: Quality Assessment Report"]
    assert {d["href"] for d in documents} == {page}
    assert all("type" not in d for d in documents)  # an HTML page, not a PDF as before


def test_a_collection_extent_follows_its_items(client, lwq_item) -> None:
    data = client.get("/catalogue/stac/collections/lwq").json()
    collection = pystac.Collection.from_dict(data)
    assert collection.extent.spatial.bboxes == [[10.0, 40.0, 12.0, 42.0]]
    start, end = collection.extent.temporal.intervals[0]
    assert (start.isoformat(), end.isoformat()) == ("2018-08-11T00:00:00+00:00",
                                                    "2018-08-20T23:59:59+00:00")


def test_items_are_valid_stac_items_with_file_checksums(client, lwq_item) -> None:
    response = client.get("/catalogue/stac/collections/lwq/items")
    assert response["Content-Type"] == "application/geo+json"
    body = response.json()
    assert body["numberMatched"] == 1
    item = pystac.Item.from_dict(body["features"][0])
    assert item.id == LWQ and item.collection_id == "lwq"
    assert item.properties["start_datetime"] == "2018-08-11T00:00:00Z"
    asset = item.assets[f"{LWQ}.nc"]
    assert asset.href == "https://example.org/lwq.nc"
    assert asset.extra_fields["file:checksum"] == "1220" + "e" * 64
    assert item.get_self_href() == f"http://testserver/catalogue/stac/collections/lwq/items/{LWQ}"
    single = client.get(f"/catalogue/stac/collections/lwq/items/{LWQ}").json()
    assert pystac.Item.from_dict(single).bbox == [10.0, 40.0, 12.0, 42.0]


def test_items_are_paged_with_a_next_link(client, lwq_item) -> None:
    lwq = ProductFamily.objects.get(slug="lwq")
    Item.objects.create(family=lwq, identifier="second", start="2018-08-21", end="2018-08-31",
                        footprint=FOOTPRINT)
    body = client.get("/catalogue/stac/collections/lwq/items", {"limit": 1}).json()
    assert [f["id"] for f in body["features"]] == [LWQ]
    nxt = next(link["href"] for link in body["links"] if link["rel"] == "next")
    assert [f["id"] for f in client.get(nxt).json()["features"]] == ["second"]


def test_unknown_collections_and_bad_limits_are_json_errors(client) -> None:
    assert client.get("/catalogue/stac/collections/nope").status_code == 404
    assert client.get("/catalogue/stac/collections/lwq/items/nope").status_code == 404
    bad = client.get("/catalogue/stac/collections/lwq/items", {"limit": "0"})
    assert bad.status_code == 400 and bad.json()["field"] == "limit"


def test_the_catalogue_root_is_a_stac_catalog(client) -> None:
    catalog = pystac.Catalog.from_dict(client.get("/catalogue/stac/").json())
    assert len(list(catalog.get_child_links())) == 20
