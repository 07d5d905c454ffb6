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

from dataclasses import dataclass

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
