"""The time-series tool's pixel lattice and scene tiles, without any archive."""

from __future__ import annotations

from pyproj import Transformer
from shapely.geometry import box

from compositing.demo.archive import DEMO_CENTER_32629
from compositing.grid import OutputGrid
from compositing.timeseries import pixel_grid, scene_tile

# A point near the demo centre, off every 10/20/60 m pixel edge, in both tiles' overlap.
POINT_32629 = (DEMO_CENTER_32629[0] + 7.0, DEMO_CENTER_32629[1] - 13.0)
LON, LAT = Transformer.from_crs(32629, 4326, always_xy=True).transform(*POINT_32629)


def test_the_centre_pixel_is_the_product_pixel_holding_the_point():
    for res in (10, 20, 60):
        grid = pixel_grid(LON, LAT, res, 3).grid
        assert grid.epsg == 32629 and (grid.width, grid.height) == (3, 3)
        product = OutputGrid.for_aoi(box(LON - 0.01, LAT - 0.01, LON + 0.01, LAT + 0.01),
                                     32629, res)
        # Same lattice as a product: origins differ by whole pixels.
        assert (grid.transform.c - product.transform.c) % res == 0
        assert (grid.transform.f - product.transform.f) % res == 0
        left, bottom, right, top = grid.bounds
        assert left + res <= POINT_32629[0] < right - res
        assert bottom + res <= POINT_32629[1] < top - res


def test_scene_tiles_are_read_from_the_common_id_styles():
    assert scene_tile("S2A_29UNU_20230602_0_L2A") == "29UNU"
    assert scene_tile("S2B_MSIL2A_20230601T115359_R023_T29UPU_20230601T150000") == "29UPU"
    assert scene_tile("no-tile-here") is None
