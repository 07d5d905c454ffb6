"""The selection on a stack of DN (uint16, as the reader fills it) chooses what it chooses on
the same observations as reflectance, and reports medoid_mos in reflectance."""

from __future__ import annotations

import numpy as np

from compositing import l2a
from compositing.archive.stack import STACK_DN_OFFSET, STACK_SCALE, Stack
from compositing.selection.composite import select, stack_bands


def test_dn_and_reflectance_stacks_select_alike():
    rng = np.random.default_rng(12)
    bands = stack_bands(["B02", "B03", "B04", "B08"])
    n_time, shape = 9, (6, 7)
    dn = rng.integers(1100, 6000, size=(n_time, len(bands), *shape)).astype(np.uint16)
    scl = np.full((n_time, *shape), l2a.SCL_VEGETATION, np.uint8)
    # Clouds leave some pixels with fewer valid observations than the medoid needs (STC).
    scl[: n_time - 2, :2, :3] = l2a.SCL_CLOUD_HIGH
    reflectance = ((dn.astype(np.float64) + STACK_DN_OFFSET) * STACK_SCALE).astype(np.float32)
    oblique = np.zeros((n_time, *shape), bool)
    aot = np.full((n_time, *shape), 0.1, np.float32)
    from_dn = select(Stack(np.arange(n_time), bands, dn, scl, aot, oblique), stc_clear_px=1)
    from_refl = select(Stack(np.arange(n_time), bands, reflectance, scl, aot, oblique),
                       stc_clear_px=1)
    np.testing.assert_array_equal(from_dn.index, from_refl.index)
    np.testing.assert_array_equal(from_dn.method, from_refl.method)
    medoid = np.isfinite(from_refl.spread)
    assert medoid.sum() == 6 * 7 - 2 * 3
    np.testing.assert_allclose(from_dn.spread[medoid], from_refl.spread[medoid], rtol=1e-5)
    assert 0.01 < np.nanmax(from_dn.spread) < 1.0  # reflectance units, not DN
