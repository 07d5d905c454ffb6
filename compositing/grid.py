"""The output grid of a mosaic: CRS, pixel size, extent snapped to the pixel size, chunks."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import shapely
from affine import Affine
from pyproj import CRS, Transformer
from rasterio.features import geometry_mask
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

# Pixel size in degrees for a WGS 84 product of a given nominal resolution: metres divided by
# the length of one degree of latitude (111 320 m), as a metre-equivalent at the equator.
METRES_PER_DEGREE = 111_320.0


@dataclass(frozen=True)
class Chunk:
    """A rectangular block of the output grid, processed as one unit."""

    row_off: int
    col_off: int
    height: int
    width: int
    transform: Affine

    @property
    def shape(self) -> tuple[int, int]:
        return self.height, self.width

    def expanded(self, px: int) -> Chunk:
        """The chunk with a halo of px pixels on every side (may reach beyond the grid)."""
        return Chunk(self.row_off - px, self.col_off - px, self.height + 2 * px,
                     self.width + 2 * px, self.transform @ Affine.translation(-px, -px))


@dataclass(frozen=True)
class OutputGrid:
    """A north-up raster grid in one CRS."""

    epsg: int
    transform: Affine
    width: int
    height: int

    @property
    def crs(self) -> CRS:
        return CRS.from_epsg(self.epsg)

    @property
    def resolution(self) -> float:
        return self.transform.a

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        left, top = self.transform.c, self.transform.f
        return left, top + self.height * self.transform.e, left + self.width * self.transform.a, top

    @classmethod
    def for_aoi(cls, aoi_wgs84: BaseGeometry, epsg: int, resolution_m: int) -> OutputGrid:
        """The grid covering the AOI in `epsg`, its origin snapped to multiples of the pixel size.

        Snapping to multiples keeps UTM products on the Sentinel-2 tile grids (whose origins are
        multiples of 60 m), so a 10/20/60 m product re-uses native pixels without a shift.
        """
        crs = CRS.from_epsg(epsg)
        res = pixel_size(crs, resolution_m)
        minx, miny, maxx, maxy = project_geometry(aoi_wgs84, epsg).bounds
        left = math.floor(minx / res) * res
        right = math.ceil(maxx / res) * res
        bottom = math.floor(miny / res) * res
        top = math.ceil(maxy / res) * res
        width = max(1, round((right - left) / res))
        height = max(1, round((top - bottom) / res))
        return cls(epsg, Affine(res, 0.0, left, 0.0, -res, top), width, height)

    def chunks(self, size: int) -> Iterator[Chunk]:
        """Blocks of at most size x size pixels, row by row."""
        return ChunkLayout(size).chunks(self)

    def chunk_count(self, size: int) -> int:
        """How many chunks `chunks(size)` yields."""
        return ChunkLayout(size).count(self)

    def chunk_at(self, row: int, col: int, height: int, width: int) -> Chunk:
        return Chunk(row, col, height, width, self.transform @ Affine.translation(col, row))

    def aoi_mask(self, aoi_wgs84: BaseGeometry, chunk: Chunk) -> np.ndarray:
        """True for the pixels of the chunk whose centre lies inside the AOI."""
        geom = mapping(project_geometry(aoi_wgs84, self.epsg))
        return geometry_mask([geom], out_shape=chunk.shape, transform=chunk.transform, invert=True)


@dataclass(frozen=True)
class ChunkLayout:
    """How a grid is cut into chunks and in which order they are composed.

    Chunk edges lie at `anchor` (row, col) plus multiples of `size`, so that they can fall on
    the block edges of the input files (`archive.blocks`): a chunk then decodes whole blocks,
    none twice. `groups`: sides, in chunks, of the larger input blocks that several chunks
    share (largest first; their edges lie at `anchor` plus multiples of side x size); the
    chunks of one such block are composed one after another, so the block is still in GDAL's
    cache when the next of them reads it.
    """

    size: int
    anchor: tuple[int, int] = (0, 0)
    groups: tuple[int, ...] = ()

    def _edges(self, length: int, anchor: int) -> list[int]:
        first = anchor % self.size
        inner = range(first if first else self.size, length, self.size)
        return [0, *inner, length]

    def chunks(self, grid: OutputGrid) -> Iterator[Chunk]:
        """The grid's chunks in composing order."""
        rows = self._edges(grid.height, self.anchor[0])
        cols = self._edges(grid.width, self.anchor[1])
        ar, ac = self.anchor

        def key(ij: tuple[int, int]) -> tuple[int, ...]:
            i, j = ij
            return (*(v for g in self.groups for v in ((rows[i] - ar) // (g * self.size),
                                                       (cols[j] - ac) // (g * self.size))), i, j)

        order = sorted(((i, j) for i in range(len(rows) - 1) for j in range(len(cols) - 1)),
                       key=key)
        for i, j in order:
            yield grid.chunk_at(rows[i], cols[j], rows[i + 1] - rows[i], cols[j + 1] - cols[j])

    def count(self, grid: OutputGrid) -> int:
        """How many chunks `chunks` yields."""
        return ((len(self._edges(grid.height, self.anchor[0])) - 1)
                * (len(self._edges(grid.width, self.anchor[1])) - 1))



def pixel_size(crs: CRS, resolution_m: int) -> float:
    """Pixel size in the CRS's units for a nominal resolution in metres."""
    if crs.is_geographic:
        return resolution_m / METRES_PER_DEGREE
    return float(resolution_m)


def project_geometry(geom_wgs84: BaseGeometry, epsg: int) -> BaseGeometry:
    """A lon/lat geometry in another CRS, densified so that curved edges stay inside."""
    if epsg == 4326:
        return geom_wgs84
    transformer = Transformer.from_crs(4326, epsg, always_xy=True)
    dense = geom_wgs84.segmentize(0.01)

    def reproject(coords: np.ndarray) -> np.ndarray:
        return np.column_stack(transformer.transform(coords[:, 0], coords[:, 1]))

    return shapely.transform(dense, reproject)


def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the WGS 84 / UTM zone containing a point (no Norway/Svalbard exceptions)."""
    zone = min(60, max(1, int((lon + 180) // 6) + 1))
    return (32600 if lat >= 0 else 32700) + zone
