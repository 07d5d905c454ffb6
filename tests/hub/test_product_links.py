"""The URLs in a product's metadata are the hub's public page and download URLs, never a path
of the server; a product written by the command line refers to its files by relative paths."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from io import StringIO
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.management import call_command

from compositing.products.inspire import NS
from hub.mosaics.links import product_links
from hub.mosaics.models import MosaicRequest, Status
from hub.mosaics.services import create_request, process_request, read_order
from tests.compositing.products.test_inspire import load_iso_schema
from tests.conftest import TEST_AOI_BBOX
from tests.hub.test_product_layouts import _tile_crossing_bbox

pytestmark = pytest.mark.django_db

ORDER = {"name": "links", "aoi": list(TEST_AOI_BBOX), "start": "2023-06-01", "period": "month",
         "resolution": 60, "crs": "EPSG:32629", "bands": ["B02", "B03", "B04"],
         "aux": ["valid_obs"], "metadata": ["json", "inspire"]}
ORDERING_HOST = "mosaics.example.org"


@pytest.fixture
def ordering_host(settings) -> str:
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, ORDERING_HOST]
    return ORDERING_HOST


def order_through_api(client, token: str, order: dict) -> MosaicRequest:
    """POST the order over HTTPS to the ordering host; the request row, not yet run."""
    response = client.post("/api/v1/mosaics", data=json.dumps(order),
                           content_type="application/json", secure=True,
                           HTTP_HOST=ORDERING_HOST, HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 201, response.content
    return MosaicRequest.objects.get(pk=response.json()["id"])


def product_texts(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize(("public_url", "tiling"), [
    ("", "single"),  # the scheme and host the order came through
    ("https://public.example.net/hub", "mgrs"),  # the operator's address wins
])
def test_the_metadata_links_to_the_hubs_product_page_and_download_urls(
        client, settings, alice_token, hub_dirs, ordering_host,
        django_capture_on_commit_callbacks, public_url, tiling):
    settings.HUB_PUBLIC_URL = public_url
    changes = {"tiling": tiling, "aoi": _tile_crossing_bbox()} if tiling == "mgrs" else {}
    with django_capture_on_commit_callbacks(execute=False):
        req = order_through_api(client, alice_token, {**ORDER, **changes})
    assert req.public_url == "https://mosaics.example.org"
    process_request(str(req.pk))
    req.refresh_from_db()
    assert req.status == Status.DONE, req.error
    root = public_url or "https://mosaics.example.org"
    files_url = f"{root}/api/v1/mosaics/{req.pk}/files/"
    folder = hub_dirs["media"] / req.product_folder
    names = [f.name for f in req.files.all()]
    if tiling == "mgrs":
        assert any("/" in name for name in names)  # files in tile subfolders

    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["Resource_locator"] == f"{root}/requests/{req.pk}/"

    record = (folder / "inspire.xml").read_bytes()
    urls = [e.text for e in ET.fromstring(record).iterfind(".//gmd:URL", NS)]
    assert urls == [files_url + quote(n) for n in sorted(names) if n.endswith(".tif")]
    errors = list(load_iso_schema().iter_errors(record.decode("utf-8")))
    assert errors == [], "\n".join(str(e.reason) for e in errors[:5])

    item = json.loads((folder / "stac_item.json").read_text())
    hrefs = {asset["title"]: asset["href"] for asset in item["assets"].values()}
    assert hrefs == {n: files_url + quote(n) for n in hrefs}
    assert set(hrefs) == set(names) - {"stac_item.json", "manifest.sha256"}
    assert item["links"] == [{"rel": "collection", "type": "application/json",
                              "href": f"{root}/stac/collections/mosaics"}]

    for name, href in hrefs.items():  # each URL is this hub's download of that very file
        response = client.get(href.removeprefix(root), HTTP_AUTHORIZATION=f"Token {alice_token}")
        assert response.status_code == 200, href
        assert b"".join(response.streaming_content) == (folder / name).read_bytes()
    page = client.get(meta["Resource_locator"].removeprefix(root))
    assert page.status_code == 302  # the product page, behind the login

    for name, data in product_texts(folder).items():
        assert b"file://" not in data, name
        assert str(hub_dirs["media"]).encode() not in data, name


def test_an_order_from_the_form_records_the_address_it_came_through(
        client, alice, ordering_host, django_capture_on_commit_callbacks):
    client.force_login(alice)
    data = {**ORDER, "aoi": ",".join(str(v) for v in ORDER["aoi"]), "cloud_buffer": 0,
            "layout": "multiband", "tiling": "single", "format": "GTiff"}
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post("/requests/new/", data, HTTP_HOST=ordering_host)
    assert response.status_code == 302, response.context["form"].errors
    assert MosaicRequest.objects.get().public_url == "http://mosaics.example.org"


def test_an_order_placed_without_http_links_below_the_hubs_root(alice, settings,
                                                                 django_capture_on_commit_callbacks):
    settings.HUB_PUBLIC_URL = ""
    with django_capture_on_commit_callbacks(execute=False):
        req = create_request(read_order(ORDER), alice)
    links = product_links(req)
    assert (links.page, links.files, links.stac) == (
        f"/requests/{req.pk}/", f"/api/v1/mosaics/{req.pk}/files", "/stac/")


def test_the_command_line_product_refers_to_its_files_by_relative_paths(hub_dirs, tmp_path):
    out = tmp_path / "cli"
    call_command("mosaic", "--aoi=" + ",".join(map(str, _tile_crossing_bbox())),
                 "--start", "2023-06-01", "--period", "month", "--resolution", "60",
                 "--crs", "EPSG:32629", "--bands", "B02,B03,B04", "--tiling", "mgrs",
                 "--name", "cli", "--out", str(out), stdout=StringIO(), stderr=StringIO())
    (folder,) = out.iterdir()
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["Resource_locator"] == "./"
    item = json.loads((folder / "stac_item.json").read_text())
    hrefs = {asset["title"]: asset["href"] for asset in item["assets"].values()}
    assert any("/" in name for name in hrefs)
    assert hrefs == {name: quote(name) for name in hrefs}
    assert all((folder / name).is_file() for name in hrefs)
    for name, data in product_texts(folder).items():
        assert b"file:/" not in data, name
        assert str(out).encode() not in data, name
