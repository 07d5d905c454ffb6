"""Spectral indices of the chosen observation: each one a formula over surface reflectance.

An index layer is computed per pixel from the reflectance of the observation the selection
chose, so a pixel's index and its bands always come from one acquisition (an index of a
medoid is not the medoid of the index). `layers.AUX_LAYERS` holds one layer per index, stored
as int16 with a scale of 1e-4; forms, API, CLI, metadata and writers read it from there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

Bands = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class SpectralIndex:
    """One index: its layer name, what it is, the bands it needs and how it is computed."""

    name: str
    title: str
    formula: str  # as a person writes it, in Sentinel-2 band names
    inputs: tuple[str, ...]
    compute: Callable[[Bands], np.ndarray]  # reflectance (0-1) by band -> index, NaN undefined
    reference: str
    cf_standard_name: str | None = None  # CF names NDVI only (standard name table v93)
    # The values the formula can take from non-negative reflectance; None: no useful bound.
    valid_range: tuple[float, float] | None = (-1.0, 1.0)

    def evaluate(self, reflectance: Bands) -> np.ndarray:
        """The index of reflectance by band (0-1, NaN none). Negative reflectance, which the
        L2A offset leaves where a surface is darker than its noise, counts as 0, as the
        product's bands store it: the index is that of the bands a person downloads, and a
        normalised difference stays within -1 and 1."""
        return self.compute({b: np.maximum(np.asarray(reflectance[b], np.float64), 0.0)
                             for b in self.inputs})


def _normalised_difference(a: str, b: str) -> Callable[[Bands], np.ndarray]:
    def compute(r: Bands) -> np.ndarray:
        return _ratio(r[a] - r[b], r[a] + r[b])
    return compute


def _evi(r: Bands) -> np.ndarray:
    nir, red, blue = r["B08"], r["B04"], r["B02"]
    return _ratio(2.5 * (nir - red), nir + 6.0 * red - 7.5 * blue + 1.0)


SAVI_L = 0.5


def _savi(r: Bands) -> np.ndarray:
    nir, red = r["B08"], r["B04"]
    return _ratio((1.0 + SAVI_L) * (nir - red), nir + red + SAVI_L)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, NaN where the denominator is 0 or either is NaN."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.asarray(numerator, np.float64) / np.asarray(denominator, np.float64)
    out[~np.isfinite(out)] = np.nan
    return out


INDICES: dict[str, SpectralIndex] = {i.name: i for i in (
    SpectralIndex("ndvi", "Normalised Difference Vegetation Index", "(B08 - B04) / (B08 + B04)",
                  ("B08", "B04"), _normalised_difference("B08", "B04"), "Rouse et al. 1974",
                  "normalized_difference_vegetation_index"),
    SpectralIndex("evi", "Enhanced Vegetation Index",
                  "2.5 (B08 - B04) / (B08 + 6 B04 - 7.5 B02 + 1)", ("B08", "B04", "B02"), _evi,
                  "Huete et al. 2002", valid_range=None),
    SpectralIndex("savi", "Soil-Adjusted Vegetation Index",
                  f"(1 + L) (B08 - B04) / (B08 + B04 + L), L = {SAVI_L}", ("B08", "B04"), _savi,
                  "Huete 1988", valid_range=(-1.0 - SAVI_L, 1.0 + SAVI_L)),
    SpectralIndex("ndwi", "Normalised Difference Water Index (McFeeters)",
                  "(B03 - B08) / (B03 + B08)", ("B03", "B08"),
                  _normalised_difference("B03", "B08"), "McFeeters 1996"),
    SpectralIndex("mndwi", "Modified Normalised Difference Water Index",
                  "(B03 - B11) / (B03 + B11)", ("B03", "B11"),
                  _normalised_difference("B03", "B11"), "Xu 2006"),
    SpectralIndex("ndmi", "Normalised Difference Moisture Index", "(B08 - B11) / (B08 + B11)",
                  ("B08", "B11"), _normalised_difference("B08", "B11"), "Gao 1996 (NDWI)"),
    SpectralIndex("nbr", "Normalised Burn Ratio", "(B08 - B12) / (B08 + B12)", ("B08", "B12"),
                  _normalised_difference("B08", "B12"), "Key and Benson 2006"),
    SpectralIndex("ndsi", "Normalised Difference Snow Index", "(B03 - B11) / (B03 + B11)",
                  ("B03", "B11"), _normalised_difference("B03", "B11"), "Hall et al. 1995"),
)}


def index_inputs(names: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The reflectance bands the indices among `names` need, without repeats."""
    return tuple(dict.fromkeys(b for n in names if n in INDICES for b in INDICES[n].inputs))
