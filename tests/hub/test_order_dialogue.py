"""The ordering dialogue's endpoints: AOI upload, quicklook overlays, tile ids, the page."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from pyproj import CRS
from shapely.geometry import shape

from compositing.orders.aoi_files import MAX_FILE_BYTES
from compositing.orders.mgrs import TILES, tile_footprint_wgs84
from hub.mosaics.forms import OrderForm
from hub.mosaics.models import MosaicRequest, ProductFile, Status
from tests.compositing.orders.test_aoi_files import KML, clockwise, shp_bytes, zipped
from tests.conftest import TEST_AOI_BBOX
from tests.hub.stored_requests import stored_request

pytestmark = pytest.mark.django_db


def upload(client, name: str, data: bytes):
    return client.post("/requests/aoi-upload", {"aoi_file": _named(name, data)})


def _named(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


# ---------------------------------------------------------------- upload


def test_a_kml_upload_returns_its_polygons_in_wgs84(client, alice):
    client.force_login(alice)
    response = upload(client, "fields.kml", KML.encode())
    assert response.status_code == 200, response.content
    body = response.json()
    geom = shape(body["geometry"])
    assert geom.geom_type == "MultiPolygon" and len(geom.geoms) == 2
    assert (body["kind"], body["polygons"], body["ignored"]) == ("KML", 2, 1)
    assert 100 < body["area_km2"] < 160  # two 0.1 degree squares at 52.7 N, less a hole


def test_a_zipped_utm_shapefile_upload_is_reprojected(client, alice):
    client.force_login(alice)
    utm = [(500000, 5840000), (510000, 5840000), (510000, 5850000), (500000, 5850000),
           (500000, 5840000)]
    data = zipped({"a.shp": shp_bytes([[clockwise(utm)]]), "a.shx": b"", "a.dbf": b"",
                   "a.prj": CRS.from_epsg(32629).to_wkt("WKT1_ESRI").encode()})
    body = upload(client, "area.zip", data).json()
    assert "UTM zone 29N" in body["source_crs"]
    assert body["area_km2"] == pytest.approx(100.0, rel=2e-3)  # 10 km x 10 km, scale 0.9996
    west, south, east, north = shape(body["geometry"]).bounds
    assert -9.001 < west < -8.999 and 52 < south < north < 53


@pytest.mark.parametrize("name,data,message", [
    ("a.kml", b"<kml><Document>", "not valid XML"),
    ("a.zip", b"PK\x03\x04 broken", "not a valid zip"),
    ("a.gpx", b"<gpx/>", "not supported"),
    ("a.geojson", b"   ", "empty"),
    ("a.geojson", json.dumps({"type": "Point", "coordinates": [1, 2]}).encode(), "no polygon"),
    ("a.geojson", json.dumps({"type": "Polygon", "coordinates": [[[0, 0], [0, 0], [0, 0],
                                                                  [0, 0]]]}).encode(),
     "no area"),
])
def test_bad_uploads_get_400_naming_the_upload_field(client, alice, name, data, message):
    client.force_login(alice)
    response = upload(client, name, data)
    assert response.status_code == 400
    assert response.json()["field"] == "aoi_file" and message in response.json()["error"]


def test_an_oversized_upload_or_area_is_refused(client, alice, settings):
    client.force_login(alice)
    response = upload(client, "big.geojson", b" " * (MAX_FILE_BYTES + 1))
    assert response.status_code == 400 and "over the limit" in response.json()["error"]
    settings.HUB_MAX_AOI_KM2 = 50
    response = upload(client, "fields.kml", KML.encode())
    assert response.status_code == 400 and response.json()["field"] == "aoi_file"
    assert "direct-order limit of 50 km²" in response.json()["error"]


def test_upload_needs_a_file_a_login_a_post_and_the_csrf_token(client, alice):
    assert upload(client, "fields.kml", KML.encode()).status_code == 302  # to the login page
    client.force_login(alice)
    missing = client.post("/requests/aoi-upload", {})
    assert missing.status_code == 400 and missing.json()["field"] == "aoi_file"
    assert client.get("/requests/aoi-upload").status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    assert strict.post("/requests/aoi-upload",
                       {"aoi_file": _named("a.kml", KML.encode())}).status_code == 403


# ---------------------------------------------------------------- tile ids


def test_the_rest_api_accepts_a_tile_id_as_aoi(client, alice_token,
                                               django_capture_on_commit_callbacks):
    order = {"name": "tile", "aoi": "T29UNU", "period": "month", "start": "2023-06-01",
             "resolution": 60, "crs": "UTM", "format": "GTiff", "bands": ["B04"]}
    headers = {"HTTP_AUTHORIZATION": f"Token {alice_token}"}
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post("/api/v1/mosaics", data=json.dumps(order),
                               content_type="application/json", **headers)
    assert response.status_code == 201, response.content
    req = MosaicRequest.objects.get()
    assert req.spec.aoi.equals_exact(tile_footprint_wgs84(TILES["29UNU"]), 1e-9)
    assert req.spec.crs == 32629
    bad = client.post("/api/v1/mosaics", data=json.dumps({**order, "aoi": "29UNJ"}),
                      content_type="application/json", **headers)
    assert bad.status_code == 400 and bad.json()["field"] == "aoi"
    assert "no 100 km square" in bad.json()["error"]
    assert MosaicRequest.objects.count() == 1


def test_the_preview_draws_a_tile_and_suggests_its_utm_zone(client, alice, hub_dirs):
    client.force_login(alice)
    response = client.post("/requests/preview", {"aoi": "30UUD", "period": "month",
                                                 "start": "2023-06-01", "resolution": "60",
                                                 "crs": "EPSG:3035", "bands": ["B04"]})
    assert response.status_code == 200, response.content
    data = response.json()
    assert shape(data["aoi_geometry"]).equals_exact(
        tile_footprint_wgs84(TILES["30UUD"]), 1e-9)
    assert data["epsg"] == 3035 and "LAEA" in data["crs_name"]
    assert data["utm_epsg"] == 32630 and "UTM zone 30N" in data["utm_name"]
    assert data["area_km2"] == pytest.approx(109.8 ** 2, rel=3e-3)


@pytest.mark.parametrize(("aoi", "start", "coverage", "kind"), [
    (",".join(map(str, TEST_AOI_BBOX)), "2023-06-01", 1.0, None),
    ("{1},{0},{3},{2}".format(*TEST_AOI_BBOX), "2023-06-01", 0.0, "swapped"),
    (",".join(map(str, TEST_AOI_BBOX)), "2022-06-01", 0.0, "period"),
    ("POLYGON ((-20 50, -19.9 50, -19.9 50.1, -20 50.1, -20 50))", "2023-06-01", 0.0,
     "outside"),
])
def test_the_preview_gives_the_covered_share_and_the_likely_mistake(client, alice, hub_dirs,
                                                                    aoi, start, coverage,
                                                                    kind):
    client.force_login(alice)
    response = client.post("/requests/preview", {"aoi": aoi, "period": "month", "start": start,
                                                 "resolution": "60", "bands": ["B04"]})
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["coverage"] == pytest.approx(coverage) and data["coverage_complete"]
    assert (data.get("warning") or {}).get("kind") == kind
    assert data.get("confirm", False) == (kind is not None)


def test_the_preview_names_an_unknown_epsg(client, alice, hub_dirs):
    client.force_login(alice)
    response = client.post("/requests/preview", {"aoi": ",".join(map(str, TEST_AOI_BBOX)),
                                                 "start": "2023-06-01", "resolution": "20",
                                                 "crs": "EPSG:99999"})
    assert response.status_code == 400 and response.json()["field"] == "crs"


# ---------------------------------------------------------------- quicklook overlays


def _done_request(owner, media, name, *, metadata=None, status=Status.DONE, png=True):
    req = stored_request(owner, name, status, options={"aoi": {"type": "Polygon", "coordinates": [[
        [-7.5, 52.7], [-7.4, 52.7], [-7.4, 52.8], [-7.5, 52.8], [-7.5, 52.7]]]}})
    folder = media / name
    folder.mkdir()
    files = {"bands.tif": b"tif"}
    if png:
        files["quicklook.png"] = b"\x89PNG"
    if metadata is not None:
        files["metadata.json"] = json.dumps(metadata).encode()
    for file_name, data in files.items():
        (folder / file_name).write_bytes(data)
        ProductFile.objects.create(request=req, name=file_name, path=f"{name}/{file_name}",
                                   size=len(data), sha256="0" * 64)
    return req


def test_quicklooks_list_the_users_done_products_with_bounds(client, alice, bob, hub_dirs):
    media = hub_dirs["media"]
    corners = [[-7.51, 52.69], [-7.52, 52.81], [-7.39, 52.82], [-7.38, 52.7], [-7.51, 52.69]]
    with_meta = _done_request(alice, media, "with-meta",
                              metadata={"Geometry": {"Boundary_WGS84": corners}})
    no_meta = _done_request(alice, media, "no-meta")
    _done_request(alice, media, "queued", status=Status.QUEUED)
    _done_request(alice, media, "no-png", png=False)
    _done_request(bob, media, "bobs")
    client.force_login(alice)
    results = {r["name"]: r for r in client.get("/requests/quicklooks").json()["results"]}
    assert set(results) == {"with-meta", "no-meta"}
    assert results["with-meta"]["bounds"] == [-7.52, 52.69, -7.38, 52.82]
    assert results["with-meta"]["bounds_from"] == "metadata"
    assert results["no-meta"]["bounds"] == [-7.5, 52.7, -7.4, 52.8]
    assert results["no-meta"]["bounds_from"] == "aoi"
    # Top-left, top-right, bottom-left as [lat, lon]: placed rotated, as on the product page.
    assert results["with-meta"]["corners"] == [[52.81, -7.52], [52.82, -7.39], [52.69, -7.51]]
    assert results["no-meta"]["corners"] is None
    href = results["with-meta"]["quicklook"]
    assert href == f"/api/v1/mosaics/{with_meta.id}/files/quicklook.png"
    assert client.get(href).status_code == 200
    assert results["no-meta"]["page"] == f"/requests/{no_meta.id}/"


def test_quicklooks_need_a_login(client):
    assert client.get("/requests/quicklooks").status_code == 302


# ---------------------------------------------------------------- the page


def test_the_page_lays_out_every_form_field_in_groups(client, alice):
    client.force_login(alice)
    html = client.get("/requests/new/").content.decode()
    for name in OrderForm().fields:  # including fields added after this layout was written
        assert html.count(f'id="field-{name}"') == 1, name
    for group in ("area", "period", "output", "bands", "layers", "metadata"):
        assert f'id="group-{group}"' in html
    for preset in ("True colour", "All 10 m", "All bands", "None"):
        assert f">{preset}</button>" in html
    assert 'id="aoi-file"' in html and 'id="tile-id"' in html and 'id="order-estimate"' in html
    assert "B08 (" in html and " nm" in html  # band labels carry their wavelengths


def test_the_page_orders_a_tile_typed_in_the_aoi_box(client, alice,
                                                     django_capture_on_commit_callbacks):
    client.force_login(alice)
    data = {name: field.initial for name, field in OrderForm().fields.items()
            if field.initial is not None}  # every default, including fields added later
    data.update(aoi="29upu", start="2023-06-01", resolution="60", bands=["B04"])
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post("/requests/new/", data)
    assert response.status_code == 302, response.content.decode()[-2000:]
    req = MosaicRequest.objects.get()
    assert req.spec.aoi.equals_exact(tile_footprint_wgs84(TILES["29UPU"]), 1e-9)
    bad = client.post("/requests/new/", {**data, "aoi": "29UPJ"}).content.decode()
    assert 'data-field="aoi"' in bad and "no 100 km square" in bad


def test_a_new_order_starts_in_the_archives_latest_month_and_says_what_it_holds(
        client, alice, hub_dirs, tmp_path, settings):
    client.force_login(alice)
    page = client.get("/requests/new/").content.decode()
    # The test archive holds June 2023 only.
    assert 'value="2023-06-01"' in page
    assert "acquisitions from 2023-06-" in page and "to 2023-06-" in page
    settings.HUB_ARCHIVE_DIR = str(tmp_path / "empty-archive")
    page = client.get("/requests/new/").content.decode()
    assert 'id="archive-extent"' not in page


@pytest.mark.parametrize(("status", "fields", "says"), [
    (Status.FAILED, {"error": "the archive file S2A_29UNU/B04.tif cannot be read"},
     "No files: the order failed: the archive file S2A_29UNU/B04.tif cannot be read"),
    (Status.CANCELLED, {}, "No files: the order was cancelled"),
    (Status.QUEUED, {}, "No files yet: they are listed here"),
])
def test_a_product_page_without_files_says_why(client, alice, hub_dirs, status, fields, says):
    req = stored_request(alice, "why", status, **fields)
    client.force_login(alice)
    page = client.get(f"/requests/{req.id}/").content.decode()
    assert says in page
    assert (f"?from={req.id}" in page.split("<h2>Files</h2>")[1]) == (status == Status.FAILED)
