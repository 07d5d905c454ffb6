"""Slow, obviously-correct twins of the kernels in `compositing.selection.kernels` (tests only)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from compositing.selection.kernels import STC_BANDS


def medoid_index_reference(refl: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Medoid per pixel by the textbook definition, one pixel at a time."""
    return medoid_reference(refl, valid)[0]


def medoid_reference(refl: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index, spread) per pixel: the earliest observation with the smallest distance sum.

    Plain Python floats (IEEE float64), summed in band order and then in time order: the
    canonical sums that `compositing.selection.kernels` promises to decide on. An observation with a
    non-finite band is not valid.
    """
    _, _, height, width = refl.shape
    index = np.full((height, width), -1, np.int16)
    spread = np.full((height, width), np.nan)
    for y in range(height):
        for x in range(width):
            members = _finite_members(refl, valid, y, x, range(refl.shape[1]))
            spectra = [[float(v) for v in refl[t, :, y, x]] for t in members]
            best = None
            for i, spectrum in enumerate(spectra):
                total = _distance_sum(spectrum, spectra, i)
                if best is None or total < best[1]:  # strict: ties stay with the earliest
                    best = (i, total)
            if best is not None:
                index[y, x] = members[best[0]]
                spread[y, x] = best[1] / len(members)
    return index, spread


def _distance_sum(spectrum: list[float], spectra: list[list[float]], i: int) -> float:
    total = 0.0
    for j, other in enumerate(spectra):
        if j != i:
            squares = 0.0
            for a, b in zip(spectrum, other, strict=True):
                squares += (a - b) * (a - b)
            total += math.sqrt(squares)
    return total


def _finite_members(refl: np.ndarray, valid: np.ndarray, y: int, x: int,
                    bands: Sequence[int]) -> list[int]:
    """Valid observations whose given bands are all finite, in time order."""
    return [t for t in range(refl.shape[0])
            if valid[t, y, x] and all(math.isfinite(float(refl[t, b, y, x])) for b in bands)]


def stc_index_reference(refl: np.ndarray, valid: np.ndarray, band_names: Sequence[str],
                        scl: np.ndarray | None = None, dn_offset: float = 0.0) -> np.ndarray:
    """The STC decision tree written out per pixel with plain Python."""
    integer = np.issubdtype(refl.dtype, np.integer)
    scale, shift = (1e-4, float(dn_offset)) if integer else (1.0, 0.0)
    pos = [list(band_names).index(b) for b in STC_BANDS]
    _, _, height, width = refl.shape
    out = np.full((height, width), -1, np.int16)
    for y in range(height):
        for x in range(width):
            members = _finite_members(refl, valid, y, x, pos)
            spectra = [dict(zip(STC_BANDS, (refl[t, pos, y, x].astype(np.float64) + shift) * scale,
                                strict=True)) for t in members]
            for t, s in zip(members, spectra, strict=True):
                s["SCL"] = int(scl[t, y, x]) if scl is not None else 0
            pick = _stc_pick(spectra)
            out[y, x] = members[pick] if pick is not None else -1
    return out


def _nd(a: float, b: float) -> float:
    return (a - b) / (a + b) if a + b != 0 else 0.0


def _tcb(s: dict) -> float:
    return (0.3029 * s["B02"] + 0.2786 * s["B03"] + 0.4733 * s["B04"] + 0.5599 * s["B8A"]
            + 0.508 * s["B11"] + 0.1872 * s["B12"])


def _cloud_or_snow(s: dict) -> bool:
    b2, b3, b4, b8, b8a, b11, b12 = (s[b] for b in STC_BANDS)
    r311 = b3 / b11 if b11 else np.inf
    r113 = b11 / b3 if b3 else np.inf
    rgb = (b2 + b3 + b4) / 3
    haze = -0.8239 * b2 + 0.0849 * b3 + 0.4396 * b4 - 0.058 * b8a + 0.2013 * b11 - 0.2773 * b12
    nd811 = _nd(b8, b11)
    if _nd(b3, b11) > 0.7 and not (r311 > 1 and _tcb(s) < 0.36):
        return True
    high = ((r311 > 1 and rgb > 0.3 and (haze < -0.1 or (haze > -0.08 and nd811 < 0.4)))
            or haze < -0.2
            or (r311 > 1 and rgb < 0.3 and haze < -0.055 and rgb > 0.12)
            or (not (r311 > 1 and rgb < 0.3) and haze < -0.09 and rgb > 0.12))
    low = ((r113 > 1 and rgb < 0.2 and (haze < -0.1 or (haze < -0.08 and nd811 < 0.4)))
           or haze < -0.2
           or (r311 > 1 and rgb < 0.2 and haze < -0.055 and rgb > 0.12)
           or (not (r311 > 1 and rgb < 0.2) and haze < -0.02 and rgb > 0.12))
    return bool(high or low)


def _snow(s: dict) -> bool:
    """ATBD isSnow: Sen2Cor says snow (SCL 11) and the spectrum agrees."""
    return s["SCL"] == 11 and _nd(s["B03"], s["B11"]) > 0.6 and _tcb(s) > 0.36


def _stc_pick(spectra: list[dict]) -> int | None:
    n = len(spectra)
    if n == 0:
        return None
    if n == 1:
        return 0
    ndvi = [_nd(s["B08"], s["B04"]) for s in spectra]
    mndwi = [_nd(s["B03"], s["B11"]) for s in spectra]
    tcb = [_tcb(s) for s in spectra]
    first = lambda values, target: values.index(target)  # noqa: E731  earliest on ties
    i_ndvi_max, i_ndvi_min = first(ndvi, max(ndvi)), first(ndvi, min(ndvi))
    i_mndwi_max, i_tcb_min = first(mndwi, max(mndwi)), first(tcb, min(tcb))
    ndvi_mean, mndwi_mean, tcb_mean = sum(ndvi) / n, sum(mndwi) / n, sum(tcb) / n
    if mndwi_mean < -0.55 and max(ndvi) - ndvi_mean < 0.05:
        return i_ndvi_max
    if ndvi_mean < -0.3 and mndwi_mean - min(mndwi) < 0.05:
        return i_mndwi_max
    if ndvi_mean > 0.6 and tcb_mean < 0.45:
        return i_ndvi_max
    if not _cloud_or_snow(spectra[i_tcb_min]):
        return i_tcb_min
    if not _snow(spectra[i_tcb_min]):
        return i_tcb_min if tcb[i_tcb_min] <= 1.0 else None
    if ndvi_mean < -0.2:
        return i_mndwi_max
    if tcb_mean > 0.45:
        return i_ndvi_min
    return i_ndvi_max


def valid_mask_reference(refl: np.ndarray, scl: np.ndarray, band_names: Sequence[str],
                         buffer_px: int = 0, oblique: np.ndarray | None = None,
                         halo: int = 0) -> np.ndarray:
    """`mask.valid_mask` rule by rule on whole arrays (NumPy), the dilation by brute force."""
    from compositing import l2a
    from compositing.selection.mask import BUFFERED_CLASSES

    core = _crop(scl, halo)
    valid = l2a.scl_valid_lut()[core]
    if buffer_px > 0:
        valid &= ~_crop(dilate_reference(np.isin(scl, list(BUFFERED_CLASSES)), buffer_px), halo)
    for b in range(refl.shape[1]):
        valid &= np.isfinite(refl[:, b]) if refl.dtype.kind == "f" else refl[:, b] != 0
    if oblique is not None:
        valid &= ~oblique
    t, y, x = np.nonzero(valid & (core == l2a.SCL_SNOW))
    valid[t, y, x] = passes_snow_test_reference(refl[t, :, y, x], band_names)
    return valid


def passes_snow_test_reference(spectra: np.ndarray, band_names: Sequence[str]) -> np.ndarray:
    """(n,) True where NDSI > 0.6 and TCB > 0.36, for spectra (n, band) in stack DN or float
    reflectance; TCB summed over `mask.SNOW_TEST_BANDS` in order, in float64."""
    from compositing.archive.stack import STACK_DN_OFFSET, STACK_SCALE
    from compositing.selection.mask import SNOW_MIN_NDSI, SNOW_MIN_TCB, TCB_WEIGHTS

    pos = {b: list(band_names).index(b) for b in TCB_WEIGHTS}
    refl = spectra.astype(np.float64)
    if spectra.dtype.kind in "ui":
        refl = (refl + STACK_DN_OFFSET) * STACK_SCALE
    b3, b11 = refl[:, pos["B03"]], refl[:, pos["B11"]]
    with np.errstate(invalid="ignore", divide="ignore"):
        ndsi = (b3 - b11) / (b3 + b11)
    tcb = sum(w * refl[:, pos[b]] for b, w in TCB_WEIGHTS.items())
    return np.asarray((ndsi > SNOW_MIN_NDSI) & (tcb > SNOW_MIN_TCB))


def prefer_clear_surroundings_reference(valid: np.ndarray, scl: np.ndarray, radius_px: int,
                                        halo: int = 0) -> np.ndarray:
    """`mask.prefer_clear_surroundings` on whole arrays (NumPy), the dilation by brute force."""
    from compositing import l2a
    from compositing.selection.mask import BUFFERED_CLASSES

    if radius_px <= 0 or valid.shape[0] == 0:
        return valid
    near = _crop(dilate_reference(np.isin(scl, list(BUFFERED_CLASSES)), radius_px), halo)
    away = valid & ~near & (_crop(scl, halo) != l2a.SCL_SNOW)
    return np.where(away.any(axis=0), away, valid)


def dilate_reference(mask: np.ndarray, radius: int) -> np.ndarray:
    """Dilation of (t, y, x) masks by a (2r+1)² square, clipped at the edges: each set pixel
    sets its square."""
    out = np.zeros_like(mask)
    for t, y, x in zip(*np.nonzero(mask), strict=True):
        out[t, max(0, y - radius):y + radius + 1, max(0, x - radius):x + radius + 1] = True
    return out


def _crop(values: np.ndarray, px: int) -> np.ndarray:
    return values if px == 0 else values[..., px:-px, px:-px]
