"""One order spec crosses the system: form, REST API and `manage.py mosaic` read the same
options into the same spec; the request stores the spec's own JSON; the worker reads it back."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from compositing.orders.spec import ORDER_OPTIONS, MosaicSpec, parse_spec
from hub.mosaics.management.commands.mosaic import Command
from hub.mosaics.models import MosaicRequest
from hub.mosaics.openapi import openapi_document
from tests.conftest import TEST_AOI_BBOX

pytestmark = pytest.mark.django_db

ORDER = {"name": "once", "aoi": list(TEST_AOI_BBOX), "start": "2023-06-01", "period": "month",
         "resolution": 60, "crs": "EPSG:32629", "bands": ["B04", "B03", "B02"]}


def _post(client, token, options):
    return client.post("/api/v1/mosaics", data=json.dumps(options),
                       content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}")


def test_the_stored_request_is_the_specs_own_json(client, alice_token,
                                                  django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = _post(client, alice_token, ORDER)
    assert response.status_code == 201, response.content
    req = MosaicRequest.objects.get()
    expected = parse_spec(ORDER)
    assert req.options == expected.to_json()
    assert req.spec == expected  # read back without a second validation
    assert response.json()["options"] == expected.to_json()


def test_inspire_metadata_is_ordered_by_default_everywhere(client, alice_token,
                                                           django_capture_on_commit_callbacks):
    assert parse_spec(ORDER).metadata == ("json", "inspire")
    with django_capture_on_commit_callbacks(execute=False):
        _post(client, alice_token, ORDER)
    assert MosaicRequest.objects.get().spec.metadata == ("json", "inspire")
    order = openapi_document("http://testserver/api/v1")["components"]["schemas"]["Order"]
    assert order["properties"]["metadata"]["default"] == ["json", "inspire"]
    client.force_login(MosaicRequest.objects.get().owner)
    page = client.get("/requests/new/")
    assert page.context["form"]["metadata"].value() == ["json", "inspire"]


def test_an_unknown_option_is_refused_naming_it(client, alice_token):
    response = _post(client, alice_token, {**ORDER, "resoluton": 20})
    assert response.status_code == 400
    assert response.json()["field"] == "resoluton"
    assert MosaicRequest.objects.count() == 0


def test_the_api_and_the_command_line_offer_the_same_options():
    order = openapi_document("http://testserver/api/v1")["components"]["schemas"]["Order"]
    assert list(order["properties"]) == list(ORDER_OPTIONS)
    parser = Command().create_parser("manage.py", "mosaic")
    flags = {a.dest for a in parser._actions if a.option_strings}
    assert set(ORDER_OPTIONS) <= flags
    assert order["required"] == [n for n, o in ORDER_OPTIONS.items() if o.required]


def test_the_command_writes_inspire_metadata_and_refuses_bad_options(hub_dirs, tmp_path: Path,
                                                                     capsys):
    aoi = ",".join(map(str, TEST_AOI_BBOX))
    call_command("mosaic", f"--aoi={aoi}", "--start=2023-06-01", "--resolution=60",
                 "--crs=EPSG:32629", "--bands=B04", "--metadata=json,inspire",
                 "--format=zarr", "--name=cli", f"--out={tmp_path}")
    folder = Path(capsys.readouterr().out.splitlines()[0])
    names = sorted(p.name for p in folder.iterdir())
    assert "inspire.xml" in names and "bands_M60_20230601_cli.zarr.zip" in names
    ET.parse(folder / "inspire.xml")
    item = json.loads((folder / "stac_item.json").read_text())
    asset = item["assets"]["bands"]
    assert asset["href"] == "bands_M60_20230601_cli.zarr.zip" and asset["roles"] == ["data"]
    assert asset["type"] == "application/zip"
    assert [b["nodata"] for b in asset["raster:bands"]] == [65535]
    meta = json.loads((folder / "metadata.json").read_text())
    assert {b["File_format"] for b in meta["Band_interpretations"]} == {"Zarr"}
    with pytest.raises(CommandError, match="--layout: a Zarr product cannot have layout"):
        call_command("mosaic", f"--aoi={aoi}", "--start=2023-06-01", "--resolution=60",
                     "--crs=EPSG:32629", "--bands=B04", "--format=Zarr",
                     "--layout=per_layer", f"--out={tmp_path}")


def test_older_requests_migrate_to_the_specs_json(transactional_db, django_user_model):
    executor = MigrationExecutor(connection)
    executor.migrate([("mosaics", "0004_expiry_of_older_products")])
    old_apps = executor.loader.project_state(
        [("mosaics", "0004_expiry_of_older_products")]).apps
    owner = old_apps.get_model("auth", "User").objects.create(username="carol")
    aoi = {"type": "Polygon", "coordinates": [[[-7.46, 52.73], [-7.43, 52.73],
                                               [-7.43, 52.76], [-7.46, 52.73]]]}
    old_apps.get_model("mosaics", "MosaicRequest").objects.create(
        owner_id=owner.pk, name="before", aoi=aoi, period_type="quarter",
        start_date="2023-04-01", end_date="2023-06-30", resolution=20, crs_epsg=32629,
        file_format="JP2", bands=["B04", "B08"], aux_layers=["valid_obs"],
        metadata_options=["json"], cloud_buffer=2, layout="multiband", tiling="single")
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    req = MosaicRequest.objects.get(name="before")
    assert req.spec == MosaicSpec.from_json({
        "aoi": aoi, "start": "2023-04-01", "end": "2023-06-30", "period": "quarter",
        "resolution": 20, "crs": "EPSG:32629", "format": "JP2", "bands": ["B04", "B08"],
        "aux": ["valid_obs"], "metadata": ["json"], "name": "before", "cloud_buffer": 2,
        "layout": "multiband", "tiling": "single"})
    assert req.spec.to_json() == req.options


def test_the_form_offers_every_registry_entry_under_its_own_name():
    from compositing.products.formats import PRODUCT_FORMATS
    from compositing.products.layers import AUX_LAYERS
    from hub.mosaics.forms import OrderForm

    form = OrderForm()
    aux = dict(form.fields["aux"].choices)
    assert list(aux) == list(AUX_LAYERS)
    assert aux["source_index"].startswith("source_index: ")
    assert [v for v, _ in form.fields["format"].choices] == list(PRODUCT_FORMATS)
    assert dict(form.fields["layout"].choices)["multiband"] == "One multi-band file for the bands"
