"""Hostile input over every entry point that reads an order or a query: the REST API (POST and
the list's page parameters), the ordering form, its preview, the AOI upload and the time-series
API. Each row is one input and the answer it must get: a 4xx naming the field (JSON, or the
form's error beside the field), with nothing saved, queued or written."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pyproj import Transformer

from compositing.demo.archive import DEMO_CENTER_32629
from hub.mosaics.models import MosaicRequest
from tests.conftest import TEST_AOI_BBOX

pytestmark = pytest.mark.django_db

ORDER: dict[str, Any] = {
    "name": "hostile", "aoi": list(TEST_AOI_BBOX), "period": "month", "start": "2023-06-01",
    "resolution": 20, "crs": "UTM", "format": "GTiff", "bands": ["B02", "B03", "B04"],
}
FORM: dict[str, Any] = {
    "name": "hostile", "aoi": ",".join(map(str, TEST_AOI_BBOX)), "period": "month",
    "start": "2023-06-01", "resolution": "20", "crs": "UTM", "format": "GTiff",
    "bands": ["B02", "B03", "B04"], "metadata": ["json"], "cloud_buffer": "0",
    "layout": "multiband", "tiling": "single",
}
PREVIEW: dict[str, Any] = {"aoi": ",".join(map(str, TEST_AOI_BBOX)), "period": "month",
                           "start": "2023-06-01", "resolution": "20", "bands": ["B04"]}
LON, LAT = Transformer.from_crs(32629, 4326, always_xy=True).transform(*DEMO_CENTER_32629)
SERIES: dict[str, Any] = {"lon": f"{LON:.6f}", "lat": f"{LAT:.6f}", "start": "2023-06-01",
                          "end": "2023-06-30", "period": "month", "resolution": "20",
                          "bands": "B04,B08"}


def ring(vertices: int, lon: float = LON, lat: float = LAT, radius: float = 0.01) -> list:
    """A closed circle of `vertices` distinct vertices (plus the closing one)."""
    points = [[round(lon + radius * math.cos(2 * math.pi * i / vertices), 7),
               round(lat + radius * math.sin(2 * math.pi * i / vertices), 7)]
              for i in range(vertices)]
    return [*points, points[0]]


def polygon(vertices: int) -> dict:
    return {"type": "Polygon", "coordinates": [ring(vertices)]}


BOWTIE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
DTD_KML = ('<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE kml [<!ENTITY a "aaaa">]>\n'
           '<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&a;</name>'
           '</Placemark></kml>')
BIG = 3 * 1024 * 1024  # over Django's DATA_UPLOAD_MAX_MEMORY_SIZE of 2.5 MB


@dataclass(frozen=True)
class Raw:
    """A POST body sent as given rather than as the order with changes."""

    body: str | bytes


@dataclass(frozen=True)
class Case:
    surface: str  # api, list, form, preview, preview_post, upload, series
    given: Any
    field: str
    status: int = 400
    settings: dict[str, Any] = field(default_factory=dict)
    message: str = ""  # a fragment the error must contain


def api(changes: Any, name: str, **kw: Any) -> Case:
    return Case("api", changes, name, **kw)


CASES: dict[str, Case] = {
    # ---- REST API: option types (each was a 500 or an accepted wrong type)
    "bands-number": api({"bands": 5}, "bands"),
    "bands-number-list": api({"bands": [5]}, "bands"),
    "bands-object": api({"bands": {}}, "bands"),
    "bands-object-full": api({"bands": {"B02": 1}}, "bands"),
    "bands-true": api({"bands": True}, "bands"),
    "bands-nested-list": api({"bands": [["B02"]]}, "bands"),
    "bands-null-item": api({"bands": ["B02", None]}, "bands"),
    "bands-unknown": api({"bands": ["B02", "B99"]}, "bands"),
    "bands-empty-list": api({"bands": []}, "bands"),
    "bands-commas-only": api({"bands": " , ,"}, "bands"),
    "bands-float": api({"bands": 2.5}, "bands"),
    "aux-number": api({"aux": 5}, "aux"),
    "aux-true": api({"aux": True}, "aux"),
    "aux-number-list": api({"aux": [1]}, "aux"),
    "aux-object": api({"aux": {"valid_obs": 1}}, "aux"),
    "aux-unknown": api({"aux": "nope"}, "aux"),
    "aux-mixed": api({"aux": ["valid_obs", 3]}, "aux"),
    "metadata-number": api({"metadata": 5}, "metadata"),
    "metadata-true": api({"metadata": True}, "metadata"),
    "metadata-null-item": api({"metadata": [None]}, "metadata"),
    "metadata-unknown": api({"metadata": "xml"}, "metadata"),
    "metadata-object": api({"metadata": {"json": True}}, "metadata"),
    "name-number": api({"name": 5}, "name"),
    "name-list": api({"name": ["x"]}, "name"),
    "name-too-long": api({"name": "a" * 81}, "name"),
    "name-path": api({"name": "../etc/passwd"}, "name"),
    "name-unicode": api({"name": "müll"}, "name"),
    "name-space": api({"name": "a b"}, "name"),
    "name-huge": api({"name": "a" * 100_000}, "name"),
    "period-number": api({"period": 5}, "period"),
    "period-unknown": api({"period": "fortnight"}, "period"),
    "period-true": api({"period": True}, "period"),
    "period-list": api({"period": ["month"]}, "period"),
    "resolution-unknown": api({"resolution": 15}, "resolution"),
    "resolution-text": api({"resolution": "abc"}, "resolution"),
    "resolution-true": api({"resolution": True}, "resolution"),
    "resolution-float": api({"resolution": 20.0}, "resolution"),
    "resolution-superscript": api({"resolution": "²⁰"}, "resolution"),
    "resolution-negative": api({"resolution": -20}, "resolution"),
    "resolution-huge": api({"resolution": 10**30}, "resolution"),
    "resolution-list": api({"resolution": [20]}, "resolution"),
    "resolution-null": api({"resolution": None}, "resolution"),
    "crs-unknown": api({"crs": "EPSG:1"}, "crs"),
    "crs-superscript": api({"crs": "EPSG:²"}, "crs"),
    "crs-huge": api({"crs": "EPSG:99999999999999999999"}, "crs"),
    "crs-true": api({"crs": True}, "crs"),
    "crs-float": api({"crs": 4326.5}, "crs"),
    "crs-object": api({"crs": {"epsg": 4326}}, "crs"),
    "crs-geocentric": api({"crs": "EPSG:4978"}, "crs"),
    "crs-negative": api({"crs": "EPSG:-1"}, "crs"),
    "format-number": api({"format": 5}, "format"),
    "format-unknown": api({"format": "exe"}, "format"),
    "format-list": api({"format": ["GTiff"]}, "format"),
    "cloud-buffer-negative": api({"cloud_buffer": -1}, "cloud_buffer"),
    "cloud-buffer-too-big": api({"cloud_buffer": 21}, "cloud_buffer"),
    "cloud-buffer-superscript": api({"cloud_buffer": "²"}, "cloud_buffer"),
    "cloud-buffer-true": api({"cloud_buffer": True}, "cloud_buffer"),
    "cloud-buffer-float": api({"cloud_buffer": 2.5}, "cloud_buffer"),
    "cloud-buffer-exponent": api({"cloud_buffer": "1e3"}, "cloud_buffer"),
    "cloud-buffer-list": api({"cloud_buffer": [1]}, "cloud_buffer"),
    "layout-unknown": api({"layout": "sideways"}, "layout"),
    "layout-number": api({"layout": 5}, "layout"),
    "tiling-unknown": api({"tiling": "hex"}, "tiling"),
    "tiling-number": api({"tiling": 5}, "tiling"),
    "tiling-mgrs-in-lonlat": api({"tiling": "mgrs", "crs": "EPSG:4326"}, "tiling"),
    "option-unknown": api({"colour": "red"}, "colour"),
    "option-proto": api({"__proto__": {"admin": True}}, "__proto__"),
    # ---- REST API: dates outside the Sentinel-2 era, impossible dates and periods
    "start-before-sentinel2": api({"start": "2015-06-22", "period": "day"}, "start",
                                  message="2015-06-23"),
    "start-month-before-sentinel2": api({"start": "2015-05-31"}, "start"),
    "start-custom-before-sentinel2": api({"start": "2014-01-01", "end": "2015-06-22",
                                          "period": "custom"}, "start"),
    "start-1900": api({"start": "1900-01-01"}, "start"),
    "start-year-one-tenday": api({"start": "0001-01-01", "period": "tenday"}, "start"),
    "start-far-future": api({"start": "2999-01-01"}, "start", message="future"),
    "start-last-day": api({"start": "9999-12-31", "period": "year"}, "start"),
    "start-impossible": api({"start": "2023-02-30"}, "start"),
    "start-words": api({"start": "yesterday"}, "start"),
    "start-number": api({"start": 20230601}, "start"),
    "start-true": api({"start": True}, "start"),
    "start-object": api({"start": {"y": 2023}}, "start"),
    "start-empty": api({"start": ""}, "start"),
    "end-missing-custom": api({"period": "custom"}, "end"),
    "end-before-start": api({"period": "custom", "end": "2023-05-01"}, "end"),
    "end-far-future": api({"period": "custom", "end": "3000-01-01"}, "end"),
    "end-number": api({"period": "custom", "end": 5}, "end"),
    "end-not-the-month-end": api({"end": "2023-06-15"}, "end"),
    # ---- REST API: areas of interest
    "aoi-number": api({"aoi": 5}, "aoi"),
    "aoi-true": api({"aoi": True}, "aoi"),
    "aoi-words": api({"aoi": "somewhere nice"}, "aoi"),
    "aoi-broken-json": api({"aoi": "{"}, "aoi"),
    "aoi-deep-json-string": api({"aoi": "[" * 100_000}, "aoi"),
    "aoi-three-numbers": api({"aoi": [1, 2, 3]}, "aoi"),
    "aoi-five-numbers": api({"aoi": [1, 2, 3, 4, 5]}, "aoi"),
    "aoi-text-in-bbox": api({"aoi": [1, 2, 3, "x"]}, "aoi"),
    "aoi-bools-in-bbox": api({"aoi": [True, False, True, True]}, "aoi"),
    "aoi-nested-bbox": api({"aoi": [[1], [2], [3], [4]]}, "aoi"),
    "aoi-zero-width": api({"aoi": [-7.6, 53.2, -7.6, 53.23]}, "aoi"),
    "aoi-beyond-180": api({"aoi": [170, 0, 200, 10]}, "aoi"),
    "aoi-whole-world": api({"aoi": [-180, -90, 180, 90]}, "aoi", message="limit"),
    "aoi-point": api({"aoi": {"type": "Point", "coordinates": [0, 0]}}, "aoi"),
    "aoi-bad-coordinates": api({"aoi": {"type": "Polygon", "coordinates": "x"}}, "aoi"),
    "aoi-huge-coordinates": api({"aoi": {"type": "Polygon", "coordinates": [
        [[0, 0], [1e308, 0], [1e308, 1e308], [0, 0]]]}}, "aoi"),
    "aoi-features-number": api({"aoi": {"type": "FeatureCollection", "features": 5}}, "aoi"),
    "aoi-features-empty": api({"aoi": {"type": "FeatureCollection", "features": []}}, "aoi"),
    "aoi-features-of-numbers": api({"aoi": {"type": "FeatureCollection", "features": [1]}},
                                   "aoi"),
    "aoi-feature-null": api({"aoi": {"type": "Feature", "geometry": None}}, "aoi"),
    "aoi-no-type": api({"aoi": {"coordinates": []}}, "aoi"),
    "aoi-unknown-type": api({"aoi": {"type": "Circle", "radius": 5}}, "aoi"),
    "aoi-collection": api({"aoi": {"type": "GeometryCollection", "geometries": []}}, "aoi"),
    "aoi-bowtie": api({"aoi": BOWTIE}, "aoi"),
    "aoi-tile-unknown": api({"aoi": "99ZZZ"}, "aoi"),
    "aoi-too-many-vertices": api({"aoi": polygon(20_001)}, "aoi", message="20,000"),
    "aoi-over-the-set-vertex-limit": api({"aoi": polygon(60)}, "aoi",
                                         settings={"HUB_MAX_AOI_VERTICES": 50}),
    "aoi-over-the-set-area-limit": api({}, "aoi", settings={"HUB_MAX_AOI_KM2": 1}),
    "aoi-empty-object": api({"aoi": {}}, "aoi"),
    "aoi-null": api({"aoi": None}, "aoi"),
    # ---- REST API: bodies that are not an order
    "body-list": api(Raw("[]"), "body"),
    "body-null": api(Raw("null"), "body"),
    "body-number": api(Raw("5"), "body"),
    "body-string": api(Raw('"order"'), "body"),
    "body-broken": api(Raw("{not json"), "body"),
    "body-nan": api(Raw(json.dumps({**ORDER, "aoi": [math.nan, 0, 1, 1]})), "body"),
    "body-infinity": api(Raw(json.dumps({**ORDER, "resolution": math.inf})), "body"),
    "body-deep": api(Raw("[" * 100_000), "body"),
    "body-not-utf8": api(Raw(b'{"name": "\xff"}'), "body"),
    "body-too-big": api(Raw(json.dumps({**ORDER, "name": "a" * BIG})), "body", status=413),
    "body-big-aoi": api(Raw(json.dumps({**ORDER, "aoi": polygon(120_000)})), "body",
                        status=413),
    # ---- REST API list: page parameters
    "offset-2-to-63": Case("list", {"offset": "9223372036854775808"}, "offset"),
    "offset-negative": Case("list", {"offset": "-1"}, "offset"),
    "offset-words": Case("list", {"offset": "abc"}, "offset"),
    "offset-exponent": Case("list", {"offset": "1e3"}, "offset"),
    "offset-arabic-digits": Case("list", {"offset": "٣"}, "offset"),
    "offset-huge": Case("list", {"offset": "9" * 5000}, "offset"),
    "limit-zero": Case("list", {"limit": "0"}, "limit"),
    "limit-over-the-page": Case("list", {"limit": "101"}, "limit"),
    "limit-negative": Case("list", {"limit": "-5"}, "limit"),
    "limit-fraction": Case("list", {"limit": "1.5"}, "limit"),
    "limit-huge": Case("list", {"limit": "18446744073709551616"}, "limit"),
    # ---- the ordering form: the form's own fields, then parse_spec's checks beside the field
    "form-bands-unknown": Case("form", {"bands": ["B99"]}, "bands", status=200),
    "form-resolution-unknown": Case("form", {"resolution": "15"}, "resolution", status=200),
    "form-cloud-buffer-words": Case("form", {"cloud_buffer": "abc"}, "cloud_buffer",
                                    status=200),
    "form-cloud-buffer-too-big": Case("form", {"cloud_buffer": "99"}, "cloud_buffer",
                                      status=200),
    "form-start-before-sentinel2": Case("form", {"start": "2015-01-01"}, "start", status=200),
    "form-start-future": Case("form", {"start": "2999-01-01"}, "start", status=200),
    "form-whole-world": Case("form", {"aoi": "-180,-90,180,90"}, "aoi", status=200),
    "form-too-many-vertices": Case("form", {"aoi": json.dumps(polygon(20_001))}, "aoi",
                                   status=200),
    "form-deep-json": Case("form", {"aoi": "[" * 50_000}, "aoi", status=200),
    "form-crs-superscript": Case("form", {"crs": "EPSG:²"}, "crs", status=200),
    "form-name-path": Case("form", {"name": "../x"}, "name", status=200),
    "form-body-too-big": Case("form", {"name": "a" * BIG}, "body", status=413),
    # ---- the preview
    "preview-start-1900": Case("preview", {"start": "1900-01-01"}, "start"),
    "preview-start-future": Case("preview", {"start": "2999-01-01"}, "start"),
    "preview-resolution": Case("preview", {"resolution": "²"}, "resolution"),
    "preview-crs": Case("preview", {"crs": "EPSG:1"}, "crs"),
    "preview-aoi-words": Case("preview", {"aoi": "nowhere"}, "aoi"),
    "preview-whole-world": Case("preview", {"aoi": "-180,-90,180,90"}, "aoi"),
    "preview-bands": Case("preview", {"bands": ["B99"]}, "bands"),
    "preview-cloud-buffer": Case("preview", {"cloud_buffer": "-1"}, "cloud_buffer"),
    "preview-period": Case("preview", {"period": "fortnight"}, "period"),
    "periods-aoi-words": Case("periods", {"aoi": "nowhere"}, "aoi"),
    "periods-whole-world": Case("periods", {"aoi": "-180,-90,180,90"}, "aoi"),
    "periods-aoi-point": Case("periods", {"aoi": '{"type": "Point", "coordinates": [0, 0]}'},
                              "aoi"),
    "periods-custom": Case("periods", {"period": "custom"}, "period"),
    "periods-period": Case("periods", {"period": "fortnight"}, "period"),
    "periods-start-words": Case("periods", {"start": "soon"}, "start"),
    "periods-start-month-13": Case("periods", {"start": "2023-13-01"}, "start"),
    "preview-vertices": Case("preview_post", {"aoi": json.dumps(polygon(20_001))}, "aoi"),
    "preview-body-too-big": Case("preview_post", {"aoi": "a" * BIG}, "body", status=413),
    # ---- the AOI upload
    "upload-utf16-dtd": Case("upload", ("a.kml", DTD_KML.encode("utf-16")), "aoi_file",
                             message="DTD"),
    "upload-utf16le-undeclared-bom": Case("upload", ("a.kml", DTD_KML.encode("utf-16-le")),
                                          "aoi_file"),
    "upload-vertices": Case("upload", ("a.geojson", json.dumps(polygon(60)).encode()),
                            "aoi_file", settings={"HUB_MAX_AOI_VERTICES": 50}),
    "upload-whole-world": Case("upload", ("w.geojson", json.dumps({
        "type": "Polygon", "coordinates": [[[-180, -90], [180, -90], [180, 90], [-180, 90],
                                            [-180, -90]]]}).encode()), "aoi_file",
                               message="limit"),
    # ---- the time-series API
    "series-lon-outside": Case("series", {"lon": "200"}, "lon"),
    "series-lon-nan": Case("series", {"lon": "nan"}, "lon"),
    "series-lon-infinite": Case("series", {"lon": "1e999"}, "lon"),
    "series-lon-words": Case("series", {"lon": "east"}, "lon"),
    "series-lat-pole": Case("series", {"lat": "90"}, "lat"),
    "series-lat-missing": Case("series", {"lat": ""}, "lat"),
    "series-start-before-sentinel2": Case("series", {"start": "2014-06-01",
                                                     "end": "2015-06-22"}, "start"),
    "series-start-future": Case("series", {"start": "2999-01-01", "end": "2999-02-01"},
                                "start"),
    "series-end-future": Case("series", {"end": "3000-01-01"}, "end"),
    "series-end-before-start": Case("series", {"end": "2023-05-01"}, "end"),
    "series-range-too-long": Case("series", {"start": "2016-01-01", "end": "2023-06-30"},
                                  "end"),
    "series-start-words": Case("series", {"start": "soon"}, "start"),
    "series-period": Case("series", {"period": "fortnight"}, "period"),
    "series-resolution": Case("series", {"resolution": "15"}, "resolution"),
    "series-resolution-superscript": Case("series", {"resolution": "²"}, "resolution"),
    "series-window": Case("series", {"window": "2"}, "window"),
    "series-bands": Case("series", {"bands": "B99"}, "bands"),
    "series-kind": Case("series", {"kind": "raw"}, "kind"),
    "series-format": Case("series", {"format": "xml"}, "format"),
    "series-quality": Case("series", {"quality": "maybe"}, "quality"),
    "series-extent": Case("series", {"extent": "forever"}, "extent"),
    "series-indices": Case("series", {"indices": "ndvi,greenness"}, "indices"),
}


def send(client, case: Case, token: str):
    """The request of a case, as a browser or a script would send it."""
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
    if case.surface == "api":
        body = case.given.body if isinstance(case.given, Raw) else json.dumps(
            {**ORDER, **case.given})
        return client.post("/api/v1/mosaics", data=body, content_type="application/json",
                           **auth)
    if case.surface == "list":
        return client.get("/api/v1/mosaics", case.given, **auth)
    if case.surface == "series":
        return client.get("/api/v1/timeseries", {**SERIES, **case.given}, **auth)
    if case.surface == "form":
        return client.post("/requests/new/", {**FORM, **case.given})
    if case.surface == "preview":
        return client.get("/requests/preview", {**PREVIEW, **case.given})
    if case.surface == "preview_post":
        return client.post("/requests/preview", {**PREVIEW, **case.given})
    if case.surface == "periods":
        return client.post("/requests/periods", {**PREVIEW, **case.given})
    if case.surface == "upload":
        name, data = case.given
        return client.post("/requests/aoi-upload", {"aoi_file": SimpleUploadedFile(name, data)})
    raise AssertionError(case.surface)


def written(media: Path) -> list[Path]:
    return sorted(media.rglob("*"))


def test_the_table_is_large_and_covers_every_entry_point():
    assert len(CASES) >= 100
    assert {c.surface for c in CASES.values()} == {
        "api", "list", "form", "preview", "preview_post", "periods", "upload", "series"}


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_input_is_refused_naming_the_field_and_changes_nothing(
        name, client, alice, alice_token, hub_dirs, settings,
        django_capture_on_commit_callbacks):
    case = CASES[name]
    for key, value in case.settings.items():
        setattr(settings, key, value)
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = send(client, case, alice_token)
    assert response.status_code == case.status, response.content[:300]
    if case.surface == "form" and case.status == 200:
        errors = response.context["form"].errors
        assert case.field in errors, errors
        assert case.message in " ".join(errors[case.field])
    else:
        assert response["Content-Type"] == "application/json", response.content[:300]
        body = response.json()
        assert body["field"] == case.field, body
        assert body["error"] and case.message in body["error"], body
    assert callbacks == []
    assert MosaicRequest.objects.count() == 0
    assert written(hub_dirs["media"]) == []


@pytest.mark.parametrize("surface", ["api", "form", "preview", "series", "upload"])
def test_the_inputs_the_table_changes_are_accepted_as_they_are(
        surface, client, alice, alice_token, hub_dirs, django_capture_on_commit_callbacks):
    """The table's base inputs pass, so that each row fails for its own change only."""
    client.force_login(alice)
    given = ("a.geojson", json.dumps(polygon(40)).encode()) if surface == "upload" else {}
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = send(client, Case(surface, given, ""), alice_token)
    assert response.status_code in (200, 201, 302), response.content[:300]
    queued = 1 if surface in ("api", "form") else 0
    assert len(callbacks) == queued and MosaicRequest.objects.count() == queued


@pytest.mark.parametrize("changes", [
    {"start": "2015-06-01"},  # June 2015: Sentinel-2's first acquisition is in it
    {"start": "2015-06-23", "period": "day"},
    {"start": "2015-01-01", "period": "custom", "end": "2015-06-23"},
    {"start": date.today().isoformat(), "period": "year",
     "end": date(date.today().year, 12, 31).isoformat()},  # this year so far
])
def test_periods_with_a_day_of_the_sentinel2_era_are_accepted(
        client, alice_token, hub_dirs, changes, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post("/api/v1/mosaics", content_type="application/json",
                               data=json.dumps({**ORDER, **changes}),
                               HTTP_AUTHORIZATION=f"Token {alice_token}")
    assert response.status_code == 201, response.content
    # What was stored is an order again, as it is (a reorder through the API).
    again = client.post("/api/v1/mosaics", content_type="application/json",
                        data=json.dumps(response.json()["options"]),
                        HTTP_AUTHORIZATION=f"Token {alice_token}")
    assert again.status_code == 201, again.content


def test_the_whole_world_is_accepted_where_the_area_limit_allows_it(
        client, alice_token, hub_dirs, settings):
    settings.HUB_MAX_AOI_KM2 = 600_000_000
    response = client.post("/api/v1/mosaics", content_type="application/json",
                           data=json.dumps({**ORDER, "aoi": [-180, -90, 180, 90],
                                            "crs": "EPSG:4326", "resolution": 60}),
                           HTTP_AUTHORIZATION=f"Token {alice_token}")
    # Accepted as an area; refused for the product it would make, which is the true reason.
    assert response.status_code == 400, response.content
    assert response.json()["field"] == "crs" and " GB" in response.json()["error"]
