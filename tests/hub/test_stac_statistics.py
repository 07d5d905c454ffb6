"""A product's STAC Item gives each layer's statistics, read back from the delivered files:
checked here against numpy over each file, opened with its own library."""

from __future__ import annotations

import json
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import rasterio

from compositing.orders.spec import MosaicSpec, parse_spec
from compositing.pipeline import run_mosaic
from compositing.products.indices import INDICES
from compositing.products.metadata import product_layers
from hub.mosaics.services import mosaic_settings
from tests.conftest import TEST_AOI_BBOX
from tests.hub.test_product_layouts import _tile_crossing_bbox
from tests.hub.test_stac_schema import errors as stac_errors

pytestmark = pytest.mark.django_db

BANDS = ["B04", "B08"]
AUX = ["ndvi", "evi", "valid_obs", "acquisition_date"]
# The raster extension v1.1 Statistics Object admits these fields and no other.
STATISTICS = {"minimum", "maximum", "mean", "stddev", "valid_percent"}


def spec_of(fmt: str, aoi: list[float] | None = None, **changes) -> MosaicSpec:
    return parse_spec({"aoi": aoi or list(TEST_AOI_BBOX), "start": "2023-06-01",
                       "period": "month", "resolution": 20, "crs": "UTM", "format": fmt,
                       "bands": BANDS, "aux": AUX, "name": "stats", **changes})


def order(tmp_path: Path, fmt: str, aoi: list[float] | None = None, **changes) -> Path:
    return run_mosaic(spec_of(fmt, aoi, **changes), mosaic_settings(), tmp_path,
                      f"s{fmt}").folder


def item_of(folder: Path) -> dict:
    item = json.loads((folder / "stac_item.json").read_text())
    assert stac_errors("item", item) == []
    return item


def expected(physical: np.ndarray, pixels: int) -> dict[str, float]:
    """The statistics of the valid physical values of a layer of `pixels` pixels."""
    return {"minimum": physical.min(), "maximum": physical.max(), "mean": physical.mean(),
            "stddev": physical.std(), "valid_percent": 100 * physical.size / pixels}


def of_geotiff(path: Path, band: int = 1) -> dict[str, float]:
    """From the file's own nodata, scale and offset."""
    with rasterio.open(path) as src:
        stored = src.read(band)
        nodata, scale, offset = src.nodata, src.scales[band - 1], src.offsets[band - 1]
    return expected(stored[stored != nodata] * scale + offset, stored.size)


def of_netcdf(path: Path, name: str) -> dict[str, float]:
    """netCDF4's own decoding: _Unsigned, _FillValue, scale_factor and add_offset."""
    with netCDF4.Dataset(path) as ds:
        values = ds[name][0]
    return expected(values.compressed().astype(np.float64), values.size)


def assert_statistics(have: dict[str, float], want: dict[str, float]) -> None:
    assert set(have) == STATISTICS
    assert have == pytest.approx(want, rel=1e-9, abs=1e-12)


def test_geotiff_statistics_are_those_of_each_delivered_file(hub_dirs, tmp_path):
    folder = order(tmp_path, "GTiff")
    assets = item_of(folder)["assets"]
    for i, band in enumerate(assets["bands"]["raster:bands"], start=1):
        assert_statistics(band["statistics"], of_geotiff(folder / assets["bands"]["href"], i))
    for name in AUX:
        (band,) = assets[name]["raster:bands"]
        assert_statistics(band["statistics"], of_geotiff(folder / assets[name]["href"]))
    ndvi = assets["ndvi"]["raster:bands"][0]["statistics"]
    assert -1 <= ndvi["minimum"] < ndvi["mean"] < ndvi["maximum"] <= 1
    assert 0 < ndvi["valid_percent"] < 100  # the grid's corners lie outside the ordered area


def test_netcdf_statistics_are_per_variable_in_the_assets_band_order(hub_dirs, tmp_path):
    folder = order(tmp_path, "NetCDF")
    asset = item_of(folder)["assets"]["bands"]
    names = [band["name"] for band in asset["eo:bands"]]
    assert names == [layer.name for _, layer, _ in product_layers(spec_of("NetCDF"))]
    assert len(asset["raster:bands"]) == len(names) == len(BANDS) + len(AUX)
    for name, band in zip(names, asset["raster:bands"], strict=True):
        assert_statistics(band["statistics"], of_netcdf(folder / asset["href"], name))
        # The type a reader gets: GDAL's, which reads `_Unsigned` (valid_obs is int16 here).
        with rasterio.open(f'NETCDF:"{folder / asset["href"]}":{name}') as src:
            assert band["data_type"] == src.dtypes[0], name
    assert [b["data_type"] for b in asset["raster:bands"]][names.index("valid_obs")] == "int16"


@pytest.mark.parametrize("fmt", ["JP2", "Zarr"])
def test_other_formats_give_the_geotiff_statistics(hub_dirs, tmp_path, fmt):
    def by_layer(item: dict) -> dict[str, dict[str, float]]:
        return {eo["name"]: raster["statistics"] for asset in item["assets"].values()
                for eo, raster in zip(asset.get("eo:bands", []), asset.get("raster:bands", []),
                                      strict=True)}

    tif = by_layer(item_of(order(tmp_path / "tif", "GTiff", aux=AUX[:3])))
    other = by_layer(item_of(order(tmp_path / fmt, fmt, aux=AUX[:3])))  # JP2 holds no int32
    assert set(other) == set(tif) == {*BANDS, *AUX[:3]}
    for name, stats in tif.items():
        assert other[name] == pytest.approx(stats, rel=1e-12), name


def test_each_tile_subfolder_file_has_its_own_statistics(hub_dirs, tmp_path):
    folder = order(tmp_path, "NetCDF", aoi=_tile_crossing_bbox(), tiling="mgrs")
    assets = item_of(folder)["assets"]
    valid = []
    for tile in ("29UNU", "29UPU"):
        asset = assets[f"bands_{tile}"]
        ndvi = asset["raster:bands"][[b["name"] for b in asset["eo:bands"]].index("ndvi")]
        assert_statistics(ndvi["statistics"], of_netcdf(folder / asset["href"], "ndvi"))
        valid.append(ndvi["statistics"]["valid_percent"])
    assert valid[0] != valid[1]  # 29UPU's part covers less of the area than 29UNU's


def test_index_bands_say_what_index_they_hold_and_from_which_bands(hub_dirs, tmp_path):
    assets = item_of(order(tmp_path, "GTiff"))["assets"]
    for name in ("ndvi", "evi"):
        index = INDICES[name]
        (eo,) = assets[name]["eo:bands"]
        assert eo["name"] == name and set(eo) == {"name", "description"}  # no wavelength
        assert index.title in eo["description"] and index.formula in eo["description"]
        assert ", ".join(index.inputs) in eo["description"]
        (raster,) = assets[name]["raster:bands"]
        assert (raster["data_type"], raster["scale"], raster["nodata"]) == ("int16", 1e-4, -32768)
        assert "unit" not in raster  # an index is dimensionless
    assert assets["acquisition_date"]["raster:bands"][0]["unit"] == "days since 1970-01-01"
    assert [b["common_name"] for b in assets["bands"]["eo:bands"]] == ["red", "nir"]
