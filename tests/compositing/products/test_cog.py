"""Cloud-Optimised GeoTIFFs from the pipeline's intermediate GeoTIFFs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rio_cogeo.cogeo import cog_validate

from compositing.grid import OutputGrid
from compositing.products.cog import write_cog
from compositing.products.intermediate import GeoTiffWriter
from compositing.products.layers import AUX_LAYERS, reflectance_layer
from tests.compositing.products.intermediates import UTM_GRID, WGS84_GRID, write_layers

BANDS = ("B02", "B03", "B04")
@pytest.fixture(params=[UTM_GRID, WGS84_GRID], ids=["utm-1300x900", "wgs84-700x520"])
def grid(request: pytest.FixtureRequest) -> OutputGrid:
    return request.param


@pytest.fixture
def bands_tif(tmp_path: Path, grid: OutputGrid) -> tuple[Path, np.ndarray]:
    path = tmp_path / "bands_M20_20240701_test.tif"
    return path, write_layers(path, grid, [reflectance_layer(b) for b in BANDS])


def assert_valid_cog(path: Path) -> None:
    is_valid, errors, warnings = cog_validate(str(path), quiet=True)
    assert (is_valid, errors, warnings) == (True, [], [])


def test_cog_is_valid_tiled_compressed_with_nearest_overviews(tmp_path: Path, grid: OutputGrid,
                                                              bands_tif: tuple) -> None:
    src, values = bands_tif
    dst = tmp_path / "out.tif"
    write_cog(src, dst)
    assert_valid_cog(dst)
    with rasterio.open(dst) as ds:
        assert ds.block_shapes == [(512, 512)] * 3
        assert ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert ds.compression.name == "deflate"
        assert ds.tags(ns="IMAGE_STRUCTURE")["PREDICTOR"] == "2"
        assert ds.overviews(1)[0] == 2
        # the smallest overview fits in one block
        assert max(ds.width, ds.height) // ds.overviews(1)[-1] <= 512
        np.testing.assert_array_equal(ds.read(), values)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([src.name, dst.name])


def test_cog_keeps_georeferencing_and_band_metadata(tmp_path: Path, grid: OutputGrid,
                                                    bands_tif: tuple) -> None:
    src, _ = bands_tif
    dst = tmp_path / "out.tif"
    write_cog(src, dst)
    with rasterio.open(src) as before, rasterio.open(dst) as after:
        assert after.crs == before.crs == grid.crs
        assert after.transform == before.transform == grid.transform
        assert after.descriptions == BANDS
        assert after.scales == (1e-4,) * 3
        assert after.offsets == (0.0,) * 3
        assert after.units == ("1",) * 3
        assert after.nodata == 65535
        assert after.dtypes == ("uint16",) * 3
        for i in range(1, 4):
            assert after.tags(i) == before.tags(i)
        assert after.tags(3)["wavelength_nm"] == "665"


def test_band_indexes_make_one_file_per_layer(tmp_path: Path, bands_tif: tuple) -> None:
    src, values = bands_tif
    for index, band in enumerate(BANDS, start=1):
        dst = tmp_path / f"{band}_M20_20240701_test.tif"
        write_cog(src, dst, band_indexes=[index])
        assert_valid_cog(dst)
        with rasterio.open(dst) as ds:
            assert ds.count == 1
            assert ds.descriptions == (band,)
            assert (ds.scales, ds.nodata, ds.units) == ((1e-4,), 65535, ("1",))
            assert ds.tags(1)["name"] == band
            np.testing.assert_array_equal(ds.read(1), values[index - 1])
    # no PAM sidecars: everything lives inside the TIFF
    assert not list(tmp_path.glob("*.aux.xml"))


def test_band_indexes_reorder(tmp_path: Path, bands_tif: tuple) -> None:
    src, values = bands_tif
    dst = tmp_path / "rgb.tif"
    write_cog(src, dst, band_indexes=(3, 2, 1))
    assert_valid_cog(dst)
    with rasterio.open(dst) as ds:
        assert ds.descriptions == ("B04", "B03", "B02")
        assert ds.tags(1)["wavelength_nm"] == "665"
        np.testing.assert_array_equal(ds.read(), values[::-1])


@pytest.mark.parametrize("indexes", [[], [0], [4]])
def test_band_indexes_out_of_range_are_refused(tmp_path: Path, bands_tif: tuple,
                                               indexes: list[int]) -> None:
    with pytest.raises(ValueError, match="outside"):
        write_cog(bands_tif[0], tmp_path / "out.tif", band_indexes=indexes)


def test_aux_layer_cog_overviews_hold_real_observations(tmp_path: Path) -> None:
    grid = UTM_GRID
    layer = AUX_LAYERS["acquisition_date"]
    src = tmp_path / "acquisition_date.tif"
    # a unique value per pixel encodes its position, so an overview value tells where it came from
    values = np.arange(grid.height * grid.width, dtype="int32").reshape(grid.height, grid.width)
    with GeoTiffWriter(src, grid, [layer]) as writer:
        for chunk in grid.chunks(512):
            writer.write(chunk, [values[chunk.row_off:chunk.row_off + chunk.height,
                                        chunk.col_off:chunk.col_off + chunk.width]])
    dst = tmp_path / "acquisition_date_cog.tif"
    write_cog(src, dst)
    assert_valid_cog(dst)
    with rasterio.open(dst) as ds:
        assert (ds.dtypes, ds.nodata, ds.units) == (("int32",), layer.nodata, (layer.units,))
        np.testing.assert_array_equal(ds.read(1), values)
    with rasterio.open(dst, OVERVIEW_LEVEL=0) as ovr:
        half = ovr.read(1)
    assert half.shape == (grid.height // 2, grid.width // 2)
    rows, cols = np.divmod(half.astype(np.int64), grid.width)
    assert (rows // 2 == np.arange(half.shape[0])[:, None]).all()
    assert (cols // 2 == np.arange(half.shape[1])[None, :]).all()
