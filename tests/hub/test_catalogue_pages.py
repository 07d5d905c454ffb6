"""Public catalogue pages: browse by theme with filters, family page, downloads for users."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from hub.catalogue.models import Item, ItemFile, ProductFamily

pytestmark = pytest.mark.django_db

SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
ML = "{urn:ietf:params:xml:ns:metalink}"


@pytest.fixture
def lwq_items(settings, tmp_path: Path) -> list[Item]:
    """Two LWQ items: one with a local file and a URL-only file, one with a URL-only file."""
    settings.HUB_MEDIA_ROOT = tmp_path
    local = tmp_path / "catalogue" / "lwq" / "a.nc"
    local.parent.mkdir(parents=True)
    local.write_bytes(b"lake water quality " * 1000)
    lwq = ProductFamily.objects.get(slug="lwq")
    first = Item.objects.create(family=lwq, identifier="c_gls_LWQ1km_201808110000_GL",
                                start="2018-08-11", end="2018-08-20", footprint=SQUARE)
    second = Item.objects.create(family=lwq, identifier="c_gls_LWQ1km_201808210000_GL",
                                 start="2018-08-21", end="2018-08-31", footprint=SQUARE)
    ItemFile.objects.create(item=first, name="a.nc", path="lwq/a.nc", size=local.stat().st_size,
                            sha256=hashlib.sha256(local.read_bytes()).hexdigest())
    ItemFile.objects.create(item=first, name="a.xml", url="https://example.org/a.xml", size=10,
                            sha256="c" * 64)
    ItemFile.objects.create(item=second, name="b.nc", url="https://example.org/b.nc", size=20,
                            sha256="d" * 64)
    return [first, second]


def families_on(response) -> list[str]:
    """Slugs of the families listed on a browse page."""
    return [f.slug for group in response.context["groups"] for f in group["families"]]


def test_anyone_can_browse_families_by_theme(client) -> None:
    response = client.get("/catalogue/")
    assert response.status_code == 200
    themes = [group["theme"] for group in response.context["groups"]]
    assert themes == ["Vegetation", "Energy", "Water", "Cryosphere", "Land cover", "Imagery"]
    assert len(families_on(response)) == 20
    assert b'href="/requests/new/"' in response.content
    # The mosaic family shows its items (published mosaics) beside its order link.
    assert '<td>0 · <a href="/requests/new/">order</a></td>' in response.content.decode()


def test_browse_filters_by_theme_variable_and_resolution(client) -> None:
    assert set(families_on(client.get("/catalogue/", {"theme": "cryosphere"}))) == {
        "lie", "sce", "swe"}
    assert families_on(client.get("/catalogue/", {"variable": "NDVI"})) == ["ndvi"]
    assert set(families_on(client.get("/catalogue/", {"resolution": "10 m"}))) == {
        "sentinel-2-global-mosaic"}
    assert set(families_on(client.get("/catalogue/", {"resolution": "5 km"}))) == {"lst", "swe"}


def test_a_date_range_keeps_families_with_overlapping_items(client, lwq_items) -> None:
    response = client.get("/catalogue/", {"start": "2018-08-15", "end": "2018-08-16"})
    assert families_on(response) == ["lwq"]
    assert response.context["groups"][0]["families"][0].matching == 1
    assert families_on(client.get("/catalogue/", {"start": "2018-08-20"})) == ["lwq"]
    assert families_on(client.get("/catalogue/", {"end": "2018-08-10"})) == []


def test_the_family_page_lists_documents_and_filters_items(client, lwq_items) -> None:
    response = client.get("/catalogue/families/lwq/")
    assert response.status_code == 200
    assert b"Lake Water Quality: Product User Manual" in response.content
    assert [i.identifier for i in response.context["page"]] == [
        "c_gls_LWQ1km_201808210000_GL", "c_gls_LWQ1km_201808110000_GL"]
    assert b'type="checkbox"' not in response.content
    assert b"to select and download several items at once" in response.content
    assert b"/accounts/signup/" in response.content
    ranged = client.get("/catalogue/families/lwq/", {"start": "2018-08-25", "end": "2018-09-30"})
    assert [i.identifier for i in ranged.context["page"]] == ["c_gls_LWQ1km_201808210000_GL"]
    assert client.get("/catalogue/families/nope/").status_code == 404


def test_the_items_table_is_paginated(client, lwq_items) -> None:
    lwq = ProductFamily.objects.get(slug="lwq")
    Item.objects.bulk_create(
        Item(family=lwq, identifier=f"x{n:02d}", start="2019-01-01", end="2019-01-10",
             footprint=SQUARE) for n in range(30))
    first = client.get("/catalogue/families/lwq/")
    assert len(first.context["page"]) == 25 and first.context["page"].paginator.count == 32
    assert len(client.get("/catalogue/families/lwq/", {"page": 2}).context["page"]) == 7


def test_the_mosaic_family_links_to_the_ordering_dialogue(client) -> None:
    response = client.get("/catalogue/families/sentinel-2-global-mosaic/")
    assert b'href="/requests/new/"' in response.content


def test_a_selection_of_items_needs_a_login(client, lwq_items) -> None:
    url = "/catalogue/families/lwq/download/"
    response = client.post(url, {"item": [lwq_items[0].pk], "format": "zip"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_anyone_downloads_an_items_files_with_byte_ranges(client, lwq_items) -> None:
    local = lwq_items[0].files.get(name="a.nc")
    url = f"/catalogue/files/{local.pk}/"
    whole = client.get(url)
    assert whole.status_code == 200 and whole["ETag"] == f'"{local.sha256}"'
    assert b"".join(whole.streaming_content) == b"lake water quality " * 1000
    part = client.get(url, HTTP_RANGE="bytes=19-36")
    assert part.status_code == 206 and part["Content-Range"] == f"bytes 19-36/{local.size}"
    assert b"".join(part.streaming_content) == b"lake water quality"
    assert client.get(url, HTTP_RANGE=f"bytes={local.size}-").status_code == 416
    remote = lwq_items[0].files.get(name="a.xml")
    response = client.get(f"/catalogue/files/{remote.pk}/")
    assert response.status_code == 302 and response["Location"] == "https://example.org/a.xml"


def test_anyone_opens_an_items_page_from_the_family_page(client, lwq_items) -> None:
    first = lwq_items[0]
    url = "/catalogue/families/lwq/items/c_gls_LWQ1km_201808110000_GL/"
    assert f'href="{url}"' in client.get("/catalogue/families/lwq/").content.decode()
    page = client.get(url).content.decode()
    local, remote = first.files.get(name="a.nc"), first.files.get(name="a.xml")
    assert f'href="/catalogue/files/{local.pk}/"' in page and local.sha256 in page
    assert 'href="https://example.org/a.xml"' in page and remote.sha256 in page
    assert "EPSG:4326 (WGS 84)" in page
    assert client.get("/catalogue/families/ndvi/items/c_gls_LWQ1km_201808110000_GL/"
                      ).status_code == 404


def test_a_clms_family_links_its_official_product_page(client) -> None:
    page = client.get("/catalogue/families/ndvi/").content.decode()
    official = ("https://land.copernicus.eu/en/products/vegetation/"
                "normalised-difference-vegetation-index-v3-0-300m")
    assert f'<a href="{official}" rel="external" id="product-page">' in page
    assert page.count(f'href="{official}"') == 4  # the page, then the ATBD, PUM and QAR
    assert 'id="documents-on-product-page"' in page


def test_selected_items_stream_as_a_valid_zip(client, alice, lwq_items) -> None:
    client.force_login(alice)
    assert b'type="checkbox"' in client.get("/catalogue/families/lwq/").content
    response = client.post("/catalogue/families/lwq/download/",
                           {"item": [i.pk for i in lwq_items], "format": "zip"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.testzip() is None
    assert archive.namelist() == ["c_gls_LWQ1km_201808110000_GL/a.nc", "links.txt"]
    assert archive.read("c_gls_LWQ1km_201808110000_GL/a.nc") == b"lake water quality " * 1000
    assert archive.read("links.txt").decode().split() == ["https://example.org/a.xml",
                                                          "https://example.org/b.nc"]


def test_selected_items_as_metalink_have_sizes_and_hashes(client, alice, lwq_items) -> None:
    client.force_login(alice)
    response = client.post("/catalogue/families/lwq/download/",
                           {"item": [i.pk for i in lwq_items], "format": "metalink"})
    assert response["Content-Type"] == "application/metalink4+xml"
    root = ET.fromstring(response.content)
    files = {f.get("name"): f for f in root.iter(f"{ML}file")}
    assert set(files) == {"c_gls_LWQ1km_201808110000_GL/a.nc",
                          "c_gls_LWQ1km_201808110000_GL/a.xml", "c_gls_LWQ1km_201808210000_GL/b.nc"}
    local = files["c_gls_LWQ1km_201808110000_GL/a.nc"]
    stored = ItemFile.objects.get(name="a.nc")
    assert local.findtext(f"{ML}size") == str(stored.size)
    assert local.find(f"{ML}hash").get("type") == "sha-256"
    assert local.findtext(f"{ML}hash") == stored.sha256
    assert local.findtext(f"{ML}url") == f"http://testserver/catalogue/files/{stored.pk}/"
    assert files["c_gls_LWQ1km_201808210000_GL/b.nc"].findtext(f"{ML}size") == "20"


def test_an_empty_selection_returns_to_the_family_page(client, alice, lwq_items) -> None:
    client.force_login(alice)
    response = client.post("/catalogue/families/lwq/download/", {"format": "zip"})
    assert response.status_code == 302 and response["Location"] == "/catalogue/families/lwq/"


def test_a_large_file_is_zipped_in_several_chunks(settings, tmp_path: Path) -> None:
    from hub.catalogue.downloads import CHUNK, zip_chunks

    settings.HUB_MEDIA_ROOT = tmp_path
    big = tmp_path / "catalogue" / "big.bin"
    big.parent.mkdir(parents=True)
    big.write_bytes(bytes(range(256)) * (3 * CHUNK // 256 + 7))
    lwq = ProductFamily.objects.get(slug="lwq")
    item = Item.objects.create(family=lwq, identifier="big", start="2018-01-01",
                               end="2018-01-10", footprint=SQUARE)
    file = ItemFile.objects.create(item=item, name="big.bin", path="big.bin",
                                   size=big.stat().st_size, sha256="f" * 64)
    chunks = list(zip_chunks([file]))
    # Streamed: no chunk holds the whole file.
    assert len(chunks) >= 4 and max(len(c) for c in chunks) <= CHUNK + 1024
    archive = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    assert archive.read("big/big.bin") == big.read_bytes()
