"""The MGRS tile table: real grids, consistent with MGRS lettering and the 60 m lattice."""

from __future__ import annotations

import math

import pytest
from pyproj import Transformer

from compositing.orders import mgrs
from compositing.orders.mgrs import TILE_SIZE_M, TILES, Tile, tile

# MGRS 100 km column letters repeat every three zones; rows skip I and O and cycle every 20.
_COLUMN_SETS = ("STUVWXYZ", "ABCDEFGH", "JKLMNPQR")  # zone % 3 == 0, 1, 2
_ROW_LETTERS = "ABCDEFGHJKLMNPQRSTUV"


def _column_min_easting(t: Tile) -> int:
    return 100_000 * (_COLUMN_SETS[t.utm_zone % 3].index(t.grid_square[0]) + 1)


def test_it_knows_the_real_29unu_grid_from_its_mtd_tl():
    t = tile("29UNU")
    assert (t.epsg, t.ulx, t.uly) == (32629, 499980, 5900040)
    assert (t.utm_zone, t.latitude_band, t.grid_square) == (29, "U", "NU")
    assert t.bounds == (499980, 5900040 - 109800, 609780, 5900040)
    assert t.crs == "EPSG:32629"


def test_it_knows_the_real_29rkh_grid():
    t = tile("29RKH")
    assert (t.epsg, t.ulx, t.uly) == (32629, 199980, 2800020)


def test_it_accepts_lower_case_and_a_leading_t():
    assert tile("t29upu") is TILES["29UPU"]
    assert tile(" 29upu ") is TILES["29UPU"]


def test_it_rejects_an_unknown_tile_naming_the_known_ones():
    with pytest.raises(KeyError, match="unknown MGRS tile '31TFJ'.*29UNU"):
        tile("31TFJ")


@pytest.mark.parametrize("t", list(TILES.values()), ids=list(TILES))
def test_tiles_follow_the_sentinel2_60m_lattice_rule(t):
    # ULX: the 100 km column's min easting rounded down to 60 m (499980, 600000, 300000, ...).
    assert t.ulx == math.floor(_column_min_easting(t) / 60) * 60
    # ULY: a 100 km line rounded up to 60 m, which names the row letter of the square below it.
    assert t.uly % 60 == 0 and 0 <= t.uly % 100_000 < 60
    square_row = int(t.uly // 100_000) - 1
    offset = 5 if t.utm_zone % 2 == 0 else 0
    assert _ROW_LETTERS[(square_row + offset) % 20] == t.grid_square[1]
    assert t.epsg == 32600 + t.utm_zone  # all northern hemisphere


def test_neighbouring_tiles_of_a_zone_overlap_by_9780_m_on_a_shared_lattice():
    unu, upu = tile("29UNU"), tile("29UPU")
    assert unu.bounds[2] - upu.bounds[0] == 9780
    assert (upu.ulx - unu.ulx) % 60 == 0  # pixels of every resolution coincide


def test_30uud_lies_just_east_of_29upu():
    upu, uud = tile("29UPU"), tile("30UUD")
    to_30 = Transformer.from_crs(upu.epsg, uud.epsg, always_xy=True)
    left, bottom, right, top = uud.bounds
    for northing in (upu.bounds[1] + 2000, (upu.bounds[1] + upu.bounds[3]) / 2):
        x, y = to_30.transform(upu.bounds[2] + 500, northing)  # just past 29UPU's east edge
        assert left <= x <= right and bottom <= y <= top


def test_tiles_are_109_8_km_squares():
    for t in TILES.values():
        left, bottom, right, top = t.bounds
        assert right - left == top - bottom == TILE_SIZE_M == mgrs.TILE_SIZE_M
