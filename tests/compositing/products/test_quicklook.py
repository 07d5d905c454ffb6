"""True-colour PNG previews read from a decimated view of the bands file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from compositing.grid import OutputGrid
from compositing.products.intermediate import GeoTiffWriter
from compositing.products.layers import REFLECTANCE_NODATA, reflectance_layer
from compositing.products.quicklook import (
    HATCH_WIDTH,
    NO_OBSERVATION_HATCH,
    preview_shape,
    write_quicklook,
)

BANDS = ("B02", "B03", "B04")
pytestmark = pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")

RGB = (3, 2, 1)  # B04, B03, B02 in the bands file
UTM_GRID = OutputGrid(32631, Affine(10.0, 0.0, 600000.0, 0.0, -10.0, 5000040.0), 1300, 900)


def write_bands(path: Path, grid: OutputGrid, values: np.ndarray) -> None:
    """The bands file as the pipeline writes it, chunk by chunk."""
    with GeoTiffWriter(path, grid, [reflectance_layer(b) for b in BANDS]) as writer:
        for chunk in grid.chunks(512):
            writer.write(chunk, list(values[:, chunk.row_off:chunk.row_off + chunk.height,
                                            chunk.col_off:chunk.col_off + chunk.width]))


def gradients(grid: OutputGrid) -> np.ndarray:
    """B02 grows southwards, B03 is constant, B04 grows eastwards; the west third is nodata."""
    rows, cols = np.mgrid[0:grid.height, 0:grid.width]
    values = np.stack([rows * 10, np.full(rows.shape, 700), cols * 5]).astype("uint16")
    values[:, :, : grid.width // 3] = REFLECTANCE_NODATA
    return values


def read_png(path: Path) -> np.ndarray:
    with rasterio.open(path) as ds:
        assert (ds.driver, ds.count, ds.dtypes) == ("PNG", 4, ("uint8",) * 4)
        return ds.read()


def test_quicklook_is_small_rgba_with_transparent_nodata(tmp_path: Path) -> None:
    src, dst = tmp_path / "bands.tif", tmp_path / "quicklook.png"
    write_bands(src, UTM_GRID, gradients(UTM_GRID))
    write_quicklook(src, dst, rgb=RGB, max_size=512)
    red, green, blue, alpha = read_png(dst).astype(int)
    assert alpha.shape == (355, 512)
    third = alpha.shape[1] // 3
    assert (alpha[:, : third - 1] == 0).all()
    assert (alpha[:, third + 1:] == 255).all()
    assert (red[:, : third - 1] == 0).all()
    # B04 is red and grows eastwards, B02 is blue and grows southwards, both stretched 2-98 %
    inside = alpha == 255
    assert red[inside].min() == 0 and red[inside].max() == 255
    assert (np.diff(red[:, third + 1:], axis=1) >= 0).all()
    assert (np.diff(blue[:, third + 1:], axis=0) >= 0).all()
    assert blue[0, -1] == 0 and blue[-1, -1] == 255
    # the constant B03 does not crash the stretch
    assert len(np.unique(green[inside])) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bands.tif", "quicklook.png"]


def test_small_product_keeps_its_size(tmp_path: Path) -> None:
    grid = OutputGrid(4326, Affine(0.0002, 0.0, 4.5, 0.0, -0.0002, 45.2), 300, 200)
    src, dst = tmp_path / "bands.tif", tmp_path / "quicklook.png"
    write_bands(src, grid, gradients(grid))
    write_quicklook(src, dst, rgb=RGB)
    assert read_png(dst).shape == (4, 200, 300)


def test_all_nodata_is_fully_transparent(tmp_path: Path) -> None:
    grid = OutputGrid(32631, Affine(10.0, 0.0, 600000.0, 0.0, -10.0, 5000040.0), 400, 300)
    src, dst = tmp_path / "bands.tif", tmp_path / "quicklook.png"
    write_bands(src, grid, np.full((3, 300, 400), REFLECTANCE_NODATA, "uint16"))
    write_quicklook(src, dst, rgb=RGB, max_size=100)
    png = read_png(dst)
    assert png.shape == (4, 75, 100)
    assert (png == 0).all()


def test_nodata_inside_the_aoi_is_hatched_and_outside_it_transparent(tmp_path: Path) -> None:
    from pyproj import Transformer
    from shapely.geometry import box

    src, dst = tmp_path / "bands.tif", tmp_path / "quicklook.png"
    values = gradients(UTM_GRID)  # the west third is nodata
    write_bands(src, UTM_GRID, values)
    # The AOI: the grid's northern half (lon/lat of its UTM corners, a little inside them).
    to_lonlat = Transformer.from_crs(32631, 4326, always_xy=True)
    west, north = to_lonlat.transform(600000.0 + 5, 5000040.0 - 5)
    east, south = to_lonlat.transform(600000.0 + 13000 - 5, 5000040.0 - 4500 + 5)
    write_quicklook(src, dst, rgb=RGB, max_size=1300, aoi=box(west, south, east, north))
    red, green, blue, alpha = read_png(dst).astype(int)
    assert alpha.shape == (900, 1300)
    third = 1300 // 3
    # Nodata in the AOI: opaque grey stripes (the UTM square is a little skewed in lon/lat,
    # so the rows and columns near its edges are left out).
    north_west = np.s_[20:430, 20:third - 2]
    assert (alpha[north_west] == 255).all()
    assert (red[north_west] == green[north_west]).all()
    assert (green[north_west] == blue[north_west]).all()
    assert set(np.unique(red[north_west])) == {grey for grey, _, _ in NO_OBSERVATION_HATCH}
    row = red[100, 20:third - 2]
    assert 0 < np.count_nonzero(np.diff(row)) <= len(row) // HATCH_WIDTH + 1  # stripes
    # Nodata outside the AOI: transparent; data everywhere: opaque, as before.
    assert (alpha[490:, : third - 1] == 0).all()
    assert (alpha[:, third + 1:] == 255).all()


@pytest.mark.parametrize(("shape", "max_size", "expected"), [
    ((900, 1300), 1024, (709, 1024)),
    ((1300, 900), 512, (512, 355)),
    ((10980, 10980), 1024, (1024, 1024)),
    ((100, 50), 1024, (100, 50)),
    ((1, 5000), 1024, (1, 1024)),
])
def test_preview_shape(shape: tuple[int, int], max_size: int,
                       expected: tuple[int, int]) -> None:
    assert preview_shape(*shape, max_size) == expected
