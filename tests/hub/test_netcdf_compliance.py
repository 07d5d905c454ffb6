"""A NetCDF product from the pipeline against compliance-checker (cf:1.8, acdd:1.3)."""

from __future__ import annotations

import json

import netCDF4
import pytest

from compositing.layers import AUX_LAYER_STORAGE
from compositing.order import parse_spec
from compositing.pipeline import run_mosaic
from hub.mosaics.services import mosaic_settings
from tests.compositing.test_netcdf import _compliance
from tests.conftest import TEST_AOI_BBOX

pytestmark = pytest.mark.django_db


def test_every_layer_passes_but_the_one_cf_has_no_name_for(hub_dirs, tmp_path, monkeypatch):
    spec = parse_spec({"aoi": list(TEST_AOI_BBOX), "start": "2023-06-01", "period": "month",
                       "resolution": 20, "crs": "EPSG:32629", "format": "NetCDF",
                       "bands": ["B02", "B03", "B04", "B08"], "aux": list(AUX_LAYER_STORAGE),
                       "name": "cc"})
    folder = run_mosaic(spec, mosaic_settings(), tmp_path, "cc").folder
    path = next(folder.glob("*.nc"))
    failures, report = _compliance(path, monkeypatch)
    print(report)
    assert failures["cf:1.8"] == [], report
    # ACDD asks every data variable for a standard name; CF has none for these (each variable
    # says why in its comment).
    unnamed = {"medoid_mos", "quality_cloud_confidence", "quality_snow_confidence"}
    assert {name.split('"')[1] for name, _ in failures["acdd:1.3"]} == unnamed & set(spec.aux)
    assert all(msgs == ["standard_name"] for _, msgs in failures["acdd:1.3"]), report
    sources = json.loads((folder / "metadata.json").read_text())["Source_product_list"]
    with netCDF4.Dataset(path) as ds:
        assert all("CF" in ds[name].comment for name in unnamed & set(spec.aux))
        index = ds["source_index"]
        assert index.flag_meanings.split() == [s["acquisition"] for s in sources.values()]
        assert list(index.flag_values) == [int(k) for k in sources]
