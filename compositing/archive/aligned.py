"""Reading a raster onto a grid that shares its CRS and pixel lattice, without a warp.

UTM products on the Sentinel-2 tile grids are the common case: the output pixel is an
integer multiple (10 m band onto 20/60 m) or divisor (20/60 m band onto 10 m) of the source
pixel, and the origins fall on each other's pixel edges. Then nearest neighbour is a strided
pick and the average a block mean, which numpy does several times faster than GDAL's warper;
the values are the ones the warper gives (the source pixel containing the output centre, or
the mean of the valid source pixels in the output pixel), except that the mean keeps its
fraction where the warper rounds it to the source's integer type, and that output pixels
beyond the raster's edge are nodata where the warper's averaging kernel reaches past it.

Values keep the source's type (nearest) so that nothing is converted twice; pixels beyond the
raster are the nodata value, or NaN in float32 where the source declares none. The average is
float32 with NaN where no valid source pixel falls.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from affine import Affine
from rasterio.enums import Resampling
from rasterio.io import DatasetReader
from rasterio.windows import Window

_EPS = 1e-6


def read_aligned(src: DatasetReader, transform: Affine, shape: tuple[int, int],
                 resampling: Resampling, nodata: float | None,
                 on_read: Callable[[Window], None] | None = None,
                 out: np.ndarray | None = None) -> np.ndarray | None:
    """Band 1 on the grid (transform, shape) (see the module docstring for the values), or
    None when the grids are not aligned (the caller warps instead). `on_read` is told each
    window of the file read (benchmarks replay them). `out`: a C-contiguous array of the
    file's type and the grid's shape that GDAL may decode into, where the grid is the file's
    own pixels, or that the repeated pixels of a coarser file are written into (then it is
    what is returned)."""
    st = src.transform
    if st.b or st.d or transform.b or transform.d or resampling not in (
            Resampling.nearest, Resampling.average):
        return None
    ratio = transform.a / st.a
    if abs(transform.e / st.e - ratio) > _EPS:
        return None
    if ratio >= 1 - _EPS:
        k = round(ratio)
        if abs(ratio - k) > _EPS:
            return None
        col0, row0 = _offset((transform.c - st.c) / st.a), _offset((transform.f - st.f) / st.e)
        if col0 is None or row0 is None:
            return None
        native = _window(src, row0, col0, shape[0] * k, shape[1] * k, nodata, on_read,
                         out if k == 1 else None)
        return _coarsen(native, k, resampling, nodata)
    k = round(1 / ratio)
    if abs(1 / ratio - k) > _EPS:
        return None
    col0, row0 = _offset((transform.c - st.c) / transform.a), _offset(
        (transform.f - st.f) / transform.e)
    if col0 is None or row0 is None:
        return None
    # Output pixel j lies in source pixel floor((offset + j + 0.5) / k) = (offset + j) // k:
    # each source pixel repeated k times, from the (offset mod k)-th copy of the first.
    r0, c0 = row0 // k, col0 // k
    r1, c1 = (row0 + shape[0] - 1) // k, (col0 + shape[1] - 1) // k
    native = _window(src, r0, c0, r1 - r0 + 1, c1 - c0 + 1, nodata, on_read)
    if out is None or out.dtype != native.dtype:
        out = np.empty(shape, native.dtype)
    _repeat_into(native, k, row0 - r0 * k, col0 - c0 * k, out)
    return out


def _repeat_into(native: np.ndarray, k: int, dr: int, dc: int, out: np.ndarray) -> None:
    """Each source pixel repeated k x k times into `out`, starting from the (dr, dc)-th copy
    of the first. Written as k x k strided copies: output rows a, a + k, a + 2k, ... are
    source rows (dr + a) // k onwards, one each (columns alike), so no enlarged temporary is
    made and every output pixel is written once (np.repeat made two, and the stack a third
    copy: 2.5x the time per slot, issue 12)."""
    for a in range(k):
        rows = out[a::k]
        sr = (dr + a) // k
        for b in range(k):
            dst = rows[:, b::k]
            sc = (dc + b) // k
            dst[...] = native[sr:sr + dst.shape[0], sc:sc + dst.shape[1]]


def _offset(value: float) -> int | None:
    nearest = round(value)
    return nearest if abs(value - nearest) < _EPS else None


def _window(src: DatasetReader, row: int, col: int, height: int, width: int,
            nodata: float | None, on_read: Callable[[Window], None] | None,
            out: np.ndarray | None = None) -> np.ndarray:
    """Source pixels [row, row+height) x [col, col+width), nodata (NaN without one) outside;
    into `out` where the window lies in the file."""
    r0, c0 = max(row, 0), max(col, 0)
    r1, c1 = min(row + height, src.height), min(col + width, src.width)
    inside = r1 > r0 and c1 > c0
    if inside and on_read is not None:
        on_read(Window(c0, r0, c1 - c0, r1 - r0))
    if inside and (r0, c0, r1, c1) == (row, col, row + height, col + width):
        return src.read(1, window=Window(c0, r0, c1 - c0, r1 - r0), out=out)
    if nodata is None:
        out = np.full((height, width), np.nan, np.float32)
    else:
        out = np.full((height, width), nodata, src.dtypes[0])
    if inside:
        out[r0 - row:r1 - row, c0 - col:c1 - col] = src.read(
            1, window=Window(c0, r0, c1 - c0, r1 - r0))
    return out


def _coarsen(native: np.ndarray, k: int, resampling: Resampling,
             nodata: float | None) -> np.ndarray:
    if k == 1:
        return native
    h, w = native.shape[0] // k, native.shape[1] // k
    blocks = native.reshape(h, k, w, k)
    if resampling == Resampling.nearest:
        return blocks[:, k // 2, :, k // 2].copy()  # the pixel containing the centre
    valid = ~np.isnan(blocks) if native.dtype.kind == "f" else np.ones(blocks.shape, bool)
    if nodata is not None:
        valid &= blocks != nodata
    counts = valid.sum(axis=(1, 3))
    sums = np.where(valid, blocks, 0).sum(axis=(1, 3), dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):  # all-nodata blocks become NaN
        return (sums / counts).astype(np.float32)
