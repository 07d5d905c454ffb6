"""Validity: SCL classes, finite spectra, the snow test and the optional cloud buffer."""

import numpy as np
import pytest

from compositing import l2a
from compositing.selection.mask import dilate, valid_mask

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


def test_the_snow_test_in_batches_decides_every_pixel_as_in_one(monkeypatch):
    from compositing.selection import mask

    rng = np.random.default_rng(4)
    scl = np.full((3, 7, 9), l2a.SCL_SNOW, np.uint8)
    refl = rng.uniform(0.05, 0.9, (3, len(BANDS), 7, 9)).astype(np.float32)
    whole = valid_mask(refl, scl, BANDS)
    assert 0 < whole.sum() < whole.size, "some snow passes, some fails"
    monkeypatch.setattr(mask, "_SNOW_BATCH", 10)  # 189 snow pixels: 19 batches
    np.testing.assert_array_equal(valid_mask(refl, scl, BANDS), whole)
