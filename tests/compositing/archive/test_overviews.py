"""A coarser mean of a band comes from the file's overview only where the file says its
overviews are means; otherwise from full resolution. Either way the same values."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.enums import Resampling

from compositing.archive.files import logging_reads
from compositing.archive.read import _read_dn, close_datasets, overviews_are_means
from compositing.archive.scenes import Asset
from compositing.demo.archive import write_cog
from compositing.demo.scene import SceneGrid
from compositing.grid import Chunk, OutputGrid

X0, Y0 = 499980.0, 5900040.0
SIZE_PX = 1200  # above one 512 px block, so the COG driver makes overviews


def band(tmp_path, categorical: bool):
    rng = np.random.default_rng(5)
    data = rng.integers(1, 9000, size=(SIZE_PX, SIZE_PX)).astype(np.uint16)
    data[:40, :] = 0
    path = tmp_path / ("nearest.tif" if categorical else "average.tif")
    write_cog(path, data, SceneGrid(32629, X0, Y0, SIZE_PX * 10), 10, ["B08"], nodata=0,
              categorical=categorical)
    return path, data


@pytest.mark.parametrize("categorical", [False, True])
def test_20m_mean_from_overview_only_when_tagged(tmp_path, categorical):
    path, data = band(tmp_path, categorical)
    with rasterio.open(path) as src:
        assert src.overviews(1)[0] == 2
        assert overviews_are_means(src) is not categorical
    transform = Affine(20, 0, X0 + 64 * 20, 0, -20, Y0 - 32 * 20)
    chunk = Chunk(0, 0, 160, 200, transform)
    grid = OutputGrid(32629, transform, 200, 160)
    asset = Asset(str(path), scale=1.0, offset=0.0, nodata=0, epsg=32629)
    with logging_reads() as log:
        values = _read_dn(asset, grid, chunk, Resampling.average)
    close_datasets()
    from_overview = any("\0" in href for href, _ in log)
    assert from_overview is not categorical
    native = data[64:64 + 320, 128:128 + 400].astype(np.float64)
    blocks = native.reshape(160, 2, 200, 2)
    counts = (blocks != 0).sum(axis=(1, 3))
    mean = np.where(blocks != 0, blocks, 0).sum(axis=(1, 3)) / np.maximum(counts, 1)
    valid = counts == 4
    # GDAL rounds an overview's mean to the file's integer type; full resolution keeps it.
    np.testing.assert_allclose(values[valid], mean[valid], atol=0.5 if from_overview else 1e-3)
