"""Kernels against their slow references (the exhaustive suite comes with the science issue)."""

import numpy as np
import pytest

from compositing.kernels import STC_BANDS, medoid_index, stc_index
from compositing.kernels_reference import medoid_index_reference, stc_index_reference


def random_stack(rng, t, b, h, w, dtype, invalid=0.25):
    if dtype == np.uint16:
        refl = rng.integers(1, 6000, size=(t, b, h, w)).astype(np.uint16)
    else:
        refl = rng.uniform(0, 0.6, size=(t, b, h, w)).astype(np.float32)
    valid = rng.random((t, h, w)) >= invalid
    return refl, valid


@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
@pytest.mark.parametrize("t", [0, 1, 3, 4, 5, 17])
def test_medoid_matches_reference(dtype, t):
    rng = np.random.default_rng(t)
    refl, valid = random_stack(rng, t, 7, 9, 11, dtype)
    np.testing.assert_array_equal(medoid_index(refl, valid), medoid_index_reference(refl, valid))


def test_medoid_is_minus_one_without_valid_observations():
    refl = np.ones((5, 7, 3, 4), np.float32)
    assert (medoid_index(refl, np.zeros((5, 3, 4), bool)) == -1).all()


def test_medoid_ties_go_to_the_earliest():
    refl = np.ones((4, 7, 1, 1), np.float32)
    valid = np.array([False, True, True, True]).reshape(4, 1, 1)
    assert medoid_index(refl, valid)[0, 0] == 1


def test_medoid_picks_the_central_spectrum():
    values = np.array([0.1, 0.2, 0.25, 0.3, 0.9], np.float32)
    refl = np.broadcast_to(values[:, None, None, None], (5, 3, 1, 1)).copy()
    assert medoid_index(refl, np.ones((5, 1, 1), bool))[0, 0] == 2


@pytest.mark.parametrize("t", [1, 2, 3, 6])
def test_stc_matches_reference(t):
    rng = np.random.default_rng(100 + t)
    refl, valid = random_stack(rng, t, len(STC_BANDS), 12, 10, np.float32, invalid=0.2)
    np.testing.assert_array_equal(stc_index(refl, valid, STC_BANDS),
                                  stc_index_reference(refl, valid, STC_BANDS))


def test_stc_prefers_vegetation_over_a_hazy_observation():
    # Two observations of a field: one clear (high NDVI, dark), one hazy (bright, flat).
    clear = [0.03, 0.06, 0.04, 0.40, 0.42, 0.20, 0.10]
    hazy = [0.25, 0.26, 0.27, 0.35, 0.36, 0.30, 0.25]
    refl = np.array([hazy, clear], np.float32)[:, :, None, None]
    assert stc_index(refl, np.ones((2, 1, 1), bool), STC_BANDS)[0, 0] == 1
