"""Aligned reads give what GDAL's warper gives, without the warp."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT

from compositing.archive.aligned import read_aligned


def warped(src, transform, shape, resampling, nodata):
    with WarpedVRT(src, crs=src.crs, transform=transform, width=shape[1], height=shape[0],
                   resampling=resampling, src_nodata=nodata, nodata=nodata) as vrt:
        return np.ma.filled(vrt.read(1, masked=True).astype(np.float32), np.nan)


@pytest.fixture(scope="module")
def raster(tmp_path_factory):
    """A 20 m raster with nodata holes, on a Sentinel-2-like lattice."""
    rng = np.random.default_rng(3)
    data = rng.integers(1, 5000, size=(90, 120)).astype(np.uint16)
    data[10:14, 20:31] = 0
    data[50:, :7] = 0
    path = tmp_path_factory.mktemp("aligned") / "band.tif"
    with rasterio.open(path, "w", driver="GTiff", width=120, height=90, count=1,
                       dtype="uint16", crs="EPSG:32629", nodata=0,
                       transform=Affine(20, 0, 499980, 0, -20, 5900040)) as dst:
        dst.write(data, 1)
    return path


CASES = [
    # (output pixel size, column offset and row offset in output pixels, shape, resampling)
    (20, 0, 0, (90, 120), Resampling.nearest),
    (60, 3, 2, (20, 25), Resampling.average),
    (60, 3, 2, (20, 25), Resampling.nearest),
    (40, -5, -3, (30, 40), Resampling.average),  # reaches beyond the raster
    (10, 7, 9, (64, 80), Resampling.nearest),
    (10, -3, 170, (40, 50), Resampling.nearest),  # partly below the raster
    (5, 13, 6, (50, 70), Resampling.nearest),  # each pixel 4 x 4 times, from its second copy
]


@pytest.mark.parametrize("res,col,row,shape,resampling", CASES)
def test_aligned_read_equals_the_warp(raster, res, col, row, shape, resampling):
    transform = Affine(res, 0, 499980 + col * res, 0, -res, 5900040 - row * res)
    with rasterio.open(raster) as src:
        fast = read_aligned(src, transform, shape, resampling, 0)
        slow = warped(src, transform, shape, resampling, 0)
    assert fast is not None
    if resampling == Resampling.nearest:
        # Nearest keeps the source's type and marks nodata (inside and beyond) by its value.
        assert fast.dtype == np.uint16
        np.testing.assert_array_equal(np.where(fast == 0, np.nan, fast), slow)
        return
    # The warper rounds its mean to the source's integer type (we keep the fraction), and its
    # averaging kernel reaches past the raster's edge (we give nodata beyond it).
    assert not (np.isnan(slow) & ~np.isnan(fast)).any()
    both = ~np.isnan(fast) & ~np.isnan(slow)
    assert np.abs(fast - slow)[both].max() <= 0.5
    rows = row + np.arange(shape[0])
    cols = col + np.arange(shape[1])
    inside = ((rows * res >= 0) & ((rows + 1) * res <= 90 * 20))[:, None] & (
        (cols * res >= 0) & ((cols + 1) * res <= 120 * 20))[None, :]
    np.testing.assert_array_equal(np.isnan(fast)[inside], np.isnan(slow)[inside])


def test_a_finer_grid_is_written_into_the_array_given(raster):
    """The stack's slot is filled in place: no enlarged copy, the array given is returned."""
    transform = Affine(10, 0, 499980 + 7 * 10, 0, -10, 5900040 - 9 * 10)
    out = np.full((64, 80), 7, np.uint16)
    with rasterio.open(raster) as src:
        fast = read_aligned(src, transform, out.shape, Resampling.nearest, 0, out=out)
        slow = warped(src, transform, out.shape, Resampling.nearest, 0)
    assert fast is out
    np.testing.assert_array_equal(np.where(out == 0, np.nan, out), slow)


@pytest.mark.parametrize("transform", [
    Affine(20, 0, 499990, 0, -20, 5900040),  # half a pixel off
    Affine(30, 0, 499980, 0, -30, 5900040),  # 1.5 source pixels
    Affine(20, 0, 499980, 0, -40, 5900040),  # not square
])
def test_unaligned_grids_are_left_to_the_warper(raster, transform):
    with rasterio.open(raster) as src:
        assert read_aligned(src, transform, (10, 10), Resampling.nearest, 0) is None
