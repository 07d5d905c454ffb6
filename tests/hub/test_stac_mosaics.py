"""The `mosaics` collection of the STAC API: finished products, private to their owners.

Two real products are composed once per module from the demo archive; each test registers them
as DONE requests of alice and bob.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pystac
import pytest
import requests
from django.test import override_settings
from pystac.extensions.eo import EOExtension
from pystac.extensions.file import FileExtension
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import RasterExtension
from pystac.validation import JsonSchemaSTACValidator
from pystac_client import Client

from compositing.demo.archive import DEMO_END, DEMO_START, DEMO_TILES, acquisitions
from compositing.orders.spec import parse_spec
from compositing.pipeline import run_mosaic
from compositing.products.layers import REFLECTANCE_NODATA, REFLECTANCE_SCALE
from hub.mosaics.models import MosaicRequest, ProductFile, Status
from tests.conftest import TEST_AOI_BBOX

pytestmark = pytest.mark.django_db
MOSAICS = "mosaics"
L2A = "sentinel-2-l2a"
FAR_AWAY = [10.0, 10.0, 11.0, 11.0]


class CoreValidator(JsonSchemaSTACValidator):
    """The STAC core schemas pystac ships; extension schemas would need the network, so the
    extension fields are read back through pystac's extension classes instead."""

    def validate_extension(self, *args: Any, **kwargs: Any) -> None:
        return None


def core_schemas(stac: pystac.STACObject) -> list[str]:
    """Validate against the STAC 1.1 core schemas (the version the hub writes) offline;
    the URIs of the schemas used (an invalid document raises STACValidationError)."""
    document = stac.to_dict(include_self_link=False, transform_hrefs=False)
    return pystac.validation.validate_dict(document, validator=CoreValidator())


def order(name: str, start: str) -> dict[str, Any]:
    return {"name": name, "aoi": list(TEST_AOI_BBOX), "start": start, "period": "tenday",
            "resolution": 60, "crs": "EPSG:32629", "bands": ["B02", "B03", "B04", "B08"],
            "metadata": ["json", "inspire"]}


@pytest.fixture(scope="module")
def built(demo_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two products in one media folder: alice's (1-10 June) and bob's (11-20 June)."""
    from hub.mosaics.services import mosaic_settings

    media = tmp_path_factory.mktemp("mosaics-media")
    results = {}
    with override_settings(HUB_ARCHIVE_DIR=demo_archive, HUB_STAC_URL="",
                           HUB_PUBLIC_URL=""):
        for owner, start in (("alice", "2023-06-01"), ("bob", "2023-06-11")):
            spec = parse_spec(order(owner, start))
            results[owner] = run_mosaic(spec, mosaic_settings(), media, owner[:8])
    return {"media": media, "results": results}


@pytest.fixture
def products(built, settings, alice, bob) -> dict[str, MosaicRequest]:
    """The two products as DONE requests, published as the worker does."""
    settings.HUB_MEDIA_ROOT = built["media"]
    made = {}
    for user in (alice, bob):
        result = built["results"][user.username]
        folder = result.folder
        start = "2023-06-11" if user.username == "bob" else "2023-06-01"
        req = MosaicRequest.from_spec(parse_spec(order(user.username, start)), user)
        req.status, req.product_folder, req.progress = Status.DONE, folder.name, 100.0
        req.save()
        ProductFile.objects.bulk_create(
            ProductFile(request=req, name=f.name, path=f"{folder.name}/{f.name}", size=f.size,
                        sha256=f.sha256) for f in result.files)
        made[user.username] = req
    return made


def item_id(req: MosaicRequest) -> str:
    return req.product_folder


def token_for(user) -> str:
    from hub.accounts.models import ApiToken

    return ApiToken.issue(user)[1]


def auth(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Token {token}"}


def test_anonymous_callers_see_the_collection_but_no_items(client, products) -> None:
    collection = client.get(f"/stac/collections/{MOSAICS}")
    assert collection.status_code == 200
    assert collection.json()["license"] == "proprietary"
    parsed = pystac.Collection.from_dict(collection.json())
    assert parsed.id == MOSAICS and core_schemas(parsed)
    assert parsed.extent.temporal.intervals[0][1] is None  # nothing visible: open extent
    page = client.get(f"/stac/collections/{MOSAICS}/items")
    assert page.status_code == 200 and page.json()["features"] == []
    search = client.post("/stac/search", {"collections": [MOSAICS]},
                         content_type="application/json")
    assert search.status_code == 200 and search.json()["numberMatched"] == 0
    assert client.get(f"/stac/collections/{MOSAICS}/items/"
                      f"{item_id(products['alice'])}").status_code == 404


def test_an_owner_sees_only_their_product(client, products, alice) -> None:
    headers = auth(token_for(alice))
    page = client.get(f"/stac/collections/{MOSAICS}/items", **headers).json()
    assert [f["id"] for f in page["features"]] == [item_id(products["alice"])]
    bob_item = f"/stac/collections/{MOSAICS}/items/{item_id(products['bob'])}"
    assert client.get(bob_item, **headers).status_code == 404
    collection = client.get(f"/stac/collections/{MOSAICS}", **headers).json()
    start, end = collection["extent"]["temporal"]["interval"][0]
    assert (start, end) == ("2023-06-01T00:00:00Z", "2023-06-10T23:59:59Z")
    bbox = collection["extent"]["spatial"]["bbox"][0]
    assert bbox == pytest.approx(list(TEST_AOI_BBOX))


def test_a_session_counts_like_a_token_and_staff_see_every_product(client, products, alice,
                                                                   bob) -> None:
    client.force_login(alice)
    own = client.get("/stac/search", {"collections": MOSAICS}).json()
    assert [f["id"] for f in own["features"]] == [item_id(products["alice"])]
    bob.is_staff = True
    bob.save()
    client.force_login(bob)
    every = client.post("/stac/search", {"collections": [MOSAICS]},
                        content_type="application/json").json()
    assert sorted(f["id"] for f in every["features"]) == sorted(map(item_id, products.values()))


def test_a_served_item_is_valid_stac_with_download_hrefs_and_checksums(client, products,
                                                                      alice) -> None:
    req = products["alice"]
    token = token_for(alice)
    data = client.get(f"/stac/collections/{MOSAICS}/items/{item_id(req)}", **auth(token)).json()
    item = pystac.Item.from_dict(data)
    assert core_schemas(item)
    assert item.collection_id == MOSAICS
    assert item.get_self_href() == \
        f"http://testserver/stac/collections/{MOSAICS}/items/{item_id(req)}"
    proj = ProjectionExtension.ext(item)
    assert proj.code == "EPSG:32629" and proj.shape and len(proj.transform or []) == 6
    files = {f.name: f for f in req.files.all()}
    assert set(files) - {a.title for a in item.assets.values()} == {"stac_item.json"}
    for asset in item.assets.values():
        stored = files[asset.title]
        assert asset.href == f"http://testserver/api/v1/mosaics/{req.pk}/files/{stored.name}"
        assert FileExtension.ext(asset).checksum == "1220" + stored.sha256
        assert FileExtension.ext(asset).size == stored.size
    bands = item.assets["bands"]
    assert [b.name for b in EOExtension.ext(bands).bands or []] == ["B02", "B03", "B04", "B08"]
    assert [(b.nodata, b.scale) for b in RasterExtension.ext(bands).bands or []] == \
        [(REFLECTANCE_NODATA, REFLECTANCE_SCALE)] * 4
    assert {"inspire", "quicklook", "manifest"} <= set(item.assets)
    download = client.get(item.assets["bands"].href, **auth(token))
    body = b"".join(download.streaming_content)
    assert "1220" + hashlib.sha256(body).hexdigest() == FileExtension.ext(bands).checksum


@pytest.mark.parametrize("status", [Status.EXPIRED, Status.FAILED, Status.RUNNING])
def test_only_finished_products_are_served(client, products, alice, status) -> None:
    MosaicRequest.objects.filter(pk=products["alice"].pk).update(status=status)
    headers = auth(token_for(alice))
    assert client.get(f"/stac/collections/{MOSAICS}/items", **headers).json()["features"] == []
    url = f"/stac/collections/{MOSAICS}/items/{item_id(products['alice'])}"
    assert client.get(url, **headers).status_code == 404


def test_a_product_whose_item_file_is_gone_is_left_out(client, products, alice) -> None:
    MosaicRequest.objects.filter(pk=products["alice"].pk).update(product_folder="missing")
    headers = auth(token_for(alice))
    assert client.get(f"/stac/collections/{MOSAICS}/items", **headers).json()["features"] == []


@pytest.mark.parametrize(("query", "field"), [
    ({"bbox": "1,2,3"}, "bbox"), ({"datetime": "June"}, "datetime"), ({"limit": "0"}, "limit"),
    ({"token": "next"}, "token"), ({"sortby": "cloud"}, "sortby"), ({"ids": ""}, None),
])
def test_bad_mosaic_search_parameters_are_a_400_naming_them(client, products, alice, query,
                                                           field) -> None:
    response = client.get("/stac/search", {"collections": MOSAICS, **query},
                          **auth(token_for(alice)))
    if field is None:  # an empty list is no filter
        assert response.status_code == 200 and response.json()["numberMatched"] == 1
    else:
        assert response.status_code == 400 and response.json()["field"] == field


def test_a_bad_token_is_a_401_not_an_empty_list(client, products) -> None:
    response = client.get(f"/stac/collections/{MOSAICS}/items", **auth("not-a-token"))
    assert response.status_code == 401 and response.json()["error"]


# ---------------------------------------------------------------- live server, pystac-client


@pytest.fixture
def live(live_server, products, alice, bob, settings, demo_archive) -> Iterator[dict[str, Any]]:
    """The live hub over the demo archive, with alice's token and staff bob's."""
    settings.HUB_ARCHIVE_DIR = demo_archive
    bob.is_staff = True
    bob.save()
    clients: list[Client] = []
    yield {"url": live_server.url + "/stac/", "alice": token_for(alice), "bob": token_for(bob),
           "clients": clients}
    # Close the kept-alive connections now: a server thread still holding one would close the
    # shared test database connection after the live server stopped sharing it.
    for stac in clients:
        if stac._stac_io is not None:
            stac._stac_io.session.close()


def open_client(live: dict[str, Any], who: str | None) -> Client:
    headers = {"Authorization": f"Token {live[who]}"} if who else None
    stac = Client.open(live["url"], headers=headers)
    live["clients"].append(stac)
    return stac


def test_pystac_client_searches_mosaics_by_bbox_datetime_and_ids(live,
                                                                  products) -> None:
    stac = open_client(live, "alice")
    mine = item_id(products["alice"])
    found = stac.search(collections=[MOSAICS], bbox=list(TEST_AOI_BBOX),
                        datetime="2023-06-05/2023-06-06")
    assert [i.id for i in found.items()] == [mine]
    assert list(stac.search(collections=[MOSAICS], bbox=FAR_AWAY).items()) == []
    assert list(stac.search(collections=[MOSAICS], datetime="2023-06-15").items()) == []
    assert [i.id for i in stac.search(collections=[MOSAICS], ids=[mine]).items()] == [mine]
    assert list(stac.search(collections=[MOSAICS],
                            ids=[item_id(products["bob"])]).items()) == []
    collection = stac.get_collection(MOSAICS)
    assert collection is not None and collection.id == MOSAICS
    assert MOSAICS in {c.id for c in stac.get_collections()}
    item = next(stac.search(collections=[MOSAICS]).items())
    response = requests.get(item.assets["quicklook"].href,
                            headers={"Authorization": f"Token {live['alice']}"}, timeout=30)
    assert response.status_code == 200
    checksum = FileExtension.ext(item.assets["quicklook"]).checksum
    assert checksum == "1220" + hashlib.sha256(response.content).hexdigest()


def test_the_archive_search_never_returns_mosaics_unless_asked(live) -> None:
    stac = open_client(live, "bob")  # staff: could see every product
    scenes = [i.collection_id for i in stac.search(max_items=None).items()]
    assert scenes and set(scenes) == {L2A}
    in_l2a = stac.search(collections=[L2A], bbox=list(TEST_AOI_BBOX), max_items=None)
    assert {i.collection_id for i in in_l2a.items()} == {L2A}
    anonymous = open_client(live, None)
    assert anonymous.search(collections=[L2A]).matched() == len(scenes)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_mixed_search_pages_through_scenes_and_mosaics(live, products,
                                                         method) -> None:
    stac = open_client(live, "bob")
    scenes = stac.search(collections=[L2A], max_items=None).matched()
    assert scenes == len(acquisitions(DEMO_START, DEMO_END)) * len(DEMO_TILES)
    mixed = stac.search(method=method, collections=[L2A, MOSAICS], limit=5, max_items=None,
                        sortby="-datetime")
    pages = list(mixed.pages_as_dicts())
    features = [f for page in pages for f in page["features"]]
    assert pages[0]["numberMatched"] == scenes + 2 == len(features)
    assert len({(f["collection"], f["id"]) for f in features}) == len(features)
    assert sorted(f["id"] for f in features if f["collection"] == MOSAICS) == \
        sorted(map(item_id, products.values()))
    starts = [f["properties"].get("datetime") or f["properties"]["start_datetime"]
              for f in features]
    assert starts == sorted(starts, reverse=True)
