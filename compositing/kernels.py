"""Per-pixel selection kernels (numba): the spectral medoid and the S2GM short-term composite.

Both return, per pixel, the time index of the chosen observation (-1: none), so that every
output band and auxiliary value can be gathered from one observation without blending.
Each kernel has a slow, obviously-correct twin in `compositing.kernels_reference`.

Threading: kernels run `prange` over rows with numba's default threading layer; they release
the GIL (nogil) so a worker thread pool can overlap them with I/O. `cache=True` writes the
compiled code beside this file (or numba's cache dir), shared by prefork worker processes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numba
import numpy as np

# Indices into the per-pixel STC band vector built by `stc_band_positions`.
STC_BANDS: tuple[str, ...] = ("B02", "B03", "B04", "B08", "B8A", "B11", "B12")
_B2, _B3, _B4, _B8, _B8A, _B11, _B12 = range(7)


def medoid_index(
    refl: np.ndarray, valid: np.ndarray, out: np.ndarray | None = None,
    spread: np.ndarray | None = None,
) -> np.ndarray:
    """Time index of the medoid per pixel (ties to the earliest), -1 without valid observation.

    refl: (time, band, y, x) uint16 or float32; valid: (time, y, x) bool. `spread`, if given,
    receives the medoid's summed distance divided by the number of valid observations
    (S2GM `medoid_mos`), NaN where there is none.
    """
    _check_stack(refl, valid)
    out = _out_index(refl, out)
    if spread is None:
        spread = np.empty(out.shape, np.float64)
    _medoid_kernel(refl, valid, out, spread)
    return out


@numba.njit(nogil=True, cache=True, inline="always")
def _valid_members(valid, y, x, members):  # type: ignore[no-untyped-def]
    """Write the time indices valid at (y, x) into members, in time order; return how many."""
    n = 0
    for t in range(valid.shape[0]):
        if valid[t, y, x]:
            members[n] = t
            n += 1
    return n


@numba.njit(parallel=True, nogil=True, cache=True)
def _medoid_kernel(refl, valid, out, spread):  # type: ignore[no-untyped-def]
    n_time, n_band, height, width = refl.shape
    for y in numba.prange(height):
        members = np.empty(n_time, np.int64)
        sums = np.empty(n_time, np.float64)
        for x in range(width):
            n = _valid_members(valid, y, x, members)
            if n == 0:
                out[y, x] = -1
                spread[y, x] = np.nan
                continue
            sums[:n] = 0.0
            # Each pair once: the distance counts for both members.
            for i in range(n):
                ti = members[i]
                for j in range(i + 1, n):
                    tj = members[j]
                    d2 = 0.0
                    for b in range(n_band):
                        diff = np.float64(refl[ti, b, y, x]) - np.float64(refl[tj, b, y, x])
                        d2 += diff * diff
                    d = math.sqrt(d2)
                    sums[i] += d
                    sums[j] += d
            best = 0
            for i in range(1, n):
                if sums[i] < sums[best]:  # strict: ties stay with the earliest
                    best = i
            out[y, x] = members[best]
            spread[y, x] = sums[best] / n


def stc_band_positions(band_names: Sequence[str]) -> np.ndarray:
    """Positions of the STC bands (B02, B03, B04, B08, B8A, B11, B12) in a stack's band axis."""
    missing = [b for b in STC_BANDS if b not in band_names]
    if missing:
        raise ValueError(f"the short-term composite needs bands {', '.join(missing)}")
    return np.array([list(band_names).index(b) for b in STC_BANDS], dtype=np.int64)


def stc_index(
    refl: np.ndarray, valid: np.ndarray, band_names: Sequence[str],
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Time index chosen by the S2GM V1.1.0 short-term decision tree, -1 where none.

    Reflectance on the 0-1 scale; integer input is read as DN / 10000 (offset already removed).
    """
    _check_stack(refl, valid)
    out = _out_index(refl, out)
    scale = 1e-4 if np.issubdtype(refl.dtype, np.integer) else 1.0
    _stc_kernel(refl, valid, stc_band_positions(band_names), scale, out)
    return out


@numba.njit(nogil=True, cache=True, inline="always")
def tasselled_cap_brightness(b2, b3, b4, b8a, b11, b12):  # type: ignore[no-untyped-def]
    """S2GM TCB on reflectance."""
    return 0.3029 * b2 + 0.2786 * b3 + 0.4733 * b4 + 0.5599 * b8a + 0.508 * b11 + 0.1872 * b12


@numba.njit(nogil=True, cache=True)
def is_cloud_or_snow(s):  # type: ignore[no-untyped-def]
    """ATBD Fig. 2-15 cloud-or-snow test on one spectrum s = (B02, B03, B04, B08, B8A, B11, B12).

    Operator precedence as printed: `a || b || c && d || e` is `a || b || (c && d) || e`.
    The snow sub-test's brightness uses B8A, like every other TCB here (the figure prints B8,
    which we read as a typo; see docs/ATBD.md).
    """
    b2, b3, b4, b8, b8a, b11, b12 = s[_B2], s[_B3], s[_B4], s[_B8], s[_B8A], s[_B11], s[_B12]
    ratio_b3_b11 = b3 / b11 if b11 != 0 else np.inf
    ratio_b11_b3 = b11 / b3 if b3 != 0 else np.inf
    rgb_mean = (b2 + b3 + b4) / 3.0
    tc_haze = -0.8239 * b2 + 0.0849 * b3 + 0.4396 * b4 - 0.058 * b8a + 0.2013 * b11 - 0.2773 * b12
    nd_b8_b11 = (b8 - b11) / (b8 + b11) if (b8 + b11) != 0 else 0.0
    ndsi = (b3 - b11) / (b3 + b11) if (b3 + b11) != 0 else 0.0
    tcb = tasselled_cap_brightness(b2, b3, b4, b8a, b11, b12)
    snow = ndsi > 0.7 and not (ratio_b3_b11 > 1 and tcb < 0.36)
    if snow:
        return True
    high = (
        ((ratio_b3_b11 > 1 and rgb_mean > 0.3) and (tc_haze < -0.1 or (tc_haze > -0.08
                                                                       and nd_b8_b11 < 0.4)))
        or tc_haze < -0.2
        or ((ratio_b3_b11 > 1 and rgb_mean < 0.3) and (tc_haze < -0.055 and rgb_mean > 0.12))
        or (not (ratio_b3_b11 > 1 and rgb_mean < 0.3) and (tc_haze < -0.09 and rgb_mean > 0.12))
    )
    if high:
        return True
    low = (
        ((ratio_b11_b3 > 1 and rgb_mean < 0.2) and (tc_haze < -0.1 or (tc_haze < -0.08
                                                                       and nd_b8_b11 < 0.4)))
        or tc_haze < -0.2
        or ((ratio_b3_b11 > 1 and rgb_mean < 0.2) and (tc_haze < -0.055 and rgb_mean > 0.12))
        or (not (ratio_b3_b11 > 1 and rgb_mean < 0.2) and (tc_haze < -0.02 and rgb_mean > 0.12))
    )
    return low


@numba.njit(nogil=True, cache=True)
def is_snow(s):  # type: ignore[no-untyped-def]
    """Snow test (ours, DOMAIN.md): NDSI > 0.6 and TCB > 0.36 on s = STC band vector."""
    b3, b11 = s[_B3], s[_B11]
    ndsi = (b3 - b11) / (b3 + b11) if (b3 + b11) != 0 else 0.0
    tcb = tasselled_cap_brightness(s[_B2], b3, s[_B4], s[_B8A], b11, s[_B12])
    return ndsi > 0.6 and tcb > 0.36


@numba.njit(nogil=True, cache=True)
def _safe_nd(a, b):  # type: ignore[no-untyped-def]
    return (a - b) / (a + b) if (a + b) != 0 else 0.0


@numba.njit(parallel=True, nogil=True, cache=True)
def _stc_kernel(refl, valid, pos, scale, out):  # type: ignore[no-untyped-def]
    n_time, _, height, width = refl.shape
    for y in numba.prange(height):
        members = np.empty(n_time, np.int64)
        ndvi = np.empty(n_time, np.float64)
        mndwi = np.empty(n_time, np.float64)
        tcb = np.empty(n_time, np.float64)
        s = np.empty(7, np.float64)
        for x in range(width):
            n = _valid_members(valid, y, x, members)
            if n == 0:
                out[y, x] = -1
                continue
            if n == 1:
                out[y, x] = members[0]
                continue
            for i in range(n):
                t = members[i]
                for k in range(7):
                    s[k] = np.float64(refl[t, pos[k], y, x]) * scale
                ndvi[i] = _safe_nd(s[_B8], s[_B4])
                mndwi[i] = _safe_nd(s[_B3], s[_B11])
                tcb[i] = tasselled_cap_brightness(s[_B2], s[_B3], s[_B4], s[_B8A], s[_B11],
                                                  s[_B12])
            # argmax/argmin keep the first (earliest) on ties.
            i_ndvi_max, i_ndvi_min, i_mndwi_max, i_mndwi_min, i_tcb_min = 0, 0, 0, 0, 0
            ndvi_sum, mndwi_sum, tcb_sum = 0.0, 0.0, 0.0
            for i in range(n):
                ndvi_sum += ndvi[i]
                mndwi_sum += mndwi[i]
                tcb_sum += tcb[i]
                if ndvi[i] > ndvi[i_ndvi_max]:
                    i_ndvi_max = i
                if ndvi[i] < ndvi[i_ndvi_min]:
                    i_ndvi_min = i
                if mndwi[i] > mndwi[i_mndwi_max]:
                    i_mndwi_max = i
                if mndwi[i] < mndwi[i_mndwi_min]:
                    i_mndwi_min = i
                if tcb[i] < tcb[i_tcb_min]:
                    i_tcb_min = i
            ndvi_mean, mndwi_mean, tcb_mean = ndvi_sum / n, mndwi_sum / n, tcb_sum / n
            t_min = members[i_tcb_min]
            for k in range(7):
                s[k] = np.float64(refl[t_min, pos[k], y, x]) * scale
            if mndwi_mean < -0.55 and ndvi[i_ndvi_max] - ndvi_mean < 0.05:
                pick = i_ndvi_max
            elif ndvi_mean < -0.3 and mndwi_mean - mndwi[i_mndwi_min] < 0.05:
                pick = i_mndwi_max
            elif ndvi_mean > 0.6 and tcb_mean < 0.45:
                pick = i_ndvi_max
            elif not is_cloud_or_snow(s):
                pick = i_tcb_min
            elif not is_snow(s):
                pick = i_tcb_min if tcb[i_tcb_min] <= 1.0 else -1
            elif ndvi_mean < -0.2:
                pick = i_mndwi_max
            elif tcb_mean > 0.45:
                pick = i_ndvi_min
            else:
                pick = i_ndvi_max
            out[y, x] = members[pick] if pick >= 0 else -1


def _check_stack(refl: np.ndarray, valid: np.ndarray) -> None:
    if refl.ndim != 4 or valid.ndim != 3:
        raise ValueError("refl must be (time, band, y, x) and valid (time, y, x)")
    if refl.shape[0] != valid.shape[0] or refl.shape[2:] != valid.shape[1:]:
        raise ValueError(f"refl {refl.shape} and valid {valid.shape} do not match")
    if refl.shape[0] > np.iinfo(np.int16).max:
        raise ValueError("at most 32767 observations fit an int16 index")
    if valid.dtype != np.bool_:
        raise ValueError("valid must be a boolean array")


def _out_index(refl: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    shape = refl.shape[2:]
    if out is None:
        return np.empty(shape, np.int16)
    if out.shape != shape or out.dtype != np.int16:
        raise ValueError(f"out must be int16 of shape {shape}")
    return out
