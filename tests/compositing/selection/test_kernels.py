"""The medoid kernel against its slow reference: exactly the same index, every case."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from compositing.selection import kernels
from compositing.selection.kernels import medoid_index
from compositing.selection.kernels_reference import medoid_index_reference, medoid_reference

DTYPES = [np.uint16, np.float32]


def random_stack(rng, t, b, h, w, dtype, invalid=0.25):
    if dtype == np.uint16:
        refl = rng.integers(1, 6000, size=(t, b, h, w)).astype(np.uint16)
    else:
        refl = rng.uniform(0, 0.6, size=(t, b, h, w)).astype(np.float32)
    valid = rng.random((t, h, w)) >= invalid
    return refl, valid


def assert_same_as_reference(refl, valid):
    spread = np.full(valid.shape[1:], -7.0)
    index = medoid_index(refl, valid, spread=spread)
    ref_index, ref_spread = medoid_reference(refl, valid)
    np.testing.assert_array_equal(index, ref_index)
    np.testing.assert_allclose(spread, ref_spread, rtol=1e-5, atol=0)  # NaN where none
    return index


def spectra_stack(spectra, dtype=np.float32):
    """One pixel from a list of spectra (time order)."""
    return np.array(spectra, dtype)[:, :, None, None]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("t", "h", "w"), [(0, 4, 5), (1, 9, 11), (3, 9, 11), (4, 9, 11),
                                           (5, 9, 11), (100, 2, 3)])
def test_medoid_matches_reference(dtype, t, h, w):
    rng = np.random.default_rng(t)
    assert_same_as_reference(*random_stack(rng, t, 7, h, w, dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("h", "w"), [(1, 1), (1, 17), (13, 1), (2, 129), (3, 257), (1, 530)])
def test_medoid_handles_any_chunk_shape(dtype, h, w):
    # Widths around the kernel's blocks of pixels (16 to 256 wide) exercise a partial last
    # block and rows of several blocks.
    rng = np.random.default_rng(h * 1000 + w)
    assert_same_as_reference(*random_stack(rng, 6, 4, h, w, dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_medoid_is_minus_one_without_valid_observations(dtype):
    refl = np.ones((5, 7, 3, 4), dtype)
    spread = np.zeros((3, 4))
    assert (medoid_index(refl, np.zeros((5, 3, 4), bool), spread=spread) == -1).all()
    assert np.isnan(spread).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_medoid_of_identical_spectra_is_the_earliest_valid(dtype):
    refl = np.ones((4, 7, 1, 1), dtype)
    valid = np.array([False, True, True, True]).reshape(4, 1, 1)
    assert medoid_index(refl, valid)[0, 0] == 1


@pytest.mark.parametrize("dtype", DTYPES)
def test_medoid_tie_between_duplicates_goes_to_the_earliest(dtype):
    # Times 1 and 3 carry the same central spectrum: same sum, the earlier wins.
    refl = spectra_stack([[10, 10], [20, 20], [90, 90], [20, 20], [30, 30]], dtype)
    assert assert_same_as_reference(refl, np.ones((5, 1, 1), bool))[0, 0] == 1


@pytest.mark.parametrize("dtype", DTYPES)
def test_medoid_of_two_symmetric_values_is_the_earliest(dtype):
    refl = spectra_stack([[3], [1]], dtype)  # 1 and 3 around 2: equal sums
    assert assert_same_as_reference(refl, np.ones((2, 1, 1), bool))[0, 0] == 0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("corners", [3, 4, 5, 6, 8])
def test_medoid_on_a_regular_polygon_follows_the_canonical_sums(dtype, corners):
    # Every corner is equally central in real numbers; float64 rounding in the canonical
    # order decides, and the kernel must decide exactly like the reference.
    angle = 2 * np.pi * np.arange(corners) / corners
    points = np.stack([1000 + 500 * np.cos(angle), 1000 + 500 * np.sin(angle)], axis=1)
    refl = spectra_stack(np.round(points) if dtype == np.uint16 else points, dtype)
    assert_same_as_reference(refl, np.ones((corners, 1, 1), bool))


def test_medoid_with_a_centre_on_a_polygon_picks_the_centre():
    square = [[0, 2], [2, 4], [4, 2], [2, 0]]
    refl = spectra_stack([*square, [2, 2]], np.uint16)
    assert medoid_index(refl, np.ones((5, 1, 1), bool))[0, 0] == 4


def test_medoid_picks_the_central_spectrum():
    values = np.array([0.1, 0.2, 0.25, 0.3, 0.9], np.float32)
    refl = np.broadcast_to(values[:, None, None, None], (5, 3, 1, 1)).copy()
    assert medoid_index(refl, np.ones((5, 1, 1), bool))[0, 0] == 2


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_medoid_treats_a_non_finite_observation_as_not_valid(bad):
    rng = np.random.default_rng(5)
    refl, valid = random_stack(rng, 8, 5, 6, 7, np.float32, invalid=0.1)
    holes = rng.random(refl.shape) < 0.05
    refl[holes] = bad
    index = assert_same_as_reference(refl, valid)
    finite_valid = valid & np.isfinite(refl).all(axis=1)
    np.testing.assert_array_equal(index, medoid_index(np.nan_to_num(refl), finite_valid))


@pytest.mark.parametrize("scale", [1e-30, 1e18, 3e37])
def test_medoid_is_exact_where_float32_underflows_or_overflows(scale):
    # Tiny spectra make subnormal float32 squares; huge ones overflow float32 sums to inf,
    # which sends the pixel to the float64 path.
    rng = np.random.default_rng(7)
    refl, valid = random_stack(rng, 7, 3, 4, 5, np.float32)
    assert_same_as_reference((refl * np.float32(scale)).astype(np.float32), valid)


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_float64_check_agrees_with_the_fast_path(dtype):
    # A bound of 100 % makes every valid observation a candidate, so every pixel is decided
    # on the canonical float64 sums; the fast path must have chosen the same.
    rng = np.random.default_rng(11)
    refl, valid = random_stack(rng, 12, 7, 5, 40, dtype)
    fast = medoid_index(refl, valid)
    slow, spread = np.empty_like(fast), np.empty(fast.shape)
    kernels._medoid_kernel(refl, valid, dtype == np.float32, 1.0, 0.0, 16, (0,) * 7, slow,
                           spread)
    np.testing.assert_array_equal(fast, slow)
    np.testing.assert_array_equal(slow, medoid_index_reference(refl, valid))


def mirrored_near_tie_stack(rng, h, w):
    """Per pixel, a (later) and b (earlier) near the centre of a cloud symmetric in bands 0
    and 1, mirror images of each other, except that b sits 1 DN off in band 2: in real numbers
    S_b exceeds S_a by about 12 / (2 * 15000), some 2e-9 of the sums, far below float32
    resolution (6e-8). Band values are integers, exact in uint16 and float32 alike."""
    n_quad, centre = 3, 30000
    u = rng.integers(5000, 20000, size=(n_quad, h, w))
    v = rng.integers(5000, 20000, size=(n_quad, h, w))
    s, lift = rng.integers(1, 50, size=(h, w)), rng.integers(-50, 50, size=(h, w))
    band0 = [centre - s, centre + s, *(centre + u), *(centre - u), *(centre + u), *(centre - u)]
    band1 = [centre + lift, centre + lift, *(centre + v), *(centre + v), *(centre - v),
             *(centre - v)]
    band2 = [np.ones((h, w), int)] + [np.zeros((h, w), int)] * (1 + 4 * n_quad)
    spectra = np.stack([np.stack(band0), np.stack(band1), np.stack(band2)], axis=1)
    flat = np.full((spectra.shape[0], 4, h, w), 1000)  # bands equal everywhere: distance 0
    return np.concatenate([spectra, flat], axis=1)  # (time, 7 bands, h, w): b at 0, a at 1


@pytest.mark.parametrize("dtype", DTYPES)
def test_medoid_near_ties_below_float32_resolution_follow_float64(dtype):
    rng = np.random.default_rng(13)
    refl = mirrored_near_tie_stack(rng, 4, 64).astype(dtype)
    valid = np.ones((refl.shape[0], 4, 64), bool)
    assert (assert_same_as_reference(refl, valid) == 1).all()  # a: the truly smaller sum
    # The stack is adversarial: trusting the float32 order (candidates only among exact
    # float32 ties, no error bound) picks b on many pixels. The bound is what saves it.
    float32_only, spread = np.empty((4, 64), np.int16), np.empty((4, 64))
    kernels._medoid_kernel(refl, valid, dtype == np.float32, 0.0, 0.0, 32, (0,) * 7,
                           float32_only, spread)
    assert (float32_only != 1).mean() > 0.1


def test_medoid_rejects_other_dtypes():
    with pytest.raises(ValueError, match="uint16 or float32"):
        medoid_index(np.ones((2, 3, 1, 1), np.float64), np.ones((2, 1, 1), bool))


@st.composite
def stacks(draw):
    """Small stacks with few distinct values, so exact and near ties are common."""
    t = draw(st.integers(0, 9))
    b = draw(st.integers(1, 4))
    h, w = draw(st.integers(1, 3)), draw(st.integers(1, 20))
    dtype = draw(st.sampled_from(DTYPES))
    top = draw(st.sampled_from([3, 20, 6000]))
    elements = (st.integers(0, top) if dtype == np.uint16
                else st.integers(0, top).map(lambda v: v / 7) | st.floats(0, 1, width=32)
                | st.just(float("nan")))
    refl = draw(hnp.arrays(dtype, (t, b, h, w), elements=elements))
    valid = draw(hnp.arrays(np.bool_, (t, h, w)))
    return refl, valid


@pytest.mark.heavy
@settings(max_examples=150, deadline=None)
@given(stacks())
def test_medoid_matches_reference_on_generated_stacks(stack):
    assert_same_as_reference(*stack)
