"""Which observations are valid for compositing (S2GM 'weak 1' filter plus our snow test)."""

from __future__ import annotations

import math
from collections.abc import Sequence

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


def prefer_clear_surroundings(valid: np.ndarray, scl: np.ndarray, radius_px: int,
                              halo: int = 0) -> np.ndarray:
    """(time, y, x) the valid observations the STC chooses among.

    Where at least one valid observation of a pixel is not snow and lies radius_px or more
    pixels (square neighbourhood) from every detected cloud, cirrus and cloud shadow, only
    those; elsewhere all valid observations, so a pixel never loses its composite to this
    preference. `scl` covers the chunk of `valid` grown by `halo` pixels on each side, and the
    halo must be at least radius_px, as for the cloud buffer.
    """
    if radius_px <= 0 or valid.shape[0] == 0:
        return valid
    lut = np.zeros(256, bool)
    lut[list(BUFFERED_CLASSES)] = True
    # Snow (SCL 11) is never promoted: Sen2Cor's snow is where it hides clouds (S2GM's known
    # issue), and snow or not is the decision tree's own question (its steps 5-9).
    away = valid & ~_crop(dilate(lut[scl], radius_px), halo) & (_crop(scl, halo) != l2a.SCL_SNOW)
    return np.where(away.any(axis=0), away, valid)


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
    core = _crop(scl, halo)
    valid = l2a.scl_valid_lut()[core]
    if buffer_px > 0:
        lut = np.zeros(256, bool)
        lut[list(BUFFERED_CLASSES)] = True
        valid &= ~_crop(dilate(lut[scl], buffer_px), halo)
    for b in range(refl.shape[1]):  # band by band: no (time, band, y, x) temporary
        valid &= np.isfinite(refl[:, b]) if refl.dtype.kind == "f" else refl[:, b] != 0
    if oblique is not None:
        valid &= ~oblique
    snow = valid & (core == l2a.SCL_SNOW)
    if snow.any():
        t, y, x = np.nonzero(snow)
        del snow
        # In batches: the spectra of a snowy year would otherwise take hundreds of MB.
        for i in range(0, t.size, _SNOW_BATCH):
            bt, by, bx = t[i:i + _SNOW_BATCH], y[i:i + _SNOW_BATCH], x[i:i + _SNOW_BATCH]
            fails = ~passes_snow_test(refl[bt, :, by, bx], band_names)
            valid[bt[fails], by[fails], bx[fails]] = False
    return valid


_SNOW_BATCH = 1 << 18  # spectra per batch of the snow test (16 MB of float64 for 8 bands)


def passes_snow_test(spectra: np.ndarray, band_names: Sequence[str]) -> np.ndarray:
    """(n,) True where NDSI > 0.6 and TCB > 0.36, for spectra (n, band) in stack DN or float
    reflectance."""
    pos = {b: list(band_names).index(b) for b in SNOW_TEST_BANDS}
    refl = spectra.astype(np.float64)
    if spectra.dtype.kind in "ui":
        refl = (refl + STACK_DN_OFFSET) * STACK_SCALE
    b3, b11 = refl[:, pos["B03"]], refl[:, pos["B11"]]
    with np.errstate(invalid="ignore", divide="ignore"):
        ndsi = (b3 - b11) / (b3 + b11)
    tcb = sum(w * refl[:, pos[b]] for b, w in TCB_WEIGHTS.items())
    return np.asarray((ndsi > SNOW_MIN_NDSI) & (tcb > SNOW_MIN_TCB))


def _crop(values: np.ndarray, px: int) -> np.ndarray:
    """(..., y, x) without a border of px pixels."""
    return values if px == 0 else values[..., px:-px, px:-px]


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary dilation of (..., y, x) masks by a (2r+1)² square, separably with shifted ORs."""
    out = mask.copy()
    for axis in (-2, -1):
        src = out.copy()
        n = src.shape[axis]
        for shift in range(1, min(radius, n - 1) + 1):
            ahead = [slice(None)] * src.ndim
            behind = [slice(None)] * src.ndim
            ahead[axis], behind[axis] = slice(shift, None), slice(None, n - shift)
            out[tuple(behind)] |= src[tuple(ahead)]
            out[tuple(ahead)] |= src[tuple(behind)]
    return out
