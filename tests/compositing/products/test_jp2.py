"""Lossless JPEG 2000, one band a file, and which storage types JPEG 2000 can hold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import rasterio.shutil
from rasterio._err import CPLE_BaseError  # what rasterio.shutil.copy raises on GDAL errors
from rasterio.errors import RasterioError

from compositing.grid import OutputGrid
from compositing.products.jp2 import JP2_OPTIONS, jp2_supports, write_jp2
from compositing.products.layers import AUX_LAYERS, reflectance_layer
from tests.compositing.products.intermediates import UTM_GRID, WGS84_GRID, write_layers

BANDS = ("B02", "B03", "B04")
@pytest.fixture(params=[UTM_GRID, WGS84_GRID], ids=["utm-1300x900", "wgs84-700x520"])
def grid(request: pytest.FixtureRequest) -> OutputGrid:
    return request.param


@pytest.mark.parametrize("dtype", ["uint8", "int8", "uint16", "int16", "uint32", "int32",
                                   "float32"])
def test_jp2_supports_what_the_driver_round_trips(tmp_path: Path, dtype: str) -> None:
    integer = np.dtype(dtype).kind in "iu"
    low, high = (np.iinfo(dtype).min, np.iinfo(dtype).max) if integer else (-1.0, 1.0)
    values = np.linspace(low, high, 64 * 48).reshape(1, 48, 64).astype(dtype)
    src, dst = tmp_path / "src.tif", tmp_path / "dst.jp2"
    with rasterio.open(src, "w", driver="GTiff", width=64, height=48, count=1, dtype=dtype,
                       crs="EPSG:32631", transform=UTM_GRID.transform) as ds:
        ds.write(values)
    try:
        rasterio.shutil.copy(src, dst, driver="JP2OpenJPEG", **JP2_OPTIONS)
        with rasterio.open(dst) as ds:
            exact = ds.dtypes == (dtype,) and bool((ds.read() == values).all())
    except (RasterioError, CPLE_BaseError):  # int32/uint32 are written, but never read back
        exact = False
    assert jp2_supports(dtype) == exact


def test_product_layers_allowed_in_jp2() -> None:
    refused = {name for name, layer in AUX_LAYERS.items() if not jp2_supports(layer.dtype)}
    assert refused == {"acquisition_date"}
    assert jp2_supports(reflectance_layer("B8A").dtype)


def test_jp2_is_lossless_and_georeferenced(tmp_path: Path, grid: OutputGrid) -> None:
    src = tmp_path / "bands.tif"
    values = write_layers(src, grid, [reflectance_layer(b) for b in BANDS])
    for index, band in enumerate(BANDS, start=1):
        dst = tmp_path / f"{band}_M20_20240701_test.jp2"
        write_jp2(src, dst, index)
        with rasterio.open(dst) as ds:
            assert ds.driver == "JP2OpenJPEG"
            assert ds.tags(ns="IMAGE_STRUCTURE")["COMPRESSION_REVERSIBILITY"] == "LOSSLESS"
            assert ds.crs == grid.crs
            assert ds.transform == grid.transform
            assert (ds.count, ds.dtypes) == (1, ("uint16",))
            np.testing.assert_array_equal(ds.read(1), values[index - 1])
            # from the .aux.xml sidecar
            assert ds.nodata == 65535
            assert ds.descriptions == (band,)
            assert (ds.scales, ds.offsets, ds.units) == ((1e-4,), (0.0,), ("1",))
            assert ds.tags(1)["name"] == band


def test_jp2_georeferencing_lives_in_the_file(tmp_path: Path, grid: OutputGrid) -> None:
    src = tmp_path / "bands.tif"
    write_layers(src, grid, [reflectance_layer(b) for b in BANDS])
    dst = tmp_path / "B03.jp2"
    write_jp2(src, dst, 2)
    sidecar = tmp_path / "B03.jp2.aux.xml"
    assert sidecar.exists()
    sidecar.unlink()
    for source in ("GEOJP2", "GMLJP2"):
        with rasterio.open(dst, GEOREF_SOURCES=source) as ds:
            assert ds.crs == grid.crs, source
            assert ds.transform.almost_equals(grid.transform, precision=1e-9), source
    with rasterio.open(dst) as ds:
        assert ds.transform == grid.transform
        assert ds.nodata is None  # nodata needs the sidecar


def test_aux_layer_jp2_keeps_nodata(tmp_path: Path) -> None:
    layer = AUX_LAYERS["source_index"]
    src = tmp_path / "source_index.tif"
    values = write_layers(src, UTM_GRID, [layer])
    dst = tmp_path / "source_index.jp2"
    write_jp2(src, dst, 1)
    with rasterio.open(dst) as ds:
        assert (ds.dtypes, ds.nodata) == (("int16",), -1)
        np.testing.assert_array_equal(ds.read(1), values[0])
        assert (ds.read(1) == -1).sum() == 80 * 130


def test_stale_sidecar_is_replaced(tmp_path: Path) -> None:
    src = tmp_path / "valid_obs.tif"
    write_layers(src, WGS84_GRID, [AUX_LAYERS["valid_obs"]])
    dst = tmp_path / "valid_obs.jp2"
    (tmp_path / "valid_obs.jp2.aux.xml").write_text(
        '<PAMDataset><PAMRasterBand band="1"><NoDataValue>7</NoDataValue>'
        "</PAMRasterBand></PAMDataset>")
    write_jp2(src, dst, 1)
    with rasterio.open(dst) as ds:
        assert ds.nodata == 255


def test_int32_layer_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "acquisition_date.tif"
    write_layers(src, WGS84_GRID, [AUX_LAYERS["acquisition_date"]])
    dst = tmp_path / "acquisition_date.jp2"
    with pytest.raises(ValueError, match="int32"):
        write_jp2(src, dst, 1)
    assert not dst.exists()


@pytest.mark.parametrize("band_index", [0, 4])
def test_band_index_out_of_range(tmp_path: Path, band_index: int) -> None:
    src = tmp_path / "bands.tif"
    write_layers(src, WGS84_GRID, [reflectance_layer(b) for b in BANDS])
    with pytest.raises(ValueError, match="outside"):
        write_jp2(src, tmp_path / "x.jp2", band_index)
