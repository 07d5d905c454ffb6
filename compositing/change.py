"""Change between two mosaics of one grid by Change Vector Analysis (issue 17, part 2).

The steps of the Sentinel-2 change-detection pipeline described for the AI4Copernicus platform,
on reflectance arrays of shape (band, y, x) with NaN where a mosaic has no value:

1. `normalise`: the second mosaic brought to the radiometry of the first by one linear
   regression per band, fitted on the pixels valid in both and weighted by how likely each is
   unchanged (iteratively re-weighted, as IR-MAD does: a pixel's weight is the chi-squared
   probability of its standardised differences, so changed pixels stop pulling the fit).
   The spread of the differences is measured robustly (median absolute deviation).
2. `change_vectors`: per band the difference, its magnitude (vector norm) and its angle to a
   reference direction (default: the first band's axis).
3. `change_mask`: the differences standardised by their spread over the unchanged pixels; their
   sum of squares is chi-squared with as many degrees of freedom as bands where nothing
   changed, so a pixel changed where it passes the quantile of the chosen confidence.
4. `classify`: the changed pixels grouped into k classes by k-means on (magnitude, angle).

numpy only: the chi-squared distribution of whole degrees of freedom has a closed form.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DEFAULT_CONFIDENCE = 0.9999
DEFAULT_CLASSES = 4
NORMALISE_ITERATIONS = 10


@dataclass(frozen=True)
class Normalisation:
    """after ≈ offset + gain * before, per band, on the pixels likely unchanged."""

    gain: np.ndarray  # (band,)
    offset: np.ndarray  # (band,)
    weights: np.ndarray  # (y, x) probability of no change from the last iteration, NaN invalid

    def apply(self, after: np.ndarray) -> np.ndarray:
        """The second mosaic, (band, ...), in the first one's radiometry."""
        shape = (-1,) + (1,) * (after.ndim - 1)
        return (after - self.offset.reshape(shape)) / self.gain.reshape(shape)


def chi2_sf(x: np.ndarray | float, df: int) -> np.ndarray:
    """P(X > x) for X chi-squared with `df` (a whole number >= 1) degrees of freedom."""
    x = np.maximum(np.asarray(x, np.float64), 0.0)
    half = x / 2.0
    if df % 2 == 0:
        term = np.ones_like(half)
        total = np.ones_like(half)
        for i in range(1, df // 2):
            term = term * half / i
            total = total + term
        return np.exp(-half) * total
    erfc = np.vectorize(math.erfc, otypes=[np.float64])
    out = erfc(np.sqrt(half))
    term = np.sqrt(half) * 2.0 / math.sqrt(math.pi) * np.exp(-half)  # i = 1/2 term
    for i in range(1, (df + 1) // 2):
        out = out + term
        term = term * half / (i + 0.5)
    return out


def chi2_quantile(confidence: float, df: int) -> float:
    """The x with P(X <= x) = confidence (bisection on `chi2_sf`, to 1e-10)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError("the confidence must be between 0 and 1")
    low, high = 0.0, float(df)
    while float(chi2_sf(high, df)) > 1.0 - confidence:
        high *= 2.0
    while high - low > 1e-10 * max(1.0, high):
        mid = (low + high) / 2.0
        low, high = (mid, high) if float(chi2_sf(mid, df)) > 1.0 - confidence else (low, mid)
    return (low + high) / 2.0


def normalise(before: np.ndarray, after: np.ndarray,
              iterations: int = NORMALISE_ITERATIONS) -> Normalisation:
    """Per band, the weighted least-squares line after = offset + gain * before."""
    bands = before.shape[0]
    valid = np.isfinite(before).all(axis=0) & np.isfinite(after).all(axis=0)
    if valid.sum() < 3:
        raise ValueError("fewer than three pixels are valid in both mosaics")
    x, y = before[:, valid], after[:, valid]
    w = np.ones(x.shape[1])
    gain, offset = np.ones(bands), np.zeros(bands)
    for _ in range(iterations):
        for b in range(bands):
            mx, my = np.average(x[b], weights=w), np.average(y[b], weights=w)
            var = np.average((x[b] - mx) ** 2, weights=w)
            gain[b] = np.average((x[b] - mx) * (y[b] - my), weights=w) / var if var > 0 else 1.0
            offset[b] = my - gain[b] * mx
        residual = (y - offset[:, None] - gain[:, None] * x) / gain[:, None]
        z = _standardised(residual, w)
        new = chi2_sf((z ** 2).sum(axis=0), bands)
        if np.allclose(new, w, atol=1e-6):
            w = new
            break
        w = new
    weights = np.full(valid.shape, np.nan)
    weights[valid] = w
    return Normalisation(gain, offset, weights)


def change_vectors(before: np.ndarray, after: np.ndarray,
                   reference: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-band differences (band, y, x), their magnitude and their angle in degrees (0-180)
    to the reference direction (default (1, 0, ...)); NaN where either mosaic has no value."""
    diff = after - before
    ref = np.zeros(before.shape[0]) if reference is None else np.asarray(reference, np.float64)
    if reference is None:
        ref[0] = 1.0
    magnitude = np.sqrt((diff ** 2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        cosine = np.tensordot(ref, diff, axes=1) / (magnitude * np.linalg.norm(ref))
    angle = np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))
    return diff, magnitude, angle


@dataclass(frozen=True)
class Spread:
    """The multivariate Gaussian of the differences of unchanged pixels: centre and covariance
    per band, fitted once (on a sample) and applied chunk by chunk. Bands' differences are
    correlated (a haze or a phenological shift moves the visible bands together), so a pixel's
    distance is the Mahalanobis distance, chi-squared with as many degrees of freedom as bands
    where nothing changed."""

    median: np.ndarray  # (band,) centre
    covariance: np.ndarray  # (band, band)

    @property
    def spread(self) -> np.ndarray:
        """(band,) standard deviation of each band's difference."""
        return np.sqrt(np.diag(self.covariance))

    def distance2(self, diff: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distance of (band, ...) differences; NaN where one is NaN."""
        return _mahalanobis2(diff, self.median, self.covariance)

    def changed(self, diff: np.ndarray, confidence: float = DEFAULT_CONFIDENCE) -> np.ndarray:
        """True where the distance passes the chi-squared quantile of `confidence`; False
        where a difference is NaN."""
        with np.errstate(invalid="ignore"):
            return self.distance2(diff) > chi2_quantile(confidence, diff.shape[0])


# The covariance of unchanged differences is fitted on the pixels within this quantile of
# their own distance, the rest trimmed as changed: far in the tails, so the fit keeps nearly
# all of the unchanged spread whatever confidence a change is then tested at, and none of
# the changes well beyond it. Trimming at the tested confidence instead would shrink the
# spread at low confidences until the unchanged tails count as change.
FIT_CONFIDENCE = 0.999999
FIT_ITERATIONS = 50


def fit_spread(diff: np.ndarray, unchanged_weights: np.ndarray) -> Spread:
    """The centre and covariance of (band, ...) differences over the pixels valid in every
    band: started from the median and the median absolute deviation of the pixels likely
    unchanged (`unchanged_weights`), then refitted on the pixels within FIT_CONFIDENCE of
    the fit until it is stable, each covariance corrected for the trimmed tails of a
    Gaussian."""
    valid = np.isfinite(diff).all(axis=0) & np.isfinite(unchanged_weights)
    values = diff[:, valid]
    bands = values.shape[0]
    centre, mad = _robust_spread(values, unchanged_weights[valid])
    covariance = np.diag(mad ** 2)
    cut = chi2_quantile(FIT_CONFIDENCE, bands)
    # Variance of a Gaussian kept within the cut, relative to the whole (Tallis, 1963).
    kept_share = (1.0 - float(chi2_sf(cut, bands + 2))) / (1.0 - float(chi2_sf(cut, bands)))
    for _ in range(FIT_ITERATIONS):
        kept = values[:, _mahalanobis2(values, centre, covariance) <= cut]
        if kept.shape[1] <= bands:
            break
        new_centre = kept.mean(axis=1)
        deviation = kept - new_centre[:, None]
        new = deviation @ deviation.T / kept.shape[1] / kept_share
        stable = np.allclose(new, covariance, rtol=1e-6, atol=0.0)
        centre, covariance = new_centre, new
        if stable:
            break
    return Spread(centre, covariance)


def _mahalanobis2(values: np.ndarray, centre: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    """Squared Mahalanobis distance of (band, ...) values (a tiny ridge keeps a band without
    any spread from making the covariance singular)."""
    bands = values.shape[0]
    ridge = 1e-12 * max(1.0, float(np.trace(covariance)) / bands)
    inverse = np.linalg.inv(covariance + ridge * np.eye(bands))
    dev = values - centre.reshape((-1,) + (1,) * (values.ndim - 1))
    return np.einsum("i...,ij,j...->...", dev, inverse, dev)


def change_mask(diff: np.ndarray, unchanged_weights: np.ndarray,
                confidence: float = DEFAULT_CONFIDENCE) -> np.ndarray:
    """True where the differences' Mahalanobis distance passes the chi-squared quantile of
    `confidence` (`fit_spread`, then `Spread.changed`)."""
    return fit_spread(diff, unchanged_weights).changed(diff, confidence)


@dataclass(frozen=True)
class ChangeClasses:
    """k-means centres in standardised (magnitude, angle), numbered by mean magnitude: fitted
    once (on a sample of the changed pixels) and applied chunk by chunk."""

    centres: np.ndarray  # (k, 2), standardised
    mean: np.ndarray  # (2,)
    scale: np.ndarray  # (2,)

    @property
    def physical_centres(self) -> np.ndarray:
        """(k, 2) centres as (magnitude, angle in degrees), class 1 first."""
        return self.centres * self.scale + self.mean

    def assign(self, magnitude: np.ndarray, angle: np.ndarray,
               changed: np.ndarray) -> np.ndarray:
        """uint8 class 1..k of each changed pixel (nearest centre), 0 elsewhere."""
        out = np.zeros(changed.shape, np.uint8)
        if len(self.centres) == 0:
            return out
        p = (np.column_stack([magnitude[changed], angle[changed]]) - self.mean) / self.scale
        out[changed] = (_nearest(p, self.centres) + 1).astype(np.uint8)
        return out


def fit_classes(magnitude: np.ndarray, angle: np.ndarray, k: int = DEFAULT_CLASSES,
                iterations: int = 50) -> ChangeClasses:
    """k-means (Lloyd) on standardised (magnitude, angle) of changed pixels; the centres start
    at quantiles of the magnitude, so the fit is deterministic. Fewer distinct points than k
    give fewer classes."""
    points = np.column_stack([np.ravel(magnitude), np.ravel(angle)]).astype(np.float64)
    if len(points) == 0:
        return ChangeClasses(np.zeros((0, 2)), np.zeros(2), np.ones(2))
    k = min(k, len(np.unique(points, axis=0)))
    mean = points.mean(axis=0)
    scale = points.std(axis=0)
    scale[scale == 0] = 1.0
    p = (points - mean) / scale
    order = np.argsort(p[:, 0], kind="stable")
    centres = p[order[((np.arange(k) + 0.5) * len(p) / k).astype(int)]]
    for _ in range(iterations):
        labels = _nearest(p, centres)
        new = np.array([p[labels == c].mean(axis=0) if (labels == c).any() else centres[c]
                        for c in range(k)])
        if np.allclose(new, centres):
            break
        centres = new
    return ChangeClasses(centres[np.argsort(centres[:, 0], kind="stable")], mean, scale)


def classify(magnitude: np.ndarray, angle: np.ndarray, changed: np.ndarray,
             k: int = DEFAULT_CLASSES, iterations: int = 50) -> np.ndarray:
    """uint8 classes 1..k of the changed pixels by k-means on standardised (magnitude, angle),
    ordered by mean magnitude; 0 where nothing changed (`fit_classes`, then `assign`)."""
    classes = fit_classes(magnitude[changed], angle[changed], k, iterations)
    return classes.assign(magnitude, angle, changed)


def _nearest(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of each point's nearest centre, in blocks so memory stays bounded."""
    out = np.empty(len(points), np.int64)
    for start in range(0, len(points), 1 << 16):
        block = points[start:start + (1 << 16)]
        out[start:start + len(block)] = (
            (block[:, None, :] - centres[None]) ** 2).sum(axis=2).argmin(axis=1)
    return out


# A pixel whose weight (probability of no change) is below this is left out of the spread.
LIKELY_CHANGED = 0.01
# The standard deviation of a normal distribution in units of its median absolute deviation.
MAD_TO_STD = 1.4826


def _robust_spread(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per band of (band, n) values, the median and the spread over the pixels likely
    unchanged. The spread is the median absolute deviation, which the tails of unchanged pixels
    and what changes undetected do not move, where a (weighted) standard deviation shrinks at
    each re-weighting and ends by calling half the scene changed."""
    kept = values[:, weights >= LIKELY_CHANGED] if (weights >= LIKELY_CHANGED).sum() >= 3 else (
        values)
    median = np.median(kept, axis=1)
    spread = MAD_TO_STD * np.median(np.abs(kept - median[:, None]), axis=1)
    spread[spread == 0] = 1.0
    return median, spread


def _standardised(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(band, n) values centred on their median and divided by their spread (`_robust_spread`)."""
    median, spread = _robust_spread(values, weights)
    return (values - median[:, None]) / spread[:, None]
