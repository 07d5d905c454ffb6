"""A NetCDF product from the pipeline against compliance-checker (cf:1.8, acdd:1.3)."""

from __future__ import annotations

import json

import netCDF4
import pytest

from compositing.orders.spec import parse_spec
from compositing.pipeline import run_mosaic
from compositing.products.layers import AUX_LAYERS, Source
from hub.mosaics.services import mosaic_settings
from tests.compositing.products.test_netcdf import _compliance
from tests.conftest import TEST_AOI_BBOX

pytestmark = pytest.mark.django_db


@pytest.mark.heavy
def test_every_layer_passes_without_high_priority_failures(hub_dirs, tmp_path, monkeypatch):
    spec = parse_spec({"aoi": list(TEST_AOI_BBOX), "start": "2023-06-01", "period": "month",
                       "resolution": 20, "crs": "EPSG:32629", "format": "NetCDF",
                       "bands": ["B02", "B03", "B04", "B08"], "aux": list(AUX_LAYERS),
                       "name": "cc"})
    folder = run_mosaic(spec, mosaic_settings(), tmp_path, "cc").folder
    path = next(folder.glob("*.nc"))
    failures, report = _compliance(path, monkeypatch)
    print(report)
    # ACDD recommends a CF standard name for every variable; CF names no spectral index but
    # NDVI, and a name of our own would fail CF's check of the table: those are left without.
    unnamed_indices = {f'"{n}"' for n, layer in AUX_LAYERS.items()
                       if layer.source is Source.INDEX and not layer.standard_name}
    assert len(unnamed_indices) == 7
    failures["acdd:1.3"] = [(check, msgs) for check, msgs in failures["acdd:1.3"]
                            if not (msgs == ["standard_name"]
                                    and any(v in check for v in unnamed_indices))]
    assert failures == {"cf:1.8": [], "acdd:1.3": []}, report
    with netCDF4.Dataset(path) as ds:
        assert ds["ndvi"].standard_name == "normalized_difference_vegetation_index"
    # CF names no quantity like these; they are quality information of the bands, and say so.
    unnamed = {"medoid_mos", "quality_cloud_confidence", "quality_snow_confidence"}
    sources = json.loads((folder / "metadata.json").read_text())["Source_product_list"]
    with netCDF4.Dataset(path) as ds:
        for name in unnamed:
            assert ds[name].standard_name == "quality_flag" and "CF" in ds[name].comment
            assert name in ds["B04"].ancillary_variables.split()
        index = ds["source_index"]
        assert index.flag_meanings.split() == [s["acquisition"] for s in sources.values()]
        assert list(index.flag_values) == [int(k) for k in sources]
