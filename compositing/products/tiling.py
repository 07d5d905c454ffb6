"""Splitting a UTM product into Sentinel-2 tile subfolders, each a window of the output grid.

Every part keeps the product's pixel lattice: tile corners are multiples of 60 m and the grid's
origin a multiple of the pixel size, so a part's pixels are the product's pixels, cut out.
Parts of neighbouring tiles overlap (by about 9.8 km, as the tiles do) and hold equal values
there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import rasterio
from affine import Affine
from rasterio.windows import Window

from compositing.grid import OutputGrid, project_geometry
from compositing.orders.mgrs import tiles_over
from compositing.orders.spec import MosaicSpec
from compositing.products.intermediate import GeoTiffWriter
from compositing.products.layers import Layer

CROP_CHUNK = 512


@dataclass(frozen=True)
class ProductPart:
    """One tile's window of a product's grid, delivered in the subfolder named `label`."""

    label: str  # the tile id: subfolder name, and in file names in place of the order name
    grid: OutputGrid
    row_off: int
    col_off: int


def product_parts(spec: MosaicSpec, grid: OutputGrid) -> list[ProductPart]:
    """The tile parts of a product ordered with tiling 'mgrs'; none for a single product."""
    if spec.tiling != "mgrs":
        return []
    aoi = project_geometry(spec.aoi, spec.crs)
    left, bottom, right, top = grid.bounds
    res = grid.resolution
    parts = []
    for tile in tiles_over(spec.crs, aoi):
        t_left, t_bottom, t_right, t_top = tile.bounds
        col0 = max(0, round((t_left - left) / res))
        col1 = min(grid.width, round((t_right - left) / res))
        row0 = max(0, round((top - t_top) / res))
        row1 = min(grid.height, round((top - t_bottom) / res))
        if col1 <= col0 or row1 <= row0:
            continue
        part_grid = OutputGrid(grid.epsg, grid.transform @ Affine.translation(col0, row0),
                               col1 - col0, row1 - row0)
        parts.append(ProductPart(tile.id, part_grid, row0, col0))
    return parts


def crop_intermediates(intermediates: Mapping[str, tuple[Path, Sequence[Layer]]],
                       part: ProductPart, folder: Path,
                       ) -> dict[str, tuple[Path, Sequence[Layer]]]:
    """The part's window of every intermediate GeoTIFF, as intermediates of its own in folder."""
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, tuple[Path, Sequence[Layer]]] = {}
    for name, (path, layers) in intermediates.items():
        dst = folder / path.name
        with rasterio.open(path) as src, GeoTiffWriter(dst, part.grid, layers) as writer:
            for chunk in part.grid.chunks(CROP_CHUNK):
                window = Window(part.col_off + chunk.col_off, part.row_off + chunk.row_off,
                                chunk.width, chunk.height)
                writer.write(chunk, list(src.read(window=window)))
        out[name] = (dst, layers)
    return out
