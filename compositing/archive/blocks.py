"""Chunks cut along the block grid of the input files.

A COG is decoded block by block (512 px in Sentinel-2 COGs), so a window that straddles block
edges decodes up to four blocks for the pixels of one. Where the output grid is the files'
own pixel lattice (same CRS, pixel size a multiple of theirs or equal), chunk edges can be put
on their block edges: every 10 m band then decodes each block once, and the 20 m bands and the
scene classification, whose blocks cover 2x2 chunks of 512 px at 10 m, are read for those four
chunks in a row (`grid.ChunkLayout.groups`), so that those of their blocks GDAL's cache holds
are reused (with the hub's small cache, `memory`, few are: the 20 m blocks are a fifth of the
decoding of a 10 m order, and a cache of 400 MB instead of 64 did not make one faster).
Tiles of one UTM zone have different block grids (their origins are 109.8 km apart): the
layout follows the granule under the grid's centre, which holds most of a tile-sized order.

Finding a block grid opens the file: from a remote archive, round trips before the first
chunk can start (0.25 s of a 100 ms-latency order's plan, bench/remote.py). Every granule of
one MGRS tile in one store has the same pixel lattice and tiling, so a process keeps what it
found per (archive, store, tile, asset key) and opens nothing for the next order over that
tile. Were an archive to tile some of its files otherwise, only the alignment would suffer: the
products do not depend on the chunk layout.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from affine import Affine
from pyproj import Transformer
from rasterio.errors import RasterioIOError
from shapely.geometry import Point

from compositing.archive.network import SigningError, open_raster, signed
from compositing.archive.scenes import Scene
from compositing.grid import ChunkLayout, OutputGrid

_TOLERANCE = 1e-6


@dataclass(frozen=True)
class BlockGrid:
    """A file's block grid in output pixels: block sides and where a block edge lies."""

    height: int
    width: int
    row: int
    col: int


def chunk_layout(grid: OutputGrid, scenes: Sequence[Scene], keys: Sequence[str],
                 size: int) -> ChunkLayout:
    """Chunks of `size` whose edges lie on the block edges of the files behind `keys` of the
    granule under the grid's centre; plain chunks from the grid's corner where they cannot."""
    scene = _central_scene(grid, scenes)
    if scene is None:
        return ChunkLayout(size)
    keys = [key for key in keys if key in scene.assets]
    # Side by side: remote files cost round trips to open, not CPU.
    with ThreadPoolExecutor(max(1, min(len(keys), 16))) as pool:
        blocks = [b for b in pool.map(lambda key: _block_grid_of(scene, key, grid), keys)
                  if b is not None]
    if not blocks:
        return ChunkLayout(size)
    return layout_on_blocks(size, blocks)


def layout_on_blocks(size: int, blocks: Sequence[BlockGrid]) -> ChunkLayout:
    """The layout for files with these block grids: on the largest block grid that the
    others nest in; groups for the block sides that are multiples of the chunk."""
    largest = max(blocks, key=lambda b: b.height * b.width)
    nested = [b for b in blocks
              if largest.height % b.height == 0 and largest.width % b.width == 0
              and (largest.row - b.row) % b.height == 0 and (largest.col - b.col) % b.width == 0]
    sides = {b.height for b in nested if b.height == b.width}
    if any(b.height != b.width for b in nested) or not all(
            side % size == 0 or size % side == 0 for side in sides):
        return ChunkLayout(size)  # chunk edges could not all lie on block edges
    anchor = (largest.row % largest.height, largest.col % largest.width)
    groups = tuple(sorted({side // size for side in sides if side // size > 1}, reverse=True))
    return ChunkLayout(size, anchor, groups)


# (archive, where its files are, tile, asset key) -> the file's EPSG, transform, block height
# and width (`_file_layout`)
_FileLayout = tuple[int | None, Affine, int, int]
_layouts: OrderedDict[tuple[str, str, str, str], _FileLayout] = OrderedDict()
_layouts_lock = threading.Lock()
_LAYOUTS_KEPT = 4096  # a few hundred tiles' files: kilobytes


def _block_grid_of(scene: Scene, key: str, grid: OutputGrid) -> BlockGrid | None:
    """The block grid of a granule's file, from what this process found for its tile."""
    href = scene.assets[key].href
    if not scene.tile:
        return block_grid(href, grid)
    cache_key = (scene.archive, _storage(href), scene.tile, key)
    with _layouts_lock:
        if cache_key in _layouts:
            _layouts.move_to_end(cache_key)
            return _on_grid(_layouts[cache_key], grid)
    layout = _file_layout(href)
    if layout is not None:  # a failed open is the read's to report; try again next time
        with _layouts_lock:
            _layouts[cache_key] = layout
            while len(_layouts) > _LAYOUTS_KEPT:
                _layouts.popitem(last=False)
    return _on_grid(layout, grid)


def _storage(href: str) -> str:
    """Where a file is kept: a URL's host (bucket), else the folder of its granule's folder
    (the collection folder of the hub's store). Two stores may tile one tile's files apart."""
    parts = urlsplit(href)
    if parts.scheme and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return str(PurePosixPath(href).parent.parent)


def block_grid(href: str, grid: OutputGrid) -> BlockGrid | None:
    """The file's block grid on the output grid, if its blocks fall on whole output pixels
    (None too for a file that cannot be opened: the read reports that, not the plan)."""
    return _on_grid(_file_layout(href), grid)


def _file_layout(href: str) -> _FileLayout | None:
    try:
        with open_raster(signed(href)) as src:
            epsg = src.crs.to_epsg() if src.crs is not None else None
            return epsg, src.transform, *src.block_shapes[0]
    except (RasterioIOError, SigningError):
        return None


def _on_grid(layout: _FileLayout | None, grid: OutputGrid) -> BlockGrid | None:
    if layout is None:
        return None
    epsg, t, block_h, block_w = layout
    g = grid.transform
    if (epsg is None or epsg != grid.epsg or t.b or t.d or g.b or g.d
            or t.a <= 0 or t.e >= 0):
        return None
    values = (block_h * -t.e / -g.e, block_w * t.a / g.a, (g.f - t.f) / -g.e,
              (t.c - g.c) / g.a)
    whole = [round(v) for v in values]
    if any(abs(v - w) > _TOLERANCE * max(1.0, abs(v)) for v, w in zip(values, whole,
                                                                      strict=True)):
        return None
    height, width, row, col = whole
    if height <= 0 or width <= 0:
        return None
    return BlockGrid(height, width, row, col)


def _central_scene(grid: OutputGrid, scenes: Sequence[Scene]) -> Scene | None:
    """A granule whose footprint holds the grid's centre, in the grid's CRS, else None."""
    left, bottom, right, top = grid.bounds
    to_lonlat = Transformer.from_crs(grid.epsg, 4326, always_xy=True)
    centre = Point(to_lonlat.transform((left + right) / 2, (bottom + top) / 2))
    for scene in scenes:
        if not scene.footprint.contains(centre):
            continue
        some = next(iter(scene.assets.values()), None)
        if some is not None and some.epsg in (None, grid.epsg):
            return scene
    return None

