"""The confidence and angle layers are offered by name in the REST API and the mosaic command,
and a demo-archive product holds them (the chosen observation's values, S2GM storage)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from django.core.management import call_command

from compositing.products.layers import ANGLE_LAYERS, AUX_LAYERS, CONFIDENCE_LAYERS
from hub.mosaics.models import MosaicRequest
from tests.conftest import TEST_AOI_BBOX

pytestmark = pytest.mark.django_db

NEW_LAYERS = [*CONFIDENCE_LAYERS, *ANGLE_LAYERS]
ORDER = {"name": "aux", "aoi": list(TEST_AOI_BBOX), "period": "month", "start": "2023-06-01",
         "resolution": 60, "crs": "EPSG:32629", "format": "GTiff", "bands": ["B04"]}


def test_the_api_accepts_the_new_layer_names(client, alice_token,
                                             django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post("/api/v1/mosaics", data=json.dumps({**ORDER, "aux": NEW_LAYERS}),
                               content_type="application/json",
                               HTTP_AUTHORIZATION=f"Token {alice_token}")
    assert response.status_code == 201, response.content
    assert MosaicRequest.objects.get().spec.aux == tuple(NEW_LAYERS)


def test_the_mosaic_command_writes_the_new_layers(hub_dirs, tmp_path: Path, capsys):
    aoi = ",".join(map(str, TEST_AOI_BBOX))
    call_command("mosaic", f"--aoi={aoi}", "--start=2023-06-01", "--period=month",
                 "--resolution=60", "--crs=EPSG:32629", "--bands=B04",
                 f"--aux=source_index,{','.join(NEW_LAYERS)}", "--name=aux", f"--out={tmp_path}")
    folder = Path(capsys.readouterr().out.splitlines()[0])
    with rasterio.open(next(folder.glob("source_index_*.tif"))) as src:
        chosen = src.read(1) >= 0
    assert chosen.any()
    values = {}
    for name in NEW_LAYERS:
        with rasterio.open(next(folder.glob(f"{name}_*.tif"))) as src:
            stored = src.read(1)
            storage = AUX_LAYERS[name]
            assert (src.dtypes[0], src.nodata) == (storage.dtype, storage.nodata)
        assert (stored[chosen] != storage.nodata).all()
        assert (stored[~chosen] == storage.nodata).all()
        values[name] = stored[chosen] * storage.scale
    assert (values["quality_cloud_confidence"] <= 100).all()
    assert (values["quality_snow_confidence"] <= 100).all()
    # June, 11:54 UTC, 52.7 N: the sun 30-32 degrees from the zenith, azimuth ~165 degrees.
    assert ((values["sun_zenith"] > 29) & (values["sun_zenith"] < 33)).all()
    assert ((values["sun_azimuth"] > 155) & (values["sun_azimuth"] < 175)).all()
    assert ((values["view_zenith_mean"] >= 0) & (values["view_zenith_mean"] < 11)).all()
    assert np.isin(np.round(values["view_azimuth_mean"]), (103, -77)).all()
