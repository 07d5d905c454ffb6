"""Spectral index layers hold the index of the chosen observation: computed here again,
independently, from the product's own reflectance bands."""

from __future__ import annotations

from pathlib import Path

import netCDF4
import numpy as np
import pytest
import rasterio
import xarray as xr

from compositing.orders.spec import parse_spec
from compositing.pipeline import run_mosaic
from compositing.products.indices import INDICES
from compositing.products.layers import AUX_LAYERS, Source
from hub.mosaics.services import mosaic_settings
from tests.conftest import TEST_AOI_BBOX

pytestmark = pytest.mark.django_db

BANDS = ["B02", "B03", "B04", "B08", "B11", "B12"]
# The formulas written out again, over reflectance by band.
EXPECTED = {
    "ndvi": lambda r: (r["B08"] - r["B04"]) / (r["B08"] + r["B04"]),
    "evi": lambda r: 2.5 * (r["B08"] - r["B04"]) / (r["B08"] + 6 * r["B04"] - 7.5 * r["B02"] + 1),
    "savi": lambda r: 1.5 * (r["B08"] - r["B04"]) / (r["B08"] + r["B04"] + 0.5),
    "ndwi": lambda r: (r["B03"] - r["B08"]) / (r["B03"] + r["B08"]),
    "mndwi": lambda r: (r["B03"] - r["B11"]) / (r["B03"] + r["B11"]),
    "ndmi": lambda r: (r["B08"] - r["B11"]) / (r["B08"] + r["B11"]),
    "nbr": lambda r: (r["B08"] - r["B12"]) / (r["B08"] + r["B12"]),
    "ndsi": lambda r: (r["B03"] - r["B11"]) / (r["B03"] + r["B11"]),
}


def order(tmp_path: Path, fmt: str, **changes) -> Path:
    spec = parse_spec({"aoi": list(TEST_AOI_BBOX), "start": "2023-06-01", "period": "month",
                       "resolution": 20, "crs": "UTM", "format": fmt, "bands": BANDS,
                       "aux": [*INDICES, "valid_obs"], "name": "idx", **changes})
    return run_mosaic(spec, mosaic_settings(), tmp_path, f"i{fmt}").folder


def test_the_registry_has_every_index_the_issue_names():
    assert set(INDICES) == set(EXPECTED)
    for name in INDICES:
        layer = AUX_LAYERS[name]
        assert layer.source is Source.INDEX and layer.inputs == INDICES[name].inputs
        assert (layer.dtype, layer.scale, layer.nodata) == ("int16", 1e-4, -32768)


def test_each_index_is_the_index_of_the_products_own_bands(hub_dirs, tmp_path):
    folder = order(tmp_path, "GTiff")
    with rasterio.open(next(folder.glob("bands_*.tif"))) as src:
        refl = {b: np.where(src.read(i + 1) == 65535, np.nan, src.read(i + 1) * 1e-4)
                for i, b in enumerate(BANDS)}
    checked = 0
    for name, formula in EXPECTED.items():
        with rasterio.open(next(folder.glob(f"{name}_*.tif"))) as src:
            assert src.dtypes[0] == "int16" and src.nodata == -32768
            assert src.scales[0] == pytest.approx(1e-4)
            stored = src.read(1)
        with np.errstate(divide="ignore", invalid="ignore"):
            want = formula(refl)
        have = stored != -32768
        assert (have == np.isfinite(want)).all(), name
        # The bands are stored at 1e-4: the index of the stored bands is within a few 1e-4
        # of the index of the unrounded reflectance.
        np.testing.assert_allclose(stored[have] * 1e-4, want[have], atol=1.5e-3, err_msg=name)
        checked += int(have.sum())
    assert checked > 8 * 1000


def test_netcdf_holds_the_same_indices_with_their_metadata(hub_dirs, tmp_path):
    tif = order(tmp_path / "t", "GTiff")
    nc = order(tmp_path / "n", "NetCDF")
    with xr.open_dataset(next(nc.glob("*.nc"))) as ds:
        for name in INDICES:
            var = ds[name]
            assert INDICES[name].formula in var.attrs["long_name"]
            # The range the formula can take, in stored values (CF); EVI has none.
            bounds = INDICES[name].valid_range
            with netCDF4.Dataset(next(nc.glob("*.nc"))) as raw:
                attrs = raw[name].ncattrs()
                if bounds is None:
                    assert "valid_min" not in attrs and "valid_max" not in attrs
                else:
                    assert raw[name].valid_min.dtype == np.int16
                    assert (int(raw[name].valid_min), int(raw[name].valid_max)) == (
                        round(bounds[0] * 1e4), round(bounds[1] * 1e4))
            with rasterio.open(next(tif.glob(f"{name}_*.tif"))) as src:
                stored = src.read(1)
            values = var.values.squeeze()
            np.testing.assert_allclose(values, np.where(stored == -32768, np.nan,
                                                        stored * 1e-4), atol=1e-6)


def test_the_inspire_record_names_the_ordered_indices_as_keywords(hub_dirs, tmp_path):
    folder = order(tmp_path, "GTiff", aux=["ndvi", "nbr"], metadata=["inspire"])
    record = (folder / "inspire.xml").read_text(encoding="utf-8")
    assert "Normalised Difference Vegetation Index (NDVI)" in record
    assert "Normalised Burn Ratio (NBR)" in record
    assert "(EVI)" not in record
