"""The per-chunk compositing step: validity, selection, and gathering of every layer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from compositing import l2a
from compositing.archive.angles import signed_azimuth
from compositing.archive.stack import STACK_DN_OFFSET, STACK_NODATA, STACK_SCALE, Stack
from compositing.products.indices import INDICES
from compositing.products.layers import (
    AUX_LAYERS,
    Source,
    encode,
    reflectance_layer,
)
from compositing.selection.kernels import STC_BANDS, medoid_index, stc_index
from compositing.selection.mask import (
    SNOW_TEST_BANDS,
    observation_counts,
    prefer_clear_surroundings,
    valid_mask,
)
from compositing.selection.methods import METHOD_MEDOID, METHOD_NONE, METHOD_STC


def stack_bands(requested: Sequence[str]) -> tuple[str, ...]:
    """Bands to read: the medoid's first (so that they are one slice of the stack, passed to
    the kernel without a copy), then the others the selection needs and the requested ones, in
    L2A order."""
    needed = set(requested) | set(STC_BANDS) | set(SNOW_TEST_BANDS)
    return (*l2a.MEDOID_BANDS, *(b for b in l2a.BAND_NAMES
                                 if b in needed and b not in l2a.MEDOID_BANDS))


@dataclass
class Selection:
    """Per pixel: the chosen observation (index into the stack, -1 none) and how."""

    index: np.ndarray  # (y, x) int16 into the stack's time axis
    method: np.ndarray  # (y, x) uint8
    valid_obs: np.ndarray
    total_obs: np.ndarray
    spread: np.ndarray  # medoid_mos, NaN for non-medoid pixels

    def crop(self, px: int) -> Selection:
        """The selection without a halo of px pixels."""
        if px == 0:
            return self
        inner = (slice(px, -px), slice(px, -px))
        return Selection(self.index[inner], self.method[inner], self.valid_obs[inner],
                         self.total_obs[inner], self.spread[inner])


def select(stack: Stack, medoid_min_obs: int = l2a.MEDOID_MIN_OBSERVATIONS,
           buffer_px: int = 0, stc_clear_px: int = 0) -> Selection:
    """n_valid >= threshold: medoid over the fixed medoid bands; 1..threshold-1: STC; 0: none.

    buffer_px > 0 drops observations near clouds and shadows. stc_clear_px > 0 lets the STC
    choose only among the valid observations that far from detected clouds and shadows where
    there are any (`mask.prefer_clear_surroundings`; the pipeline passes
    `mask.stc_clear_px(resolution)`). The stack's classification must then carry a halo of the
    larger of the two (`Stack.halo`).
    """
    valid = valid_mask(stack.refl, stack.scl, stack.band_names, buffer_px, stack.oblique,
                       stack.halo)
    n_valid, total = observation_counts(valid, stack.scl, stack.halo)
    spread = np.full(n_valid.shape, np.nan)
    medoid = medoid_index(_medoid_bands(stack), valid, spread=spread)
    if stack.refl.dtype.kind in "ui":  # distances in stack DN: medoid_mos is in reflectance
        spread *= STACK_SCALE
    use_medoid = n_valid >= medoid_min_obs
    # The decision tree only where the medoid is not used and some observation is valid (it
    # gives -1 where none is): in a year of data that is hardly anywhere.
    needs_stc = ~use_medoid & (n_valid > 0)
    stc = np.full(n_valid.shape, -1, np.int16)
    if needs_stc.any():
        candidates = prefer_clear_surroundings(valid, stack.scl, stc_clear_px, stack.halo,
                                               where=needs_stc)
        stc = stc_index(stack.refl, candidates, stack.band_names, scl=stack.scl_core,
                        dn_offset=STACK_DN_OFFSET)
    index = np.where(use_medoid, medoid, stc).astype(np.int16)
    method = np.where(use_medoid, METHOD_MEDOID, METHOD_STC).astype(np.uint8)
    method[index < 0] = METHOD_NONE
    spread[~use_medoid] = np.nan
    return Selection(index, method, n_valid, total, spread)


def _medoid_bands(stack: Stack) -> np.ndarray:
    """The medoid bands of the stack: a view where they lead its band axis (`stack_bands`)."""
    pos = [stack.band_names.index(b) for b in l2a.MEDOID_BANDS]
    if pos == list(range(len(pos))):
        return stack.refl[:, :len(pos)]
    return np.ascontiguousarray(stack.refl[:, pos])


def gather(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """values (t, y, x) at the chosen time per pixel; NaN where index is -1."""
    if values.shape[0] == 0:
        return np.full(index.shape, np.nan, np.float32)
    picked = np.take_along_axis(values, np.clip(index, 0, None)[None].astype(np.intp), axis=0)[0]
    return np.where(index >= 0, picked, np.nan)


def chosen_reflectance(stack: Stack, sel: Selection, band: str) -> np.ndarray:
    """The chosen observation's reflectance of a band per pixel (0-1), NaN where none."""
    values = gather(stack.refl[:, stack.band_names.index(band)], sel.index)
    if stack.refl.dtype.kind in "ui":  # stack DN, 0 for no data
        values = np.where(values == STACK_NODATA, np.nan, (values + STACK_DN_OFFSET) * STACK_SCALE)
    return values


def chunk_layers(stack: Stack, sel: Selection, bands: Sequence[str], aux: Sequence[str],
                 acquisition_days: np.ndarray, inside: np.ndarray) -> dict[str, np.ndarray]:
    """Stored arrays of every requested band and auxiliary layer; nodata outside the AOI."""
    outside = ~inside
    none = sel.index < 0
    out: dict[str, np.ndarray] = {}
    for band in bands:
        out[band] = encode(chosen_reflectance(stack, sel, band), reflectance_layer(band),
                           outside | none)
    src = (stack.obs_index[np.clip(sel.index, 0, None)] if stack.obs_index.size
           else np.zeros(sel.index.shape, np.int64))
    days = acquisition_days[src] if acquisition_days.size else np.zeros(src.shape)
    physical = {
        "source_index": np.where(none, np.nan, src),
        "valid_obs": np.minimum(sel.valid_obs, 254),
        "total_obs": np.minimum(sel.total_obs, 254),
        "method": sel.method,
        "medoid_mos": sel.spread,
        "acquisition_date": np.where(none, np.nan, days),
        "quality_scene_classification": gather(stack.scl_core, sel.index),
        "quality_aot": gather(stack.aot, sel.index),
    }
    for name in aux:
        if name in physical or AUX_LAYERS[name].source is not Source.INDEX:
            continue
        # A spectral index of the chosen observation's reflectance (NaN where none was).
        physical[name] = INDICES[name].evaluate(
            {band: chosen_reflectance(stack, sel, band) for band in AUX_LAYERS[name].inputs})
    for name in aux:
        if name in physical:
            continue
        # Confidences and angles: the chosen observation's value, nodata where it has none.
        values = (gather(stack.extra[name], sel.index) if name in stack.extra
                  else np.full(sel.index.shape, np.nan))
        physical[name] = signed_azimuth(values) if AUX_LAYERS[name].azimuth else values
    for name in aux:
        out[name] = encode(physical[name], AUX_LAYERS[name], outside)
    return out
