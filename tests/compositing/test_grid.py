"""Grid maths: snapping, extents, chunks and the UTM zone suggestion."""

import pytest
from shapely.geometry import box

from compositing.grid import OutputGrid, pixel_size, utm_epsg

AOI = box(-7.6, 53.2, -7.55, 53.23)


@pytest.mark.parametrize("res", [10, 20, 60])
def test_utm_grid_is_snapped_to_multiples_of_the_pixel_size(res):
    grid = OutputGrid.for_aoi(AOI, 32629, res)
    left, bottom, right, top = grid.bounds
    assert grid.transform.a == res and grid.transform.e == -res
    for value in (left, bottom, right, top):
        assert value % res == 0
    assert grid.width == round((right - left) / res)


def test_grid_covers_the_whole_aoi():
    from compositing.grid import project_geometry

    grid = OutputGrid.for_aoi(AOI, 32629, 20)
    minx, miny, maxx, maxy = project_geometry(AOI, 32629).bounds
    left, bottom, right, top = grid.bounds
    assert left <= minx and bottom <= miny and right >= maxx and top >= maxy
    assert right - maxx < 20 and minx - left < 20


def test_geographic_grids_use_degrees():
    grid = OutputGrid.for_aoi(AOI, 4326, 20)
    assert grid.resolution == pytest.approx(pixel_size(grid.crs, 20))
    assert grid.resolution == pytest.approx(20 / 111_320)


def test_chunks_tile_the_grid_exactly():
    grid = OutputGrid.for_aoi(AOI, 32629, 10)
    chunks = list(grid.chunks(128))
    assert len(chunks) == grid.chunk_count(128)
    assert sum(c.height * c.width for c in chunks) == grid.width * grid.height
    last = chunks[-1]
    assert last.row_off + last.height == grid.height and last.col_off + last.width == grid.width
    x, y = last.transform @ (0, 0)
    assert (x, y) == grid.transform @ (last.col_off, last.row_off)


def test_aoi_mask_keeps_only_pixels_inside_a_triangle():
    from shapely.geometry import Polygon

    tri = Polygon([(-7.6, 53.2), (-7.55, 53.2), (-7.6, 53.23)])
    grid = OutputGrid.for_aoi(tri, 32629, 20)
    chunk = next(grid.chunks(10_000))
    inside = grid.aoi_mask(tri, chunk)
    assert 0.35 < inside.mean() < 0.65


@pytest.mark.parametrize("lon,lat,epsg", [(-7.5, 53.2, 32629), (2.35, 48.85, 32631),
                                          (151.2, -33.9, 32756), (-180, 0, 32601),
                                          (179.99, 10, 32660)])
def test_utm_zone_of_a_point(lon, lat, epsg):
    assert utm_epsg(lon, lat) == epsg
