"""Validity: SCL classes, finite spectra, the snow test and the optional cloud buffer."""

import numpy as np
import pytest

from compositing import l2a
from compositing.archive.stack import from_reflectance
from compositing.selection.kernels_reference import (
    prefer_clear_surroundings_reference,
    valid_mask_reference,
)
from compositing.selection.mask import (
    dilate,
    observation_counts,
    prefer_clear_surroundings,
    valid_mask,
)

BANDS = l2a.BAND_NAMES


def stack(scl: np.ndarray, value: float = 0.1) -> np.ndarray:
    return np.full((scl.shape[0], len(BANDS), *scl.shape[1:]), value, np.float32)


@pytest.mark.parametrize("cls", range(12))
def test_only_the_weak_1_classes_are_valid(cls):
    scl = np.full((1, 2, 2), cls, np.uint8)
    refl = stack(scl)
    if cls == l2a.SCL_SNOW:  # bright snow passes the snow test
        refl[:, BANDS.index("B03")] = 0.9
        refl[:, BANDS.index("B11")] = 0.1
        refl[:, BANDS.index("B8A")] = 0.8
    assert valid_mask(refl, scl, BANDS).all() == (cls in l2a.SCL_VALID_CLASSES)


def test_a_nan_in_any_band_invalidates_the_observation():
    scl = np.full((1, 1, 2), l2a.SCL_VEGETATION, np.uint8)
    refl = stack(scl)
    refl[0, BANDS.index("B12"), 0, 1] = np.nan
    assert valid_mask(refl, scl, BANDS).tolist() == [[[True, False]]]


def test_a_cloud_called_snow_fails_the_snow_test():
    scl = np.full((1, 1, 1), l2a.SCL_SNOW, np.uint8)
    refl = stack(scl, 0.5)  # flat bright spectrum: NDSI 0
    assert not valid_mask(refl, scl, BANDS).any()


def test_the_buffer_removes_pixels_near_clouds_and_shadows_only():
    scl = np.full((1, 9, 9), l2a.SCL_VEGETATION, np.uint8)
    scl[0, 4, 4] = l2a.SCL_CLOUD_HIGH
    scl[0, 0, 8] = l2a.SCL_WATER
    refl = stack(scl)
    assert valid_mask(refl, scl, BANDS).sum() == 80
    buffered = valid_mask(refl, scl, BANDS, buffer_px=2)
    assert buffered.sum() == 81 - 25
    assert not buffered[0, 2:7, 2:7].any() and buffered[0, 1, 1] and buffered[0, 0, 8]


def test_dilate_matches_a_brute_force_square():
    rng = np.random.default_rng(1)
    mask = rng.random((3, 17, 11)) > 0.93
    for radius in (1, 2, 5):
        want = np.zeros_like(mask)
        for t, y, x in zip(*np.nonzero(mask), strict=True):
            want[t, max(0, y - radius):y + radius + 1, max(0, x - radius):x + radius + 1] = True
        np.testing.assert_array_equal(dilate(mask, radius), want)


def _random_stack(rng, dtype, n_time=6, shape=(13, 17), halo=0):
    """Stacks with every SCL class, snow that passes and fails, no-data and clouds in clumps."""
    grown = (shape[0] + 2 * halo, shape[1] + 2 * halo)
    scl = rng.integers(0, 12, (n_time, *grown)).astype(np.uint8)
    scl[:, ::3] = l2a.SCL_SNOW
    scl[1] = l2a.SCL_VEGETATION  # no cloud at all in one observation
    scl[2, 4:8, 5:9] = l2a.SCL_CLOUD_HIGH
    reflectance = rng.uniform(-0.05, 0.9, (n_time, len(BANDS), *shape))
    reflectance[:, BANDS.index("B11"), :, ::2] *= 0.1  # high NDSI where x is even
    if dtype == np.uint16:
        refl = from_reflectance(reflectance)
        refl[0, 3, 2, :5] = 0
    else:
        refl = reflectance.astype(np.float32)
        refl[0, 3, 2, :5] = np.nan
        refl[1, 5, 1, 3] = np.inf
    oblique = rng.random((n_time, *shape)) > 0.9
    return refl, scl, oblique


@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
@pytest.mark.parametrize("buffer_px,halo", [(0, 0), (2, 0), (2, 3), (0, 1)])
def test_valid_mask_matches_the_rule_by_rule_reference(dtype, buffer_px, halo):
    refl, scl, oblique = _random_stack(np.random.default_rng(buffer_px + 10 * halo), dtype,
                                       halo=halo)
    for ob in (None, oblique):
        got = valid_mask(refl, scl, BANDS, buffer_px, ob, halo)
        want = valid_mask_reference(refl, scl, BANDS, buffer_px, ob, halo)
        np.testing.assert_array_equal(got, want)
    core = scl[:, halo:scl.shape[1] - halo, halo:scl.shape[2] - halo]
    snow = valid_mask(refl, scl, BANDS, halo=halo) & (core == l2a.SCL_SNOW)
    assert 0 < snow.sum() < (core == l2a.SCL_SNOW).sum(), "some snow passes, some fails"


@pytest.mark.parametrize("radius,halo", [(1, 0), (2, 0), (2, 2), (3, 4)])
def test_prefer_clear_surroundings_matches_the_reference(radius, halo):
    refl, scl, _ = _random_stack(np.random.default_rng(radius), np.uint16, halo=halo)
    valid = valid_mask(refl, scl, BANDS, halo=halo)
    want = prefer_clear_surroundings_reference(valid, scl, radius, halo)
    np.testing.assert_array_equal(prefer_clear_surroundings(valid, scl, radius, halo), want)
    where = np.random.default_rng(3).random(valid.shape[1:]) > 0.5
    np.testing.assert_array_equal(
        prefer_clear_surroundings(valid, scl, radius, halo, where=where), want & where)
    # A few pixels only: the kernel decides on their window, seeing clouds beyond it.
    few = np.zeros(valid.shape[1:], bool)
    few[5:7, 9:12] = True
    np.testing.assert_array_equal(
        prefer_clear_surroundings(valid, scl, radius, halo, where=few), want & few)
    assert (want & few != valid & few).any(), "the preference changes some of the few"
    assert (want != valid).any(), "the preference changes something"


def test_observation_counts():
    scl = np.zeros((3, 4, 5), np.uint8)
    scl[:2, 1:3, 1:4] = l2a.SCL_VEGETATION
    scl[2, 1, 1] = l2a.SCL_CLOUD_HIGH
    valid = np.zeros((3, 2, 3), bool)
    valid[0] = True
    valid[1, 0, 0] = True
    n_valid, total = observation_counts(valid, scl, 1)
    assert n_valid.tolist() == [[2, 1, 1], [1, 1, 1]]
    assert total.tolist() == [[3, 2, 2], [2, 2, 2]]
