"""The short-term composite (ATBD Table 2-4, Fig. 2-16) branch by branch, and its reference.

Spectra are (B02, B03, B04, B08, B8A, B11, B12) reflectance. Every hand-built stack first
asserts the condition that routes it to its branch, so a wrong number fails loudly.
"""

import numpy as np
import pytest

from compositing.selection.kernels import STC_BANDS, stc_index
from compositing.selection.kernels_reference import _cloud_or_snow, stc_index_reference

SNOW = 11
VEGETATION = 4


def ndvi(s):
    return (s[3] - s[2]) / (s[3] + s[2])


def mndwi(s):
    return (s[1] - s[5]) / (s[1] + s[5])


def tcb(s):
    return 0.3029 * s[0] + 0.2786 * s[1] + 0.4733 * s[2] + 0.5599 * s[4] + 0.508 * s[5] \
        + 0.1872 * s[6]


def flagged(s):
    return _cloud_or_snow(dict(zip(STC_BANDS, s, strict=True)))


def mean(f, spectra):
    return sum(f(s) for s in spectra) / len(spectra)


def argmax(f, spectra):
    return max(range(len(spectra)), key=lambda i: (f(spectra[i]), -i))


def argmin(f, spectra):
    return min(range(len(spectra)), key=lambda i: (f(spectra[i]), i))


def pick(spectra, scl=None, dtype=np.float32):
    """The kernel's choice for one pixel, after checking the reference agrees."""
    refl = np.array(spectra, np.float64)
    refl = (np.round(refl * 1e4) if dtype == np.uint16 else refl).astype(dtype)[:, :, None, None]
    valid = np.ones((len(spectra), 1, 1), bool)
    scl_arr = None if scl is None else np.array(scl, np.uint8).reshape(-1, 1, 1)
    got = stc_index(refl, valid, STC_BANDS, scl=scl_arr)[0, 0]
    assert got == stc_index_reference(refl, valid, STC_BANDS, scl=scl_arr)[0, 0]
    return got


def test_one_observation_is_taken_whatever_it_is():
    cloud = [0.5] * 7
    assert pick([cloud]) == 0


def test_stable_bright_soil_without_water_takes_the_max_ndvi():
    # Step 2: mean mNDWI < -0.55 and max NDVI - mean NDVI < 0.05.
    soil = [[0.10, 0.05, 0.10, 0.30, 0.30, 0.30, 0.25], [0.12, 0.06, 0.11, 0.34, 0.33, 0.32, 0.27],
            [0.09, 0.05, 0.10, 0.29, 0.30, 0.30, 0.25]]
    assert mean(mndwi, soil) < -0.55
    assert max(map(ndvi, soil)) - mean(ndvi, soil) < 0.05
    assert argmax(ndvi, soil) != argmin(tcb, soil)
    assert pick(soil) == argmax(ndvi, soil) == 1


def test_persistent_water_takes_the_max_mndwi():
    # Step 3: mean NDVI < -0.3 and mean mNDWI - min mNDWI < 0.05.
    water = [[0.06, 0.07, 0.05, 0.02, 0.02, 0.010, 0.008],
             [0.08, 0.09, 0.07, 0.03, 0.03, 0.010, 0.008]]
    assert mean(mndwi, water) >= -0.55 and mean(ndvi, water) < -0.3
    assert mean(mndwi, water) - min(map(mndwi, water)) < 0.05
    assert argmax(mndwi, water) != argmin(tcb, water)
    assert pick(water) == argmax(mndwi, water) == 1


@pytest.mark.parametrize("dtype", [np.float32, np.uint16])
def test_dense_vegetation_takes_the_max_ndvi(dtype):
    # Step 4: mean NDVI > 0.6 and mean TCB < 0.45.
    forest = [[0.03, 0.06, 0.05, 0.35, 0.35, 0.18, 0.08],
              [0.04, 0.08, 0.03, 0.42, 0.42, 0.20, 0.10]]
    assert max(map(ndvi, forest)) - mean(ndvi, forest) >= 0.05 or mean(mndwi, forest) >= -0.55
    assert mean(ndvi, forest) > 0.6 and mean(tcb, forest) < 0.45
    assert argmax(ndvi, forest) != argmin(tcb, forest)
    assert pick(forest, dtype=dtype) == argmax(ndvi, forest) == 1


def test_a_residual_cloud_loses_to_the_darker_clear_observation():
    # Step 5: the min-TCB observation is not flagged by the cloud-or-snow test.
    cloud = [0.40, 0.40, 0.40, 0.45, 0.45, 0.38, 0.30]
    field = [0.05, 0.08, 0.08, 0.25, 0.26, 0.22, 0.14]
    assert flagged(cloud) and not flagged(field)
    assert mean(ndvi, [cloud, field]) <= 0.6
    assert pick([cloud, field]) == argmin(tcb, [cloud, field]) == 1


def test_haze_everywhere_still_takes_the_min_tcb_when_not_snow():
    # Step 6a: min TCB flagged, snow test false (not SCL 11), TCB <= 1.0.
    haze = [[0.40] * 7, [0.42] * 7]
    assert all(map(flagged, haze)) and tcb(haze[0]) <= 1.0
    assert pick(haze, scl=[VEGETATION, VEGETATION]) == 0


def test_bright_cloud_everywhere_gives_no_observation():
    # Step 6b: min TCB flagged, not snow, TCB > 1.0: nodata although two are valid.
    clouds = [[0.52] * 7, [0.50] * 7]
    assert all(map(flagged, clouds)) and min(map(tcb, clouds)) > 1.0
    assert pick(clouds) == -1


def snow(b2, b8, b11, b8a=None):
    """A snow spectrum: bright visible, dark SWIR."""
    return [b2, b2, b2, b8, b8 if b8a is None else b8a, b11, b11 * 0.8]


def test_snow_without_scl_is_not_snow_and_bright_snow_becomes_nodata():
    # Without the SCL nothing is SCL 11, so the snow test is false: step 6.
    field = [snow(0.80, 0.60, 0.10), snow(0.85, 0.65, 0.08)]
    assert all(map(flagged, field)) and min(map(tcb, field)) > 1.0
    assert pick(field) == -1
    assert pick(field, scl=[VEGETATION, SNOW]) == -1  # the min-TCB one is not SCL 11


def test_snow_with_negative_ndvi_takes_the_max_mndwi():
    # Step 7: snow test true on the min-TCB observation, mean NDVI < -0.2.
    field = [snow(0.80, 0.50, 0.10), snow(0.90, 0.55, 0.05)]
    assert all(map(flagged, field)) and mean(ndvi, field) < -0.2
    assert mean(ndvi, field) >= -0.3 or mean(mndwi, field) - min(map(mndwi, field)) >= 0.05
    assert argmax(mndwi, field) != argmin(tcb, field)
    assert pick(field, scl=[SNOW, SNOW]) == argmax(mndwi, field) == 1


def test_bright_snow_takes_the_min_ndvi():
    # Step 8: snow, mean NDVI >= -0.2, mean TCB > 0.45.
    field = [snow(0.80, 0.75, 0.10), snow(0.82, 0.70, 0.10, b8a=0.80)]
    assert all(map(flagged, field)) and mean(ndvi, field) >= -0.2 and mean(tcb, field) > 0.45
    assert argmin(ndvi, field) != argmin(tcb, field)
    assert pick(field, scl=[SNOW, SNOW]) == argmin(ndvi, field) == 1


def test_dim_snow_takes_the_max_ndvi():
    # Step 9: snow, mean NDVI >= -0.2, mean TCB <= 0.45.
    field = [snow(0.25, 0.20, 0.03), snow(0.25, 0.22, 0.03, b8a=0.21)]
    assert all(map(flagged, field)) and min(map(tcb, field)) > 0.36
    assert mean(ndvi, field) >= -0.2 and mean(tcb, field) <= 0.45
    assert argmax(ndvi, field) != argmin(tcb, field)
    assert pick(field, scl=[SNOW, SNOW]) == argmax(ndvi, field) == 1


def test_stc_without_valid_observations_is_minus_one():
    refl = np.ones((3, 7, 2, 2), np.float32)
    assert (stc_index(refl, np.zeros((3, 2, 2), bool), STC_BANDS) == -1).all()


def test_stc_ties_go_to_the_earliest():
    field = [0.05, 0.08, 0.08, 0.25, 0.26, 0.22, 0.14]
    assert pick([field, field, field]) == 0


# Prototype spectra the random stacks are drawn around, so every branch gets visited.
PROTOTYPES = np.array([
    [0.10, 0.05, 0.10, 0.30, 0.30, 0.30, 0.25],  # soil
    [0.06, 0.07, 0.05, 0.02, 0.02, 0.01, 0.008],  # water
    [0.03, 0.06, 0.05, 0.35, 0.35, 0.18, 0.08],  # forest
    [0.40, 0.40, 0.40, 0.45, 0.45, 0.38, 0.30],  # cloud
    [0.80, 0.80, 0.80, 0.60, 0.60, 0.10, 0.08],  # snow
    [0.25, 0.25, 0.25, 0.20, 0.20, 0.03, 0.024],  # dim snow
    [0.52, 0.52, 0.52, 0.52, 0.52, 0.52, 0.52],  # bright cloud
])


@pytest.mark.parametrize("dtype", [np.float32, np.uint16])
@pytest.mark.parametrize("t", [0, 1, 2, 3, 5])
def test_stc_matches_reference(dtype, t):
    rng = np.random.default_rng(100 + t)
    h, w = 10, 12
    kind = rng.integers(0, len(PROTOTYPES), size=(t, h, w))
    noise = rng.normal(1.0, 0.08, size=(t, 7, h, w))
    refl = PROTOTYPES[kind].transpose(0, 3, 1, 2) * noise
    refl = (np.round(refl * 1e4) if dtype == np.uint16 else refl).astype(dtype)
    valid = rng.random((t, h, w)) >= 0.2
    scl = np.where(rng.random((t, h, w)) < 0.5, SNOW, VEGETATION).astype(np.uint8)
    for s in (None, scl):
        np.testing.assert_array_equal(stc_index(refl, valid, STC_BANDS, scl=s),
                                      stc_index_reference(refl, valid, STC_BANDS, scl=s))


def test_stc_treats_a_non_finite_observation_as_not_valid():
    field = [0.05, 0.08, 0.08, 0.25, 0.26, 0.22, 0.14]
    darker = [0.04, 0.07, 0.07, 0.24, 0.25, 0.20, 0.12]
    refl = np.array([darker, field], np.float32)[:, :, None, None]
    refl[0, 2] = np.nan
    valid = np.ones((2, 1, 1), bool)
    assert stc_index(refl, valid, STC_BANDS)[0, 0] == 1
    assert stc_index_reference(refl, valid, STC_BANDS)[0, 0] == 1


def test_stc_needs_its_bands():
    with pytest.raises(ValueError, match="B8A"):
        stc_index(np.ones((1, 2, 1, 1), np.float32), np.ones((1, 1, 1), bool), ["B02", "B03"])
