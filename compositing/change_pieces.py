"""A change order's Change Vector Analysis over its composed pieces, in memory bounded by a
chunk and a sample, not by the product.

Each piece holds both mosaics of one chunk (layers `before_*` and `after_*`, composed by the
pipeline). The statistics that `compositing.change` computes on whole arrays need the whole
product: they are fitted on a sample instead, then applied chunk by chunk:

1. the radiometric normalisation and the spread of unchanged differences, fitted on a sample of
   the pixels valid in both mosaics;
2. the k-means classes of change, fitted on a sample of the changed pixels;
3. every chunk's change layers (`layers.CHANGE_LAYERS`), added to its piece's layers.

A sample is every pixel of the grid on a lattice of rows and columns (`LatticeSample`): it
does not depend on how the product was cut into chunks nor in what order they come, so a
product is the same whichever process delivers it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from compositing.change import (
    ChangeClasses,
    Normalisation,
    Spread,
    change_vectors,
    chi2_quantile,
    fit_classes,
    fit_spread,
    normalise,
)
from compositing.grid import Chunk
from compositing.pieces import ChunkLayers
from compositing.products.layers import (
    CHANGE_LAYERS,
    PERIODS,
    encode,
    period_layer,
    reflectance_layer,
)

# Pixels each fit is made on at most: ~25 MB of float64 for 4 bands in both mosaics, and
# far more than a regression of 2 parameters or a k-means of 2 dimensions needs.
SAMPLE_PIXELS = 400_000

Pieces = Callable[[], Iterable[tuple[Chunk, ChunkLayers]]]


class NothingToCompareError(ValueError):
    """The two mosaics share too few valid pixels to be compared."""


@dataclass(frozen=True)
class ChangeModel:
    """What a change order's chunks are compared with, fitted on samples of the product."""

    bands: tuple[str, ...]
    normalisation: Normalisation
    spread: Spread
    confidence: float
    classes: ChangeClasses
    sampled: int  # pixels valid in both mosaics that the normalisation was fitted on
    sampled_changed: int  # changed pixels the classes were fitted on

    def describe(self) -> dict[str, Any]:
        """The fitted parameters, for the product's metadata."""
        centres = self.classes.physical_centres
        return {
            "method": "Change Vector Analysis (AI4Copernicus Sentinel-2 change detection)",
            "bands": list(self.bands),
            "normalisation": {
                "model": "after = offset + gain * before, per band, iteratively re-weighted "
                         "by the chi-squared probability of no change",
                "gain": _floats(self.normalisation.gain),
                "offset": _floats(self.normalisation.offset),
                "sample_pixels": self.sampled,
            },
            "difference_centre": _floats(self.spread.median),
            "difference_std": _floats(self.spread.spread),
            "difference_correlation": [_floats(row) for row in (
                self.spread.covariance / np.outer(self.spread.spread, self.spread.spread))],
            "confidence": self.confidence,
            "chi2_degrees_of_freedom": len(self.bands),
            "chi2_threshold": round(chi2_quantile(self.confidence, len(self.bands)), 6),
            "reference_vector": [1.0] + [0.0] * (len(self.bands) - 1),
            "classes": [{"class": i, "magnitude": round(float(m), 6),
                         "angle_deg": round(float(a), 4)}
                        for i, (m, a) in enumerate(centres, start=1)],
            "classes_sample_pixels": self.sampled_changed,
        }


def _floats(values: np.ndarray) -> list[float]:
    return [round(float(v), 8) for v in values]


class LatticeSample:
    """Feature vectors of the pixels on a lattice of the grid (rows and columns that are
    multiples of `step`), the lattice thinned by two whenever more than `limit` are held: at
    the end, the densest lattice holding at most `limit` of the pixels offered, whatever the
    order they came in."""

    def __init__(self, limit: int = SAMPLE_PIXELS) -> None:
        self.limit = limit
        self.step = 1
        self._rows: list[np.ndarray] = []
        self._cols: list[np.ndarray] = []
        self._values: list[np.ndarray] = []
        self._count = 0

    def add(self, chunk: Chunk, where: np.ndarray, features: np.ndarray) -> None:
        """Offer the chunk's pixels where `where`, with their (feature, y, x) values."""
        rows = np.arange(chunk.row_off, chunk.row_off + chunk.height)
        cols = np.arange(chunk.col_off, chunk.col_off + chunk.width)
        on = where & np.outer(rows % self.step == 0, cols % self.step == 0)
        r, c = np.nonzero(on)
        self._rows.append(rows[r])
        self._cols.append(cols[c])
        self._values.append(features[:, r, c])
        self._count += len(r)
        while self._count > self.limit:
            self._thin()

    def _thin(self) -> None:
        self.step *= 2
        rows, cols, values = self._arrays()
        keep = (rows % self.step == 0) & (cols % self.step == 0)
        self._rows, self._cols, self._values = [rows[keep]], [cols[keep]], [values[:, keep]]
        self._count = int(keep.sum())

    def _arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        width = self._values[0].shape[0] if self._values else 0
        return (np.concatenate(self._rows) if self._rows else np.zeros(0, np.int64),
                np.concatenate(self._cols) if self._cols else np.zeros(0, np.int64),
                np.concatenate(self._values, axis=1) if self._values
                else np.zeros((width, 0)))

    def values(self) -> np.ndarray:
        """(feature, n) values of the sample, in the grid's row-major order."""
        rows, cols, values = self._arrays()
        return values[:, np.lexsort((cols, rows))]


def reflectance(layers: ChunkLayers, period: str, bands: Sequence[str]) -> np.ndarray:
    """(band, y, x) surface reflectance of one mosaic in a piece, NaN where it has none."""
    out = []
    for band in bands:
        layer = period_layer(reflectance_layer(band), period)
        stored = layers[layer.name]
        out.append(np.where(stored == layer.nodata, np.nan,
                            stored.astype(np.float64) * layer.scale + layer.offset))
    return np.stack(out)


def fit_change(pieces: Pieces, bands: Sequence[str], confidence: float, classes: int,
               limit: int = SAMPLE_PIXELS) -> ChangeModel:
    """Fit the normalisation, the spread and the classes on samples of the pieces, which
    `pieces()` yields anew for each of its two passes."""
    both = LatticeSample(limit)
    for chunk, layers in pieces():
        before, after = (reflectance(layers, p, bands) for p in PERIODS)
        valid = np.isfinite(before).all(axis=0) & np.isfinite(after).all(axis=0)
        both.add(chunk, valid, np.concatenate([before, after]))
    sample = both.values()
    n = len(bands)
    if sample.shape[1] < 3:
        raise NothingToCompareError(
            f"the two periods share {sample.shape[1]} pixels with a valid observation in both; "
            "a change needs at least 3")
    norm = normalise(sample[:n], sample[n:])
    spread = fit_spread(norm.apply(sample[n:]) - sample[:n], norm.weights)
    changed_sample = LatticeSample(limit)
    for chunk, layers in pieces():
        _, magnitude, angle, changed = _vectors(layers, bands, norm, spread, confidence)
        changed_sample.add(chunk, changed & np.isfinite(angle), np.stack([magnitude, angle]))
    points = changed_sample.values()
    return ChangeModel(tuple(bands), norm, spread, confidence,
                       fit_classes(points[0], points[1], classes), sample.shape[1],
                       points.shape[1])


def _vectors(layers: ChunkLayers, bands: Sequence[str], norm: Normalisation, spread: Spread,
             confidence: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validity in both mosaics, change magnitude and angle, and significance of a piece."""
    before, after = (reflectance(layers, p, bands) for p in PERIODS)
    diff, magnitude, angle = change_vectors(before, norm.apply(after))
    valid = np.isfinite(diff).all(axis=0)
    return valid, magnitude, angle, spread.changed(diff, confidence) & valid


def change_layers(model: ChangeModel, layers: ChunkLayers) -> ChunkLayers:
    """The stored change layers of one piece."""
    valid, magnitude, angle, changed = _vectors(layers, model.bands, model.normalisation,
                                                model.spread, model.confidence)
    invalid = ~valid
    classes = model.classes.assign(magnitude, angle, changed & np.isfinite(angle))
    return {
        "cva_magnitude": encode(magnitude, CHANGE_LAYERS["cva_magnitude"], invalid),
        "cva_angle": encode(angle, CHANGE_LAYERS["cva_angle"], invalid),
        "change_mask": encode(changed.astype(np.float64), CHANGE_LAYERS["change_mask"], invalid),
        "change_class": encode(classes.astype(np.float64), CHANGE_LAYERS["change_class"],
                               invalid),
    }


def with_change(model: ChangeModel, pieces: Iterable[tuple[Chunk, ChunkLayers]]
                ) -> Iterator[tuple[Chunk, ChunkLayers]]:
    """The pieces with their change layers added."""
    for chunk, layers in pieces:
        yield chunk, {**layers, **change_layers(model, layers)}
