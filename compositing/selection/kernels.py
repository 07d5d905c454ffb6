"""Per-pixel selection kernels (numba): the spectral medoid and the S2GM short-term composite.

Both return, per pixel, the time index of the chosen observation (-1: none), so that every
output band and auxiliary value can be gathered from one observation without blending.
Each kernel has a slow, obviously-correct twin in `compositing.selection.kernels_reference`.

Threading: kernels run `prange` over rows with numba's default threading layer; they release
the GIL (nogil) so a worker thread pool can overlap them with I/O. `cache=True` writes the
compiled code beside this file (or numba's cache dir), shared by prefork worker processes.

Medoid: exact by construction
-----------------------------
The medoid is defined on exact numbers we can reproduce anywhere: for observation i of a
pixel, the "canonical sum"
    S_i = sum over valid j != i, in time order, of sqrt(sum over bands, in band order, of
          (x_ib - x_jb)**2),
every operation in IEEE float64 (x converted from uint16 or float32, both exact), no fused
multiply-add. medoid = the earliest i with the smallest S_i. `kernels_reference` computes the
same S_i with plain Python floats, so kernel and reference agree bit for bit on the index.

Fast path and why it cannot change the index. The kernel first computes every S_i in
float32 (S~_i), vectorised over a block of pixels of a row (`medoid_lanes`), each pair once,
the terms of a sum added in whatever order and grouping is fastest. With u = 2**-24 and
k = n_band + n_time + 2 (k * u < 0.01 for any stack we accept), standard rounding-error
analysis (Higham, Accuracy and Stability of Numerical Algorithms, ch. 3) gives, against the
real-number sum R_i:
  difference  fl(a - b) = (a - b)(1 + d1)                 |d1| <= u
  square      fl(e * e) = (a - b)**2 (1 + d1)**2 (1 + d2)
  band sum    of n_band non-negative terms: each term gets (1 + t), |t| <= gamma(n_band - 1)
  sqrt        sqrt(D**2 (1 + h)) (1 + d3), |sqrt(1 + h) - 1| <= |h|
  time sum    n_time - 1 non-negative terms (masked terms are exact zeros), summed in any
              order or grouping, so each term passes at most n_time - 1 roundings:
              gamma(n_time - 1) (Higham sec. 4.2)
so |S~_i - R_i| <= gamma(k) R_i with gamma(k) = k u / (1 - k u); the float64 S_i obeys the
same with u = 2**-53. Together |S~_i - S_i| <= 1.03 (k 2**-24 + k 2**-53) S~_i < 2 k u S~_i.
Float32 underflow (squared differences below 2**-126, only possible for float input) adds at
most 2**-150 per square, hence at most sqrt(n_band) 2**-75 per distance after the square root
and n_time sqrt(n_band) 2**-74 per sum: the bound used is
    E_i = 2 k u S~_i + n_time n_band 2**-70.
Candidates are the valid i with S~_i - E_i <= min_j (S~_j + E_j). Every i outside has
S_i > S_j* for the j* reaching that minimum, so all minimisers of S lie among the candidates.
One candidate: it is the medoid. Several (exact ties, near-ties, or a non-finite S~ from a
float32 overflow): their canonical S_i are computed in float64 and compared in time order.
`spread` is S~_i / n_valid (within the same relative 2 k u), or S_i / n_valid where the
float64 check ran. No fastmath anywhere: the bound above is for IEEE operations as written.

Speed: what was measured and left out (bench/kernels.py). Early termination (stop summing a
candidate once its partial sum exceeds the best complete sum) needs per-pixel branches and
visits every pair twice, so it loses to pair-once sums vectorised over pixels. Compacting
each pixel's valid observations to the front saves under 20 % of the pairs at 25 % invalid
(the block's busiest pixel sets the pair count); a prototype that also grouped pixels by
count, to save more, ran slower: its per-pixel gather cost more than the pairs it saved.

Validity: an observation counts only where `valid` is True AND all its bands are finite
(NaN or +-inf in float input makes it not valid; the reference does the same). S2GM also
drops spectra with NaN or infinite values (ATBD 2.4.1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numba
import numpy as np

# Indices into the per-pixel STC band vector built by `stc_band_positions`.
STC_BANDS: tuple[str, ...] = ("B02", "B03", "B04", "B08", "B8A", "B11", "B12")
_B2, _B3, _B4, _B8, _B8A, _B11, _B12 = range(7)


# Pixels of a row processed together ("lanes"): the innermost loops run over contiguous
# float32 lanes, which LLVM vectorises (16 lanes per AVX-512 instruction). More lanes spread
# each pair's loop overhead wider (256 measured best: 128 is 5-25 % slower, 512 no faster);
# the block (time, band, lane) is kept within _BLOCK_BYTES so it stays in a core's L2 cache.
# The count is passed at run time on purpose: a compile-time constant gets the lane loops
# fully unrolled into scalar code.
_MAX_LANES = 256
_MIN_LANES = 32
_BLOCK_BYTES = 512 * 1024
_U32 = 2.0**-24


def medoid_lanes(n_time: int, n_band: int, width: int) -> int:
    """Lanes per block for a stack: as many as fit _BLOCK_BYTES, a multiple of 16, not wider
    than the chunk's rows (idle lanes cost as much as busy ones)."""
    lanes = _BLOCK_BYTES // max(1, 4 * n_time * n_band)
    lanes = max(_MIN_LANES, min(_MAX_LANES, lanes)) // 16 * 16
    return max(16, min(lanes, -(-width // 16) * 16))


def medoid_index(
    refl: np.ndarray, valid: np.ndarray, out: np.ndarray | None = None,
    spread: np.ndarray | None = None,
) -> np.ndarray:
    """Time index of the medoid per pixel (ties to the earliest), -1 without valid observation.

    refl: (time, band, y, x) uint16 or float32; valid: (time, y, x) bool. An observation with a
    non-finite band counts as not valid. `spread`, if given, receives the medoid's summed
    distance divided by the number of valid observations (S2GM `medoid_mos`), NaN where none.
    """
    _check_stack(refl, valid)
    if refl.dtype not in (np.uint16, np.float32):
        raise ValueError(f"refl must be uint16 or float32, not {refl.dtype}")
    out = _out_index(refl, out)
    if spread is None:
        spread = np.empty(out.shape, np.float64)
    elif spread.shape != out.shape:
        raise ValueError(f"spread must have shape {out.shape}")
    n_time, n_band = refl.shape[:2]
    if n_time == 0 or n_band == 0:
        # No observation, or no band to measure a distance on: the earliest valid one wins.
        first = np.where(valid.any(axis=0), valid.argmax(axis=0), -1) if n_time else -1
        out[...] = first
        spread[...] = np.where(first >= 0, 0.0, np.nan)
        return out
    rel = 2.0 * (n_band + n_time + 2) * _U32  # 2 k u of the bound above; k u < 0.01 holds
    if rel >= 0.02:
        raise ValueError("too many bands and observations for the float32 error bound")
    floor = n_time * n_band * 2.0**-70
    check_finite = bool(np.issubdtype(refl.dtype, np.floating))
    lanes = medoid_lanes(n_time, n_band, refl.shape[3])
    _medoid_kernel(refl, valid, check_finite, rel, floor, lanes, (0,) * n_band, out, spread)
    return out


@numba.njit(parallel=True, nogil=True, cache=True)
def _medoid_kernel(refl, valid, check_finite, rel, floor, n_lane, band_slots, out, spread):  # type: ignore[no-untyped-def]
    """`band_slots` is a tuple of n_band zeros: its length is a compile-time constant, so numba
    compiles one kernel per band count and LLVM unrolls the band loop inside the lane loop."""
    n_time, n_band, height, width = refl.shape
    for y in numba.prange(height):
        # Per-row scratch: spectra as float32 (time, band, lane), weights 1/0, float32 sums.
        buf = np.empty((n_time, n_band, n_lane), np.float32)
        weight = np.empty((n_time, n_lane), np.float32)
        sums = np.empty((n_time, n_lane), np.float32)
        # Per-lane scan state in separate arrays: rows of one array defeat vectorisation.
        best_s = np.empty(n_lane, np.float32)
        best_t = np.empty(n_lane, np.int32)
        n_valid = np.empty(n_lane, np.int32)
        n_cand = np.empty(n_lane, np.int32)
        members = np.empty(n_time, np.int64)
        active = np.empty(n_time, np.bool_)
        later = np.empty(n_time, np.int64)
        for x0 in range(0, width, n_lane):
            lanes = min(n_lane, width - x0)
            _load_block(refl, valid, y, x0, lanes, check_finite, buf, weight)
            _block_sums(buf, weight, sums, band_slots, active, later)
            _pick_block(refl, weight, sums, y, x0, lanes, rel, floor, best_s, best_t, n_valid,
                        n_cand, members, out, spread)


@numba.njit(nogil=True, cache=True)
def _load_block(refl, valid, y, x0, lanes, check_finite, buf, weight):  # type: ignore[no-untyped-def]
    """Copy `lanes` pixels from x0 into buf as float32; weight 1 for valid finite spectra.

    Spectra that are not valid, and lanes past the row's end, are zeros with weight 0, so the
    vectorised sums never see NaN or inf from them.
    """
    n_time, n_band = refl.shape[0], refl.shape[1]
    for t in range(n_time):
        w_t, valid_t = weight[t], valid[t, y, x0:x0 + lanes]
        for lane in range(lanes):
            w_t[lane] = 1.0 if valid_t[lane] else 0.0
        w_t[lanes:] = 0.0
        if check_finite:
            for b in range(n_band):
                row = refl[t, b, y, x0:x0 + lanes]
                for lane in range(lanes):
                    if not math.isfinite(row[lane]):
                        w_t[lane] = 0.0
        for b in range(n_band):
            row, out_b = refl[t, b, y, x0:x0 + lanes], buf[t, b]
            for lane in range(lanes):
                v = np.float32(row[lane])  # loaded unconditionally so the select vectorises
                out_b[lane] = v if w_t[lane] != 0.0 else np.float32(0.0)
            out_b[lanes:] = 0.0


@numba.njit(nogil=True, cache=True)
def _block_sums(buf, weight, sums, band_slots, active, later):  # type: ignore[no-untyped-def]
    """Float32 summed distances of every observation to all valid others, per lane.

    Each pair once, its distance added to both members. The lane loops are the vectorised
    ones; the band loop inside has the constant trip count len(band_slots), so it is unrolled
    and each squared distance stays in a register. Observations go two at a time (i, i + 1)
    against each later j: x_j is loaded and sums[j] updated once for two pairs, about 25 %
    faster than one at a time; three or four at a time measured several times slower.

    Observations valid on no lane of the block (clouds, a swath's edge: a third of a year's
    pairs) are skipped. That changes no sum by a bit: every term they bring is an exact +0.0
    (zeroed spectra, weight 0), and adding +0.0 to a non-negative sum leaves it as it is; where
    only one of i, i + 1 is active, sums[j] += d_i + 0.0 is sums[j] += d_i exactly.
    """
    n_time, n_lane = weight.shape
    sums[:, :] = 0.0
    for t in range(n_time):
        some = False
        for lane in range(n_lane):
            some = some or weight[t, lane] != 0.0
        active[t] = some
    for i in range(0, n_time - 1, 2):
        k = i + 1
        if not (active[i] or active[k]):
            continue
        n_later = 0
        for j in range(i + 2, n_time):
            if active[j]:
                later[n_later] = j
                n_later += 1
        if not (active[i] and active[k]):
            _one_sums(buf, weight, sums, i if active[i] else k, later, n_later, band_slots)
            continue
        _pair_sums(buf, weight, sums, i, k, band_slots)
        for m in range(n_later):
            j = later[m]
            for lane in range(n_lane):
                d2_i = np.float32(0.0)
                d2_k = np.float32(0.0)
                for b in range(len(band_slots)):
                    x_j = buf[j, b, lane]
                    diff_i = buf[i, b, lane] - x_j
                    diff_k = buf[k, b, lane] - x_j
                    d2_i += diff_i * diff_i
                    d2_k += diff_k * diff_k
                w_j = weight[j, lane]
                d_i = np.sqrt(d2_i) * (weight[i, lane] * w_j)
                d_k = np.sqrt(d2_k) * (weight[k, lane] * w_j)
                sums[i, lane] += d_i
                sums[k, lane] += d_k
                sums[j, lane] += d_i + d_k


@numba.njit(nogil=True, cache=True, inline="always")
def _one_sums(buf, weight, sums, i, later, n_later, band_slots):  # type: ignore[no-untyped-def]
    """`_block_sums` for an active i whose partner i +/- 1 is not: its pairs with `later`."""
    for m in range(n_later):
        _pair_sums(buf, weight, sums, i, later[m], band_slots)


@numba.njit(nogil=True, cache=True, inline="always")
def _pair_sums(buf, weight, sums, i, j, band_slots):  # type: ignore[no-untyped-def]
    """Add the distance between observations i and j to both their sums, on every lane."""
    for lane in range(weight.shape[1]):
        d2 = np.float32(0.0)
        for b in range(len(band_slots)):
            diff = buf[i, b, lane] - buf[j, b, lane]
            d2 += diff * diff
        d = np.sqrt(d2) * (weight[i, lane] * weight[j, lane])
        sums[i, lane] += d
        sums[j, lane] += d


@numba.njit(nogil=True, cache=True)
def _pick_block(refl, weight, sums, y, x0, lanes, rel, floor, best_s, best_t, n_valid, n_cand,  # type: ignore[no-untyped-def]
                members, out, spread):
    """Choose the medoid of each lane from its float32 sums, checking near-ties in float64.

    The scans over time run on all lanes at once (selects, no branches, so they vectorise);
    only lanes with several candidates or a non-finite sum take the scalar float64 path.
    """
    n_time, n_lane = weight.shape
    best_s[:] = np.inf
    best_t[:] = -1
    n_valid[:] = 0
    n_cand[:] = 0
    for t in range(n_time):
        for lane in range(n_lane):
            ok = weight[t, lane] != 0.0
            s = sums[t, lane] if ok else np.float32(np.inf)
            better = s < best_s[lane]  # strict: ties stay with the earliest
            best_s[lane] = s if better else best_s[lane]
            best_t[lane] = t if better else best_t[lane]
            n_valid[lane] += ok
            # NaN or inf sums (float32 overflow) count as "many candidates": checked in float64.
            n_cand[lane] += 2 if ok & (not sums[t, lane] < np.inf) else 0
    for t in range(n_time):
        for lane in range(n_lane):
            best = np.float64(best_s[lane])
            hi = best + rel * best + floor  # min over j of S~_j + E_j
            s = np.float64(sums[t, lane])
            n_cand[lane] += (weight[t, lane] != 0.0) & (s - rel * s - floor <= hi)
    for lane in range(lanes):
        x, n = x0 + lane, n_valid[lane]
        if n == 0:
            out[y, x] = -1
            spread[y, x] = np.nan
        elif n_cand[lane] == 1:
            out[y, x] = best_t[lane]
            spread[y, x] = np.float64(best_s[lane]) / n
        else:
            _pick_exact(refl, weight, sums, y, x, lane, rel, floor, members, out, spread)


@numba.njit(nogil=True, cache=True)
def _pick_exact(refl, weight, sums, y, x, lane, rel, floor, members, out, spread):  # type: ignore[no-untyped-def]
    """One lane with several candidates: decide on canonical float64 sums, earliest on ties."""
    n = 0
    finite = True
    best_hi = np.inf
    for t in range(weight.shape[0]):
        if weight[t, lane] != 0.0:
            s = np.float64(sums[t, lane])
            finite = finite and s < np.inf
            best_hi = min(best_hi, s + rel * s + floor)
            members[n] = t
            n += 1
    best, best_sum = -1, np.inf
    for k in range(n):
        s = np.float64(sums[members[k], lane])
        if finite and not s - rel * s - floor <= best_hi:
            continue  # provably larger than the smallest canonical sum
        s = _canonical_sum(refl, weight, y, x, lane, members[k])
        if best < 0 or s < best_sum:
            best, best_sum = members[k], s
    out[y, x] = best
    spread[y, x] = best_sum / n


@numba.njit(nogil=True, cache=True)
def _canonical_sum(refl, weight, y, x, lane, i):  # type: ignore[no-untyped-def]
    """S_i in float64, in the exact operation order the reference uses (see above)."""
    total = 0.0
    for j in range(refl.shape[0]):
        if j == i or weight[j, lane] == 0.0:
            continue
        d2 = 0.0
        for b in range(refl.shape[1]):
            diff = np.float64(refl[i, b, y, x]) - np.float64(refl[j, b, y, x])
            d2 += diff * diff
        total += math.sqrt(d2)
    return total


def stc_band_positions(band_names: Sequence[str]) -> np.ndarray:
    """Positions of the STC bands (B02, B03, B04, B08, B8A, B11, B12) in a stack's band axis."""
    missing = [b for b in STC_BANDS if b not in band_names]
    if missing:
        raise ValueError(f"the short-term composite needs bands {', '.join(missing)}")
    return np.array([list(band_names).index(b) for b in STC_BANDS], dtype=np.int64)


def stc_index(
    refl: np.ndarray, valid: np.ndarray, band_names: Sequence[str],
    out: np.ndarray | None = None, scl: np.ndarray | None = None, dn_offset: float = 0.0,
) -> np.ndarray:
    """Time index chosen by the S2GM V1.1.0 short-term decision tree, -1 where none.

    Reflectance on the 0-1 scale; integer input is read as (DN + dn_offset) / 10000 (the
    pipeline's stack keeps Sen2Cor's baseline-04 DN, dn_offset -1000: `archive.stack`).
    An observation with a non-finite value in one of the STC bands counts as not valid.
    `scl` (time, y, x) uint8 feeds the tree's snow test (ATBD isSnow: SCL 11 and NDSI > 0.6
    and TCB > 0.36); without it no observation is SCL 11, so the snow test is always false.
    """
    _check_stack(refl, valid)
    out = _out_index(refl, out)
    if scl is None:
        scl = np.zeros((0, 0, 0), np.uint8)
    elif scl.shape != valid.shape:
        raise ValueError(f"scl must have shape {valid.shape}")
    integer = np.issubdtype(refl.dtype, np.integer)
    scale, shift = (1e-4, float(dn_offset)) if integer else (1.0, 0.0)
    _stc_kernel(refl, valid, scl, scl.size > 0, stc_band_positions(band_names), scale, shift,
                out)
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


SCL_SNOW_ICE = 11  # Sen2Cor scene classification: snow and ice


@numba.njit(nogil=True, cache=True)
def is_snow(s, scl_class):  # type: ignore[no-untyped-def]
    """ATBD Fig. 2-13 isSnow: SCL says snow and NDSI > 0.6 and TCB > 0.36 (s: STC bands)."""
    if scl_class != SCL_SNOW_ICE:
        return False
    b3, b11 = s[_B3], s[_B11]
    ndsi = (b3 - b11) / (b3 + b11) if (b3 + b11) != 0 else 0.0
    tcb = tasselled_cap_brightness(s[_B2], b3, s[_B4], s[_B8A], b11, s[_B12])
    return ndsi > 0.6 and tcb > 0.36


@numba.njit(nogil=True, cache=True)
def _safe_nd(a, b):  # type: ignore[no-untyped-def]
    return (a - b) / (a + b) if (a + b) != 0 else 0.0


@numba.njit(nogil=True, cache=True, inline="always")
def _stc_members(refl, valid, pos, y, x, members):  # type: ignore[no-untyped-def]
    """Time indices valid at (y, x) with finite STC bands, in time order; return how many."""
    n = 0
    for t in range(valid.shape[0]):
        if valid[t, y, x]:
            finite = True
            for k in range(pos.shape[0]):
                finite = finite and math.isfinite(refl[t, pos[k], y, x])
            if finite:
                members[n] = t
                n += 1
    return n


@numba.njit(parallel=True, nogil=True, cache=True)
def _stc_kernel(refl, valid, scl, has_scl, pos, scale, shift, out):  # type: ignore[no-untyped-def]
    n_time, _, height, width = refl.shape
    for y in numba.prange(height):
        members = np.empty(n_time, np.int64)
        ndvi = np.empty(n_time, np.float64)
        mndwi = np.empty(n_time, np.float64)
        tcb = np.empty(n_time, np.float64)
        s = np.empty(7, np.float64)
        for x in range(width):
            n = _stc_members(refl, valid, pos, y, x, members)
            if n == 0:
                out[y, x] = -1
                continue
            if n == 1:
                out[y, x] = members[0]
                continue
            for i in range(n):
                t = members[i]
                for k in range(7):
                    s[k] = (np.float64(refl[t, pos[k], y, x]) + shift) * scale
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
                s[k] = (np.float64(refl[t_min, pos[k], y, x]) + shift) * scale
            if mndwi_mean < -0.55 and ndvi[i_ndvi_max] - ndvi_mean < 0.05:
                pick = i_ndvi_max
            elif ndvi_mean < -0.3 and mndwi_mean - mndwi[i_mndwi_min] < 0.05:
                pick = i_mndwi_max
            elif ndvi_mean > 0.6 and tcb_mean < 0.45:
                pick = i_ndvi_max
            elif not is_cloud_or_snow(s):
                pick = i_tcb_min
            elif not is_snow(s, scl[t_min, y, x] if has_scl else 0):
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
