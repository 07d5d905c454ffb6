"""Sentinel-2 MGRS tiles: a small table of real tiles with their real grids.

A tile is a 109.8 km square (10980 px at 10 m) in its UTM zone. Its upper-left corner is not the
corner of its 100 km MGRS square: Sentinel-2 puts every tile of a zone on one 60 m lattice, so
that the pixels of overlapping tiles coincide at 10, 20 and 60 m. Read from real products:

- ULX is the 100 km square's minimum easting rounded down to a multiple of 60 m: 99960,
  199980, 300000, 399960, 499980, 600000, 699960 (29RKH, 28QCH, 06VVN, 29UNU, 07HFE, ...).
- ULY (northern hemisphere) is the square's maximum northing rounded up to a multiple of 60 m:
  2800020, 5900040, 6800040, ...; the tile reaches 109.8 km south from there, so neighbours
  overlap by about 9.8 km to the east and to the south.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

TILE_SIZE_M = 109_800
# Pixels of all bands of all tiles of a zone nest on this lattice (the coarsest band is 60 m).
TILE_LATTICE_M = 60


@dataclass(frozen=True)
class Tile:
    """One Sentinel-2 MGRS tile: its id, UTM CRS and upper-left corner (metres)."""

    id: str
    epsg: int
    ulx: float
    uly: float

    @property
    def utm_zone(self) -> int:
        """UTM zone number, e.g. 29 for 29UNU."""
        return int(self.id[:2])

    @property
    def latitude_band(self) -> str:
        """MGRS latitude band letter, e.g. 'U' for 29UNU."""
        return self.id[2]

    @property
    def grid_square(self) -> str:
        """MGRS 100 km grid square letters, e.g. 'NU' for 29UNU."""
        return self.id[3:5]

    @property
    def crs(self) -> str:
        """The tile's CRS as an 'EPSG:n' string."""
        return f"EPSG:{self.epsg}"

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in the tile's CRS."""
        return (self.ulx, self.uly - TILE_SIZE_M, self.ulx + TILE_SIZE_M, self.uly)


TILES: dict[str, Tile] = {
    t.id: t
    for t in (
        # Ireland, from the real product's MTD_TL.xml (S2A_MSIL2A_20221005T115411 ... T29UNU).
        Tile("29UNU", 32629, 499980, 5900040),
        # Its eastern neighbour. The 600 km column starts at 600000, already a multiple of 60,
        # as in the real MTD_TL.xml of 07HFE; so the two tiles overlap on E 600000-609780.
        Tile("29UPU", 32629, 600000, 5900040),
        # The zone-30 tile next to 29UPU. 29UPU's east edge (E 709800 in zone 29) lies at about
        # 5.86-5.93 W, which is E 300000-309130 in zone 30 for N 5790000-5900000 (pyproj), so
        # 100 km column U (the third of set S-Z in zone 30), row D (northing 5800-5900 km;
        # even zones start their row letters at F). ULX/ULY follow the 60 m rule above:
        # 300000, 5900040. The tile spans about 6.0-4.3 W, 52.2-53.2 N (Irish Sea, Lleyn).
        Tile("30UUD", 32630, 300000, 5900040),
        # Western Sahara, from the real Earth Search item's proj:transform (sample data).
        Tile("29RKH", 32629, 199980, 2800020),
    )
}


def tile(tile_id: str) -> Tile:
    """The tile with this id (case-insensitive, a leading 'T' allowed); KeyError if unknown."""
    key = tile_id.strip().upper()
    if len(key) == 6 and key.startswith("T"):
        key = key[1:]
    try:
        return TILES[key]
    except KeyError:
        known = ", ".join(sorted(TILES))
        raise KeyError(f"unknown MGRS tile {tile_id!r}; known tiles are {known}") from None


# ---------------------------------------------------------------- any tile of a UTM zone
# The table above holds tiles read from real products; the functions below compute the tile of
# any 100 km square of a UTM zone with the same corner rules (checked against the table in
# tests), for splitting a product into tile subfolders.

MGRS_SQUARE_M = 100_000
# 100 km column letters of zone sets 1-3 (zones 1, 2, 3; then again 4, 5, 6, ...): columns 1 to
# 8 (eastings 100-900 km). Row letters repeat every 2000 km; even zones start 5 letters on.
_COLUMN_LETTERS = ("ABCDEFGH", "JKLMNPQR", "STUVWXYZ")
_ROW_LETTERS = "ABCDEFGHJKLMNPQRSTUV"
# 8-degree latitude bands from 80 S; X spans 72-84 N.
_BAND_LETTERS = "CDEFGHJKLMNPQRSTUVWX"


def utm_zone_of(epsg: int) -> tuple[int, bool] | None:
    """(zone, northern hemisphere) of a WGS 84 / UTM EPSG code (326zz, 327zz), else None."""
    if 32601 <= epsg <= 32660:
        return epsg - 32600, True
    if 32701 <= epsg <= 32760:
        return epsg - 32700, False
    return None


def square_tile(epsg: int, column: int, row: int) -> Tile:
    """The tile of the 100 km square whose lower-left corner is (column, row) x 100 km.

    The latitude band letter is that of the square's centre (a square astride a band border
    is named by the band holding most of it). ULX/ULY follow the 60 m rules of the module
    docstring (see `_upper_left` for the southern hemisphere).
    """
    zone_info = utm_zone_of(epsg)
    if zone_info is None:
        raise ValueError(f"EPSG:{epsg} is not a WGS 84 / UTM zone")
    if not 1 <= column <= 8:
        raise ValueError(f"100 km column {column} is outside MGRS columns 1-8")
    zone = zone_info[0]
    letters = (_COLUMN_LETTERS[(zone - 1) % 3][column - 1]
               + _ROW_LETTERS[(row + (5 if zone % 2 == 0 else 0)) % len(_ROW_LETTERS)])
    to_lonlat = Transformer.from_crs(epsg, 4326, always_xy=True)
    _, lat = to_lonlat.transform((column + 0.5) * MGRS_SQUARE_M, (row + 0.5) * MGRS_SQUARE_M)
    band = _BAND_LETTERS[min(len(_BAND_LETTERS) - 1, max(0, int((lat + 80) // 8)))]
    ulx, uly = _upper_left(column * MGRS_SQUARE_M, (row + 1) * MGRS_SQUARE_M, zone_info[1])
    return Tile(f"{zone:02d}{band}{letters}", epsg, ulx, uly)


def in_zone(epsg: int, column: int, row: int) -> bool:
    """Whether the 100 km square lies (partly) inside its UTM zone's 6-degree band: the
    squares Sentinel-2 has tiles for."""
    zone_info = utm_zone_of(epsg)
    if zone_info is None:
        return False
    west = -180 + 6 * (zone_info[0] - 1)
    square = box(column * MGRS_SQUARE_M, row * MGRS_SQUARE_M, (column + 1) * MGRS_SQUARE_M,
                 (row + 1) * MGRS_SQUARE_M).segmentize(MGRS_SQUARE_M / 20)
    to_lonlat = Transformer.from_crs(epsg, 4326, always_xy=True)

    def reproject(coords: np.ndarray) -> np.ndarray:
        return np.column_stack(to_lonlat.transform(coords[:, 0], coords[:, 1]))

    lonlat = shapely.transform(square, reproject)
    return lonlat.intersection(box(west, -80, west + 6, 84)).area > 0


def tiles_over(epsg: int, geom: BaseGeometry) -> list[Tile]:
    """The zone's Sentinel-2 tiles that overlap geom (given in the zone's CRS), sorted by id.

    Only squares inside the zone count (see `in_zone`); parts of geom beyond them are left
    out: `uncovered` says whether there are any.
    """
    minx, miny, maxx, maxy = geom.bounds
    columns = range(max(1, math.floor((minx - TILE_SIZE_M) / MGRS_SQUARE_M)),
                    min(8, math.floor(maxx / MGRS_SQUARE_M)) + 1)
    rows = range(math.floor(miny / MGRS_SQUARE_M) - 1, math.floor(maxy / MGRS_SQUARE_M) + 1)
    found = []
    for column in columns:
        for row in rows:
            candidate = square_tile(epsg, column, row)
            if (geom.intersection(box(*candidate.bounds)).area > 0
                    and in_zone(epsg, column, row)):
                found.append(candidate)
    return sorted(found, key=lambda t: t.id)


def uncovered(epsg: int, geom: BaseGeometry) -> BaseGeometry:
    """The part of geom (in the zone's CRS) that no tile of the zone covers."""
    rest = geom
    for found in tiles_over(epsg, geom):
        rest = rest.difference(box(*found.bounds))
    return rest


# ---------------------------------------------------------------- any tile from its id
# The row letter gives a square's northing modulo 2000 km (the letters cycle every 20 rows,
# from the equator). In the southern hemisphere they run on from the false northing of
# 10 000 km, a whole number of cycles, so the same arithmetic holds for northings as written
# in the tile's CRS. The latitude band, at most about 1300 km tall, picks the cycle.
MGRS_ROW_CYCLE_M = 20 * MGRS_SQUARE_M
_FALSE_NORTHING_SOUTH = 10_000_000


def parse_tile_id(tile_id: str) -> tuple[int, str, str] | None:
    """(zone, band, square letters) of '29UNU' or 'T29UNU' (any case, spaces around), or None
    when the text is not shaped like a tile id."""
    key = tile_id.strip().upper()
    if key.startswith("T") and len(key) in (5, 6) and key[1].isdigit():
        key = key[1:]
    digits = len(key) - 3
    if digits not in (1, 2) or not key[:digits].isdigit() or not key[digits:].isalpha():
        return None
    return int(key[:digits]), key[digits], key[digits + 1:]


def band_latitudes(band: str) -> tuple[float, float]:
    """South and north latitude of an MGRS latitude band letter (C-X)."""
    south = -80.0 + 8 * _BAND_LETTERS.index(band)
    return south, (84.0 if band == "X" else south + 8)


def tile_from_id(tile_id: str) -> Tile:
    """Any Sentinel-2 tile computed from its id: UTM zone, EPSG and the 60 m-lattice corner.

    ValueError says what is wrong with an id that is malformed or names no square of its band.
    """
    parsed = parse_tile_id(tile_id)
    if parsed is None:
        raise ValueError(f"{tile_id.strip()!r} is not an MGRS tile id such as 29UNU")
    zone, band, square = parsed
    key = f"{zone:02d}{band}{square}"
    if not 1 <= zone <= 60:
        raise ValueError(f"{key}: UTM zones run from 1 to 60")
    if band not in _BAND_LETTERS:
        raise ValueError(f"{key}: latitude band {band!r} is not one of C-X (without I and O)")
    columns = _COLUMN_LETTERS[(zone - 1) % 3]
    if square[0] not in columns:
        raise ValueError(f"{key}: the 100 km columns of zone {zone} are lettered {columns}, "
                         f"not {square[0]!r}")
    if square[1] not in _ROW_LETTERS:
        raise ValueError(f"{key}: {square[1]!r} is not an MGRS row letter (A-V without I, O)")
    min_easting = MGRS_SQUARE_M * (columns.index(square[0]) + 1)
    row = (_ROW_LETTERS.index(square[1]) - (5 if zone % 2 == 0 else 0)) % len(_ROW_LETTERS)
    low, high = _band_northings(zone, band)
    min_northing = row * MGRS_SQUARE_M
    while min_northing + MGRS_SQUARE_M <= low:
        min_northing += MGRS_ROW_CYCLE_M
    if min_northing >= high:
        raise ValueError(f"{key}: row {square[1]!r} names no 100 km square in latitude band "
                         f"{band} of zone {zone}")
    north = band >= "N"
    ulx, uly = _upper_left(min_easting, min_northing + MGRS_SQUARE_M, north)
    return Tile(key, (32600 if north else 32700) + zone, ulx, uly)


def _upper_left(min_easting: float, max_northing: float, north: bool) -> tuple[float, float]:
    """A tile's corner from its 100 km square's west and north edges (in the zone's CRS).

    The 60 m lattice is anchored at the equator (real southern tiles: 07HFE ULY 6500020,
    01KAB ULY 8200000), so the true northing is rounded, not the false one.
    """
    false_northing = 0 if north else _FALSE_NORTHING_SOUTH
    uly = math.ceil((max_northing - false_northing) / TILE_LATTICE_M) * TILE_LATTICE_M
    ulx = math.floor(min_easting / TILE_LATTICE_M) * TILE_LATTICE_M
    return float(ulx), float(uly + false_northing)


def _band_northings(zone: int, band: str) -> tuple[float, float]:
    """The band's northing range in its zone's CRS. Parallels bow away from the central
    meridian, so sample across the zone, wider than 6 degrees for the Norway and Svalbard
    zones."""
    south, north = band_latitudes(band)
    epsg = (32600 if band >= "N" else 32700) + zone
    to_utm = Transformer.from_crs(4326, epsg, always_xy=True)
    centre = -183.0 + 6 * zone
    ys = [to_utm.transform(centre + d, lat)[1]
          for lat in (south, north) for d in (-4.5, -3.0, 0.0, 3.0, 4.5)]
    return min(ys), max(ys)


def tile_footprint_wgs84(t: Tile, points_per_side: int = 16) -> BaseGeometry:
    """The tile's square as a lon/lat polygon, its edges densified (they curve in lon/lat).

    A tile across the antimeridian (zones 1 and 60) comes back as a MultiPolygon split there.
    """
    square = box(*t.bounds).segmentize(TILE_SIZE_M / points_per_side)
    to_lonlat = Transformer.from_crs(t.epsg, 4326, always_xy=True)
    centre = -183.0 + 6 * t.utm_zone

    def reproject(coords: np.ndarray) -> np.ndarray:
        lon, lat = to_lonlat.transform(coords[:, 0], coords[:, 1])
        lon = centre + (np.asarray(lon) - centre + 180) % 360 - 180  # continuous across 180
        return np.column_stack([lon, lat])

    lonlat = shapely.transform(square, reproject)
    parts = [lonlat.intersection(box(-180, -90, 180, 90))]
    for west, shift in ((-540.0, 360.0), (180.0, -360.0)):
        beyond = lonlat.intersection(box(west, -90, west + 360, 90))
        if not beyond.is_empty:
            parts.append(shapely.transform(beyond, lambda c, s=shift: c + [s, 0.0]))
    return shapely.union_all([p for p in parts if not p.is_empty])
