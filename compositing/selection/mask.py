"""Which observations are valid for compositing (S2GM 'weak 1' filter plus our snow test).

Computed by numba kernels in one pass over the stack per observation (SCL class, data in every
band, view zenith, snow test, distance to detected clouds), so that no (time, y, x) temporary
is made per band or per rule; `kernels_reference` keeps the plain NumPy twins the tests
compare them with.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numba
import numpy as np

from compositing import l2a
from compositing.archive.stack import STACK_DN_OFFSET, STACK_SCALE

# Snow test thresholds (ours, stricter than S2GM; DOMAIN.md), on 0-1 reflectance.
SNOW_MIN_NDSI = 0.6
SNOW_MIN_TCB = 0.36
TCB_WEIGHTS: dict[str, float] = {
    "B02": 0.3029, "B03": 0.2786, "B04": 0.4733, "B8A": 0.5599, "B11": 0.508, "B12": 0.1872,
}
SNOW_TEST_BANDS: tuple[str, ...] = tuple(TCB_WEIGHTS)
_SNOW_B03, _SNOW_B11 = SNOW_TEST_BANDS.index("B03"), SNOW_TEST_BANDS.index("B11")


# Classes whose masks the optional buffer dilates: cloud shadow, clouds, cirrus.
BUFFERED_CLASSES: frozenset[int] = frozenset({
    l2a.SCL_CLOUD_SHADOW, l2a.SCL_CLOUD_MEDIUM, l2a.SCL_CLOUD_HIGH, l2a.SCL_CIRRUS})


# Short-term composite: among the valid observations of a pixel, those at least this far from
# any cloud, cirrus or cloud shadow Sen2Cor detected in the same acquisition are preferred
# (docs/ATBD.md, "STC: distance to detected clouds"). One 60 m SCL pixel: Sen2Cor misses thin
# cloud edges and shadow penumbrae next to what it detects, and the tree's minimum-TCB rule
# is drawn to exactly those darkened or hazy pixels.
STC_CLEAR_DISTANCE_M = 60


def stc_clear_px(resolution_m: float) -> int:
    """STC_CLEAR_DISTANCE_M in output pixels (at least 1)."""
    return max(1, math.ceil(STC_CLEAR_DISTANCE_M / resolution_m - 1e-9))


def _class_lut(classes: Sequence[int] | frozenset[int]) -> np.ndarray:
    lut = np.zeros(256, bool)
    lut[list(classes)] = True
    return lut


_BUFFERED_LUT = _class_lut(BUFFERED_CLASSES)
_SNOW = l2a.SCL_SNOW  # a plain global: numba freezes it as a constant
_NO_OBLIQUE = np.zeros((0, 0, 0), bool)
_NO_WHERE = np.zeros((0, 0), bool)


def prefer_clear_surroundings(valid: np.ndarray, scl: np.ndarray, radius_px: int,
                              halo: int = 0, where: np.ndarray | None = None) -> np.ndarray:
    """(time, y, x) the valid observations the STC chooses among (a new array).

    Where at least one valid observation of a pixel is not snow and lies radius_px or more
    pixels (square neighbourhood) from every detected cloud, cirrus and cloud shadow, only
    those; elsewhere all valid observations, so a pixel never loses its composite to this
    preference. `scl` covers the chunk of `valid` grown by `halo` pixels on each side, and the
    halo must be at least radius_px, as for the cloud buffer. `where` (y, x): pixels to decide
    for; none elsewhere.
    """
    if radius_px <= 0 or valid.shape[0] == 0:
        return valid & where if where is not None else valid.copy()
    # Snow (SCL 11) is never promoted: Sen2Cor's snow is where it hides clouds (S2GM's known
    # issue), and snow or not is the decision tree's own question (its steps 5-9).
    out = np.zeros(valid.shape, bool)  # calloc: pages the kernel never writes stay untouched
    if where is not None and where.sum() * (2 * radius_px + 1) ** 2 <= 8 * where.size:
        # Few pixels to decide for (the STC's, in a year of data): each looks at its own
        # neighbourhoods, rather than dilating every observation's clouds over the chunk.
        _prefer_at_kernel(valid, scl, radius_px, halo, _BUFFERED_LUT, where, out)
    else:
        _prefer_kernel(valid, scl, radius_px, halo, _BUFFERED_LUT,
                       where if where is not None else _NO_WHERE, where is not None, out)
    return out


def valid_mask(refl: np.ndarray, scl: np.ndarray, band_names: Sequence[str],
               buffer_px: int = 0, oblique: np.ndarray | None = None,
               halo: int = 0) -> np.ndarray:
    """(time, y, x) True where an observation may be composited.

    refl: (time, band, y, x) stack DN (uint16, 0 for nodata: `archive.stack`) or float
    reflectance with NaN for nodata; scl: (time, y, x) uint8 on the same chunk grown by `halo`
    pixels on each side; oblique: (time, y, x) True where the mean view zenith is too high.
    Valid: SCL class in {2, 4, 5, 6, 11}, every band has data, SCL 11 only if it passes the
    snow test (Sen2Cor calls some clouds snow), and not too oblique (S2GM: swath-border
    artefacts, `angles.MAX_VIEW_ZENITH_DEG`). With buffer_px > 0, also at least that many
    pixels (square neighbourhood) away from cloud, cirrus and cloud shadow: Sen2Cor misses the
    thin edges of clouds; the halo must then be at least buffer_px.
    """
    n_time, _, height, width = refl.shape
    if scl.shape != (n_time, height + 2 * halo, width + 2 * halo):
        raise ValueError(f"scl {scl.shape} does not cover refl {refl.shape} with halo {halo}")
    names = list(band_names)
    snow_pos = np.array([names.index(b) if b in names else -1 for b in SNOW_TEST_BANDS],
                        np.int64)
    if (snow_pos < 0).any() and (scl == l2a.SCL_SNOW).any():
        missing = [b for b in SNOW_TEST_BANDS if b not in names]
        raise ValueError(f"the snow test needs bands {', '.join(missing)}")
    valid = np.empty((n_time, height, width), bool)
    _valid_kernel(refl, scl, halo, buffer_px, _BUFFERED_LUT,
                  oblique if oblique is not None else _NO_OBLIQUE, oblique is not None,
                  l2a.scl_valid_lut(), snow_pos, np.array(list(TCB_WEIGHTS.values())),
                  refl.dtype.kind in "ui", valid)
    return valid


def observation_counts(valid: np.ndarray, scl: np.ndarray,
                       halo: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(y, x) int32: valid observations, and observations with data (SCL class > 0) on the
    chunk of `valid` (`scl` grown by `halo`)."""
    n_valid = np.empty(valid.shape[1:], np.int32)
    total = np.empty(valid.shape[1:], np.int32)
    _count_kernel(valid, scl, halo, n_valid, total)
    return n_valid, total


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary dilation of (..., y, x) masks by a (2r+1)² square (clipped at the edges)."""
    flat = np.ascontiguousarray(mask, bool).reshape(-1, *mask.shape[-2:])
    out = np.empty(flat.shape, bool)
    lut = np.zeros(256, bool)
    lut[1] = True
    for i in range(flat.shape[0]):
        _near(flat[i].view(np.uint8), lut, radius, 0, 0, out[i])
    return out.reshape(mask.shape)


@numba.njit(nogil=True, cache=True)
def _near(classes, lut, radius, off_y, off_x, out):  # type: ignore[no-untyped-def]
    """out (h, w): whether a pixel of a class in `lut` lies within `radius` pixels (square
    neighbourhood, clipped at the edges of `classes`) of each pixel of the chunk, whose pixel
    (0, 0) is classes[off_y, off_x].

    Running counts along rows, then along columns: O(1) per pixel whatever the radius.
    """
    big_h, big_w = classes.shape
    h, w = out.shape
    found = False
    for yy in range(big_h):
        for xx in range(big_w):
            if lut[classes[yy, xx]]:
                found = True
                break
        if found:
            break
    if not found:
        out[:, :] = False
        return
    ahead = np.empty(big_w + 1, np.int32)  # classes hit in the row up to each column
    rows = np.zeros((big_h + 1, w), np.int32)  # rows up to each row that hit near each column
    for yy in range(big_h):
        ahead[0] = 0
        for xx in range(big_w):
            ahead[xx + 1] = ahead[xx] + (1 if lut[classes[yy, xx]] else 0)
        for x in range(w):
            lo = max(0, x + off_x - radius)
            hi = min(big_w, x + off_x + radius + 1)
            rows[yy + 1, x] = rows[yy, x] + (1 if ahead[hi] > ahead[lo] else 0)
    for y in range(h):
        lo = max(0, y + off_y - radius)
        hi = min(big_h, y + off_y + radius + 1)
        for x in range(w):
            out[y, x] = rows[hi, x] > rows[lo, x]


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _passes_snow_test(refl, t, y, x, pos, weights, integer):  # type: ignore[no-untyped-def]
    """NDSI > 0.6 and TCB > 0.36 on one spectrum, in float64 in the order of the reference
    (`kernels_reference.passes_snow_test`): TCB summed over SNOW_TEST_BANDS in order."""
    tcb = 0.0
    b3 = b11 = 0.0
    for k in range(pos.shape[0]):
        v = np.float64(refl[t, pos[k], y, x])
        if integer:
            v = (v + STACK_DN_OFFSET) * STACK_SCALE
        if k == _SNOW_B03:
            b3 = v
        elif k == _SNOW_B11:
            b11 = v
        tcb += weights[k] * v
    ndsi = (b3 - b11) / (b3 + b11)
    return ndsi > SNOW_MIN_NDSI and tcb > SNOW_MIN_TCB


@numba.njit(parallel=True, nogil=True, cache=True)
def _valid_kernel(refl, scl, halo, buffer_px, buffered, oblique, has_oblique, valid_lut,  # type: ignore[no-untyped-def]
                  snow_pos, weights, integer, valid):
    n_time, n_band, h, w = refl.shape
    for t in numba.prange(n_time):
        near = np.zeros((h, w), np.bool_)
        if buffer_px > 0:
            _near(scl[t], buffered, buffer_px, halo, halo, near)
        row = np.empty(w, np.bool_)
        for y in range(h):
            for x in range(w):
                row[x] = valid_lut[scl[t, y + halo, x + halo]] and not near[y, x]
            for b in range(n_band):  # band by band along the row: the stack's own order
                for x in range(w):
                    v = refl[t, b, y, x]
                    has_data = v != 0 if integer else v - v == 0  # finite
                    row[x] = row[x] and has_data
            if has_oblique:
                for x in range(w):
                    row[x] = row[x] and not oblique[t, y, x]
            for x in range(w):
                if row[x] and scl[t, y + halo, x + halo] == _SNOW:
                    row[x] = _passes_snow_test(refl, t, y, x, snow_pos, weights, integer)
                valid[t, y, x] = row[x]


@numba.njit(parallel=True, nogil=True, cache=True)
def _prefer_kernel(valid, scl, radius, halo, buffered, where, has_where, out):  # type: ignore[no-untyped-def]
    n_time, h, w = valid.shape
    for t in numba.prange(n_time):  # away from clouds, and not snow
        near = np.empty((h, w), np.bool_)
        _near(scl[t], buffered, radius, halo, halo, near)
        for y in range(h):
            for x in range(w):
                out[t, y, x] = (valid[t, y, x] and not near[y, x]
                                and scl[t, y + halo, x + halo] != _SNOW)
    for y in numba.prange(h):  # where none is: every valid one
        some = np.zeros(w, np.bool_)
        for t in range(n_time):
            for x in range(w):
                some[x] = some[x] or out[t, y, x]
        for t in range(n_time):
            for x in range(w):
                keep = out[t, y, x] if some[x] else valid[t, y, x]
                out[t, y, x] = keep and (where[y, x] if has_where else True)


@numba.njit(parallel=True, nogil=True, cache=True)
def _prefer_at_kernel(valid, scl, radius, halo, buffered, where, out):  # type: ignore[no-untyped-def]
    """`_prefer_kernel` pixel by pixel where `where` is True (`out` is False elsewhere)."""
    n_time, h, w = valid.shape
    big_h, big_w = scl.shape[1], scl.shape[2]
    for y in numba.prange(h):
        r0, r1 = max(0, y + halo - radius), min(big_h, y + halo + radius + 1)
        for x in range(w):
            if not where[y, x]:
                continue
            c0, c1 = max(0, x + halo - radius), min(big_w, x + halo + radius + 1)
            some = False
            for t in range(n_time):
                away = valid[t, y, x] and scl[t, y + halo, x + halo] != _SNOW
                if away:
                    for yy in range(r0, r1):
                        for xx in range(c0, c1):
                            away = away and not buffered[scl[t, yy, xx]]
                out[t, y, x] = away
                some = some or away
            if not some:
                for t in range(n_time):
                    out[t, y, x] = valid[t, y, x]


@numba.njit(parallel=True, nogil=True, cache=True)
def _count_kernel(valid, scl, halo, n_valid, total):  # type: ignore[no-untyped-def]
    n_time, h, w = valid.shape
    for y in numba.prange(h):
        for x in range(w):
            n_valid[y, x] = 0
            total[y, x] = 0
        for t in range(n_time):
            for x in range(w):
                n_valid[y, x] += valid[t, y, x]
                total[y, x] += scl[t, y + halo, x + halo] > 0
