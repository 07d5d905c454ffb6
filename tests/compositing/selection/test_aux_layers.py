"""Confidence and angle layers of the chosen observation, the view-zenith validity rule and the
STC's preference for observations away from detected clouds, on hand-built stacks whose answers
are known (the angle grids themselves: tests/compositing/archive/test_angles.py)."""

from __future__ import annotations

import numpy as np

from compositing import l2a
from compositing.archive.angles import MAX_VIEW_ZENITH_DEG, signed_azimuth
from compositing.archive.stack import STACK_DN_OFFSET, Stack, from_reflectance
from compositing.products.layers import ANGLE_LAYERS, AUX_LAYERS, CONFIDENCE_LAYERS, encode
from compositing.selection.composite import chunk_layers, select, stack_bands
from compositing.selection.kernels_reference import stc_index_reference
from compositing.selection.mask import prefer_clear_surroundings, stc_clear_px, valid_mask

BANDS = stack_bands(["B04"])
NEW_LAYERS = (*CONFIDENCE_LAYERS, *ANGLE_LAYERS)


def test_new_layers_have_the_s2gm_storage():
    for name in CONFIDENCE_LAYERS:
        layer = AUX_LAYERS[name]
        assert (layer.dtype, layer.scale, layer.nodata, layer.units) == ("uint8", 1, 255, "%")
    for name in ANGLE_LAYERS:
        layer = AUX_LAYERS[name]
        assert (layer.dtype, layer.scale, layer.nodata) == ("int16", 0.01, -32768)


def test_azimuths_are_stored_from_minus_180_to_180():
    layer = AUX_LAYERS["sun_azimuth"]
    degrees = np.array([350.0, 10.0, 180.0, 359.996, np.nan])
    stored = encode(signed_azimuth(degrees), layer)
    assert stored.tolist() == [-1000, 1000, 18000, 0, -32768]


def _stack(n_time: int, shape: tuple[int, int], value: float = 0.2) -> Stack:
    refl = from_reflectance(np.full((n_time, len(BANDS), *shape), value))
    scl = np.full((n_time, *shape), l2a.SCL_VEGETATION, np.uint8)
    extra = {
        "quality_cloud_confidence": np.arange(n_time, dtype=np.float32)[:, None, None] * 10 + 1,
        "quality_snow_confidence": np.arange(n_time, dtype=np.float32)[:, None, None] * 5,
        "view_zenith_mean": np.arange(n_time, dtype=np.float32)[:, None, None] + 2.5,
        "view_azimuth_mean": np.full(n_time, 283.0, np.float32)[:, None, None],
        "sun_zenith": np.arange(n_time, dtype=np.float32)[:, None, None] + 30.25,
        "sun_azimuth": 350 - np.arange(n_time, dtype=np.float32)[:, None, None],
    }
    extra = {k: np.broadcast_to(v, (n_time, *shape)).copy() for k, v in extra.items()}
    return Stack(np.arange(n_time), BANDS, refl, scl, np.full((n_time, *shape), 0.1, np.float32),
                 extra["view_zenith_mean"] >= MAX_VIEW_ZENITH_DEG, 0, extra)


def _layers(stack: Stack, **kwargs: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    sel = select(stack, **kwargs)
    layers = chunk_layers(stack, sel, ["B04"], ["source_index", *NEW_LAYERS],
                          np.arange(stack.refl.shape[0]), np.ones(sel.index.shape, bool))
    return sel.index, layers


def test_every_new_layer_holds_the_chosen_observations_value():
    stack = _stack(5, (1, 2))
    # Pixel 0: five valid spectra on a line, the medoid is the middle one (index 2).
    stack.refl[:, :, 0, 0] += (100 * np.arange(5)[:, None]).astype(np.uint16)  # +0.01 each
    # Pixel 1: only observation 3 is valid (the others cloudy): the STC takes it.
    stack.scl[:, 0, 1] = l2a.SCL_CLOUD_HIGH
    stack.scl[3, 0, 1] = l2a.SCL_VEGETATION
    index, layers = _layers(stack)
    assert index.tolist() == [[2, 3]]
    for t, x in ((2, 0), (3, 1)):
        assert layers["quality_cloud_confidence"][0, x] == 10 * t + 1
        assert layers["quality_snow_confidence"][0, x] == 5 * t
        assert layers["view_zenith_mean"][0, x] == round((t + 2.5) * 100)
        assert layers["sun_zenith"][0, x] == round((t + 30.25) * 100)
        assert layers["sun_azimuth"][0, x] == round((350 - t - 360) * 100)
        assert layers["view_azimuth_mean"][0, x] == -7700


def test_layers_are_nodata_without_a_chosen_observation_or_without_the_input():
    stack = _stack(2, (1, 2))
    stack.scl[:, 0, 1] = l2a.SCL_CLOUD_MEDIUM  # no valid observation at pixel 1
    del stack.extra["quality_snow_confidence"]  # e.g. an Earth Search item
    stack.extra["sun_zenith"][0, 0, 0] = np.nan  # the chosen observation has no angle grid
    index, layers = _layers(stack)
    assert index.tolist() == [[0, -1]]
    for name in NEW_LAYERS:
        assert layers[name][0, 1] == AUX_LAYERS[name].nodata
    assert layers["quality_snow_confidence"][0, 0] == 255
    assert layers["sun_zenith"][0, 0] == -32768
    assert layers["quality_cloud_confidence"][0, 0] == 1


def test_an_observation_seen_at_11_degrees_or_more_is_not_valid():
    refl = np.full((3, len(BANDS), 1, 3), 0.2, np.float32)
    scl = np.full((3, 1, 3), l2a.SCL_VEGETATION, np.uint8)
    oblique = np.array([[[False, True, False]]] * 3)
    valid = valid_mask(refl, scl, BANDS, oblique=oblique)
    assert valid[:, 0].tolist() == [[True, False, True]] * 3
    assert valid_mask(refl, scl, BANDS).all()


def test_the_view_zenith_rule_changes_the_medoid():
    stack = _stack(5, (1, 1))
    stack.refl[:, :, 0, 0] += (100 * np.arange(5)[:, None]).astype(np.uint16)  # +0.01 each
    stack.oblique[2] = True  # the middle one, the medoid, is seen too obliquely
    index, layers = _layers(stack)
    # Left: 0, 1, 3, 4 on a line; 1 and 3 tie, the earliest wins.
    assert index.tolist() == [[1]]
    assert layers["quality_cloud_confidence"][0, 0] == 11


def test_stc_clear_distance_in_pixels():
    assert [stc_clear_px(r) for r in (10, 20, 60)] == [6, 3, 1]


def test_prefer_clear_surroundings_keeps_a_fallback():
    valid = np.ones((2, 1, 5), bool)
    scl = np.full((2, 1, 5), l2a.SCL_BARE_SOIL, np.uint8)
    scl[0, 0, 0] = l2a.SCL_CLOUD_HIGH
    valid[0, 0, 0] = False
    valid[1, 0, 1] = False  # at x = 1 only the observation next to the cloud is valid
    preferred = prefer_clear_surroundings(valid, scl, 2)
    assert preferred[0, 0].tolist() == [False, True, False, True, True]
    assert preferred[1, 0].tolist() == [True, False, True, True, True]
    assert (prefer_clear_surroundings(valid, scl, 0) == valid).all()
    # Snow is never promoted over the others, but stays a candidate where it is all there is.
    scl[1, 0, 3:] = l2a.SCL_SNOW
    valid[0, 0, 4] = False
    preferred = prefer_clear_surroundings(valid, scl, 2)
    assert preferred[:, 0, 3].tolist() == [True, False]
    assert preferred[:, 0, 4].tolist() == [False, True]


def _soil(scale: float) -> dict[str, float]:
    spectrum = {"B01": 0.06, "B02": 0.06, "B03": 0.09, "B04": 0.12, "B05": 0.16, "B06": 0.18,
                "B07": 0.19, "B08": 0.20, "B8A": 0.21, "B09": 0.21, "B11": 0.28, "B12": 0.22}
    return {b: v * scale for b, v in spectrum.items()}


def test_the_stc_prefers_the_observation_away_from_a_detected_cloud():
    """Two valid dates of bare soil; the first is darker (a shadow penumbra Sen2Cor missed
    beside a cloud it detected). The tree's minimum-TCB step takes the dark one, unless the
    distance preference leaves only the other."""
    stack = _stack(2, (3, 3))
    for b, name in enumerate(BANDS):
        stack.refl[0, b] = from_reflectance(np.float64(_soil(0.6)[name]))
        stack.refl[1, b] = from_reflectance(np.float64(_soil(1.0)[name]))
    stack.scl[0, 0, 0] = l2a.SCL_CLOUD_SHADOW
    atbd, _ = _layers(stack)
    preferring, layers = _layers(stack, stc_clear_px=1)
    assert atbd[1, 1] == 0 and atbd[2, 2] == 0  # minimum TCB: the darker date
    assert preferring[1, 1] == 1  # one pixel from the shadow: the other date
    assert preferring[2, 2] == 0  # two pixels away: both candidates, the tree decides
    assert layers["quality_cloud_confidence"][1, 1] == 11
    valid = valid_mask(stack.refl, stack.scl, BANDS)
    expected = stc_index_reference(stack.refl, prefer_clear_surroundings(valid, stack.scl, 1),
                                   BANDS, scl=stack.scl, dn_offset=STACK_DN_OFFSET)
    assert (np.where(valid.any(0), expected, -1) == preferring).all()
