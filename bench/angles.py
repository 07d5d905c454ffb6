"""Angle work per granule and chunk: the too-oblique mask from the 5 km grids, before and after.

Before: every chunk read interpolated all four angle layers of every granule at full chunk
resolution (from the JSON lists, parsed again each time) and thresholded the view zenith. After:
the grids are parsed once per document and `too_oblique` interpolates only chunks whose nodes
straddle 11°; the angle layers are made only when ordered. Both on the angle documents the demo
archive writes (`compositing.demo.archive.angles_document`: whole 23 x 23 node grids of the
demo tiles on the first pass of 2023, two of them reaching past 11°), for 512 x 512 chunks
across each tile at 10 m in the tile's CRS and at 20 m in EPSG:3035. The pixel centres of a
reprojected chunk are made once per chunk (shared by all its granules) and timed apart.

"before" is `angles_on_chunk` on the document (all four layers, grids parsed on each call, the
same arithmetic as the old code) thresholded; "after" is `too_oblique` on the parsed grids (the
masks are checked equal); "1 layer" is `angles_on_chunk(names=["sun_zenith"])`, an order with
one angle layer. Times per granule and chunk, best of REPEATS.

    DEBUG=1 .venv/bin/python bench/angles.py
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from affine import Affine
from pyproj import Transformer

from compositing.archive import angles
from compositing.demo.archive import (
    FULL_END,
    FULL_START,
    FULL_TILES,
    acquisitions,
    angles_document,
)
from compositing.orders.mgrs import TILE_SIZE_M, tile

SIZE = 512
SPREAD = 5  # chunk positions across a tile, each way
REPEATS = 3


def _chunks(tile_id: str, epsg: int, res: float) -> list[Affine]:
    """SPREAD x SPREAD chunks of 512 x 512 `res` pixels in `epsg`, evenly over a tile."""
    t = tile(tile_id)
    steps = np.linspace(0, TILE_SIZE_M - SIZE * res, SPREAD)
    corners = [(t.ulx + dx, t.uly - dy) for dy in steps for dx in steps]
    if epsg != t.epsg:
        xs, ys = Transformer.from_crs(t.epsg, epsg, always_xy=True).transform(
            [x for x, _ in corners], [y for _, y in corners])
        corners = list(zip(xs, ys, strict=True))
    return [Affine(res, 0, x, 0, -res, y) for x, y in corners]


def _best(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, Any]:
    """Least of REPEATS timings (s) of fn(*args, **kwargs), and its result."""
    times, out = [], None
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        times.append(time.perf_counter() - t0)
    return min(times), out


def _old_mask(doc: dict[str, Any], t: Affine, shape: tuple[int, int],
              epsg: int) -> np.ndarray:
    """What a chunk read did before: every layer from the document, thresholded."""
    return angles.angles_on_chunk(doc, t, shape, epsg)["view_zenith_mean"] \
        >= angles.MAX_VIEW_ZENITH_DEG


def _chunk_times(doc: dict[str, Any], grids: angles.AngleGrids, t: Affine,
                 epsg: int) -> tuple[float, float, float, float, bool]:
    """Seconds for the chunk's coordinates, the old mask, the new one and one ordered layer;
    whether the chunk straddles the threshold. The masks are checked equal."""
    shape = (SIZE, SIZE)
    coords = 0.0  # a chunk on the tile's grid needs none
    if grids.crs != f"EPSG:{epsg}":
        t0 = time.perf_counter()
        angles._tile_coords(t, shape, epsg, grids.crs)  # once per chunk, for all its granules
        coords = time.perf_counter() - t0
    old_s, old = _best(_old_mask, doc, t, shape, epsg)
    new_s, new = _best(angles.too_oblique, grids, t, shape, epsg)
    one_s, _ = _best(angles.angles_on_chunk, grids, t, shape, epsg, names=["sun_zenith"])
    assert np.array_equal(old, np.zeros(shape, bool) if new is None else new)
    return coords, old_s, new_s, one_s, bool(old.any()) and not bool(old.all())


def main() -> None:
    acq = acquisitions(FULL_START, FULL_END)[0]
    print(f"{'tile':<6} {'chunk grid':<18} {'chunks':>6} {'straddle':>8} {'coords ms':>9} "
          f"{'before ms':>9} {'after ms':>8} {'ratio':>6} {'1 layer ms':>10}")
    before_total = after_total = 0.0
    for tile_id in FULL_TILES:
        doc = angles_document(tile(tile_id), acq)
        grids = angles.AngleGrids.from_doc(doc)
        assert grids is not None
        for epsg, res in ((tile(tile_id).epsg, 10.0), (3035, 20.0)):
            rows = [_chunk_times(doc, grids, t, epsg) for t in _chunks(tile_id, epsg, res)]
            coords, before, after, layer, straddle = (list(c) for c in zip(*rows, strict=True))
            before_total += sum(before)
            after_total += sum(after)
            grid = f"EPSG:{epsg} {res:g} m"
            print(f"{tile_id:<6} {grid:<18} {len(rows):6d} {sum(straddle):8d} "
                  f"{1000 * statistics.mean(coords):9.0f} {1000 * statistics.mean(before):9.2f} "
                  f"{1000 * statistics.mean(after):8.3f} "
                  f"{statistics.mean(before) / statistics.mean(after):6.0f} "
                  f"{1000 * statistics.mean(layer):10.2f}")
    print(f"mask over all chunks: before {before_total:.2f} s, after {after_total:.3f} s "
          f"({before_total / after_total:.0f}x); 'coords' is paid once per reprojected chunk, for "
          "all its granules, before and after")


if __name__ == "__main__":
    main()
