"""The layout and tiling options through the API, the ordering form and the command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from hub.mosaics.models import MosaicRequest
from tests.conftest import TEST_AOI_BBOX

pytestmark = pytest.mark.django_db

ORDER = {"name": "opts", "aoi": [-7.6, 53.2, -7.55, 53.23], "period": "month",
         "start": "2023-06-01", "resolution": 20, "crs": "EPSG:32629", "format": "GTiff",
         "bands": ["B02", "B03", "B04"]}
# Zone 30 land (Wales), far east of every Sentinel-2 tile of UTM zone 29.
AOI = ",".join(map(str, TEST_AOI_BBOX))
BEYOND_ZONE_29 = [-3.0, 53.0, -2.95, 53.03]
REFUSED = [
    ({"tiling": "mgrs", "crs": "EPSG:4326"}, "tiling", "UTM"),
    ({"tiling": "mgrs", "crs": "EPSG:3035"}, "tiling", "UTM"),
    ({"tiling": "mgrs", "aoi": BEYOND_ZONE_29}, "tiling", "zone 29"),
    ({"tiling": "quadkey"}, "tiling", "unknown tiling"),
    ({"layout": "per_layer", "format": "NetCDF"}, "layout", "NetCDF"),
    ({"layout": "stacked"}, "layout", "unknown layout"),
]


def post(client, token: str, body: dict):
    return client.post("/api/v1/mosaics", data=json.dumps(body),
                       content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}")


def test_the_api_stores_and_serves_both_options(client, alice_token,
                                                django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = post(client, alice_token, {**ORDER, "layout": "per_layer",
                                              "tiling": "mgrs"})
    assert response.status_code == 201, response.content
    assert response.json()["options"]["layout"] == "per_layer"
    req = MosaicRequest.objects.get()
    assert (req.spec.layout, req.spec.tiling) == ("per_layer", "mgrs")
    assert (req.spec.layout, req.spec.tiling) == ("per_layer", "mgrs")


def test_defaults_are_one_multiband_product(client, alice_token,
                                            django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = post(client, alice_token, ORDER)
    options = response.json()["options"]
    assert (options["layout"], options["tiling"]) == ("multiband", "single")


@pytest.mark.parametrize(("changes", "field", "reason"), REFUSED)
def test_the_api_refuses_bad_combinations_naming_the_field(
        client, alice_token, django_capture_on_commit_callbacks, changes, field, reason):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post(client, alice_token, {**ORDER, **changes})
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field
    assert reason in response.json()["error"]
    assert MosaicRequest.objects.count() == 0 and callbacks == []


@pytest.mark.parametrize(("changes", "field", "reason"), REFUSED[:3] + REFUSED[4:5])
def test_the_form_shows_the_error_beside_the_field(client, alice, changes, field, reason):
    client.force_login(alice)
    data = {**ORDER, "aoi": ",".join(str(v) for v in ORDER["aoi"]), "metadata": ["json"],
            "cloud_buffer": 0, "layout": "multiband", "tiling": "single", **changes}
    if isinstance(data["aoi"], list):
        data["aoi"] = ",".join(str(v) for v in data["aoi"])
    response = client.post("/requests/new/", data)
    assert response.status_code == 200
    form = response.context["form"]
    assert list(form.errors) == [field] and reason in form.errors[field][0]
    assert f'data-field="{field}"'.encode() in response.content
    assert MosaicRequest.objects.count() == 0


def test_the_form_offers_both_choices_and_orders_them(client, alice,
                                                      django_capture_on_commit_callbacks):
    client.force_login(alice)
    page = client.get("/requests/new/").content.decode()
    assert 'name="layout"' in page and 'value="per_layer"' in page
    assert 'name="tiling"' in page and 'value="mgrs"' in page
    data = {**ORDER, "aoi": ",".join(str(v) for v in ORDER["aoi"]), "metadata": ["json"],
            "cloud_buffer": 0, "layout": "per_layer", "tiling": "mgrs"}
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post("/requests/new/", data)
    assert response.status_code == 302, response.context["form"].errors
    assert (MosaicRequest.objects.get().spec.layout, MosaicRequest.objects.get().spec.tiling) == (
        "per_layer", "mgrs")


def test_the_openapi_document_lists_both_options(client):
    schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]["Order"]
    assert schema["properties"]["layout"]["enum"] == ["multiband", "per_layer"]
    assert schema["properties"]["tiling"]["enum"] == ["single", "mgrs"]


def test_the_mosaic_command_writes_tile_subfolders(hub_dirs, tmp_path: Path, capsys):
    call_command("mosaic", f"--aoi={AOI}", "--start=2023-06-01", "--period=month",
                 "--resolution=60", "--crs=EPSG:32629", "--bands=B02,B03,B04",
                 "--layout=per_layer", "--tiling=mgrs", "--name=cmd", f"--out={tmp_path}")
    folder = Path(capsys.readouterr().out.splitlines()[0])
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == ["29UNU", "29UPU"]
    assert (folder / "29UNU" / "B03_M60_20230601_29UNU.tif").is_file()


def test_the_mosaic_command_names_the_refused_option(hub_dirs, tmp_path: Path):
    with pytest.raises(CommandError, match="--tiling"):
        call_command("mosaic", f"--aoi={AOI}", "--start=2023-06-01", "--resolution=60",
                     "--crs=EPSG:4326", "--bands=B04", "--tiling=mgrs",
                     f"--out={tmp_path / 'out'}")
    assert not (tmp_path / "out").exists()
