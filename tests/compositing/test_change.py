"""Change Vector Analysis between two mosaics, on synthetic scenes whose change is known."""

from __future__ import annotations

import numpy as np
import pytest

from compositing.change import (
    change_mask,
    change_vectors,
    chi2_quantile,
    chi2_sf,
    classify,
    normalise,
)


@pytest.mark.parametrize(("confidence", "df", "quantile"), [
    # Tabulated chi-squared quantiles.
    (0.95, 1, 3.841459), (0.95, 2, 5.991465), (0.99, 3, 11.344867), (0.9999, 4, 23.512742),
    (0.999, 5, 20.515006), (0.95, 10, 18.307038),
])
def test_chi_squared_quantiles_are_the_tabulated_ones(confidence, df, quantile):
    assert chi2_quantile(confidence, df) == pytest.approx(quantile, rel=1e-6)
    assert float(chi2_sf(quantile, df)) == pytest.approx(1 - confidence, rel=1e-5)


def scenes(seed: int = 7):
    """Four bands of 200 x 200 pixels; the second acquisition has another gain and offset per
    band, noise, a clearing (red and SWIR up, NIR down) and a field flooded into a lake."""
    rng = np.random.default_rng(seed)
    before = rng.uniform(0.02, 0.4, (4, 200, 200))
    gain, offset = np.array([1.1, 0.95, 1.05, 0.9]), np.array([0.01, -0.005, 0.0, 0.02])
    after = offset[:, None, None] + gain[:, None, None] * before
    after += rng.normal(0, 0.003, after.shape)
    truth = np.zeros((200, 200), np.uint8)
    truth[20:60, 20:60] = 1  # clearing
    after[:, 20:60, 20:60] += np.array([0.08, 0.1, -0.15, 0.12])[:, None, None]
    truth[120:170, 100:160] = 2  # a field flooded into a lake
    field = np.array([0.05, 0.08, 0.06, 0.3])[:, None, None] + rng.normal(0, 0.01, (4, 50, 60))
    before[:, 120:170, 100:160] = field
    water = np.array([0.03, 0.04, 0.02, 0.01])[:, None, None] + rng.normal(0, 0.003, (4, 50, 60))
    after[:, 120:170, 100:160] = offset[:, None, None] + gain[:, None, None] * water
    before[:, 0:5, :] = np.nan  # a strip without data in the first mosaic
    return before, after, gain, offset, truth


def test_normalisation_recovers_each_bands_gain_and_offset_despite_the_changes():
    before, after, gain, offset, truth = scenes()
    fit = normalise(before, after)
    np.testing.assert_allclose(fit.gain, gain, rtol=0.01)
    np.testing.assert_allclose(fit.offset, offset, atol=0.002)
    # The changed pixels carry (almost) no weight; the unchanged ones most of it.
    assert np.nanmean(fit.weights[truth > 0]) < 0.01
    assert np.nanmean(fit.weights[truth == 0]) > 0.3
    assert np.isnan(fit.weights[0:5]).all()


def test_the_change_mask_finds_the_changes_and_little_else():
    before, after, _, _, truth = scenes()
    fit = normalise(before, after)
    diff, magnitude, angle = change_vectors(before, fit.apply(after))
    mask = change_mask(diff, fit.weights)
    have = np.isfinite(magnitude)
    changed, unchanged = (truth > 0) & have, (truth == 0) & have
    assert mask[changed].mean() >= 0.9  # recall
    assert mask[unchanged].mean() <= 0.01  # false changes
    assert not mask[~have].any()


def test_magnitude_and_angle_of_a_known_vector():
    before = np.zeros((2, 1, 2))
    after = np.array([[[1.0, 0.0]], [[1.0, -2.0]]])
    _, magnitude, angle = change_vectors(before, after)
    np.testing.assert_allclose(magnitude, [[np.sqrt(2), 2.0]])
    np.testing.assert_allclose(angle, [[45.0, 90.0]])
    _, _, to_second = change_vectors(before, after, reference=[0.0, 1.0])
    np.testing.assert_allclose(to_second, [[45.0, 180.0]])


def test_classes_tell_the_clearing_from_the_lake():
    before, after, _, _, truth = scenes()
    fit = normalise(before, after)
    diff, magnitude, angle = change_vectors(before, fit.apply(after))
    mask = change_mask(diff, fit.weights)
    classes = classify(magnitude, angle, mask, k=2)
    assert classes.dtype == np.uint8 and set(np.unique(classes)) == {0, 1, 2}
    assert (classes[~mask] == 0).all()
    clearing = np.bincount(classes[(truth == 1) & mask], minlength=3)[1:]
    lake = np.bincount(classes[(truth == 2) & mask], minlength=3)[1:]
    # Each change is (nearly) one class, and not the other's.
    assert clearing.max() / clearing.sum() > 0.95 and lake.max() / lake.sum() > 0.95
    assert clearing.argmax() != lake.argmax()
    # Deterministic.
    np.testing.assert_array_equal(classes, classify(magnitude, angle, mask, k=2))


def test_lattice_sample_is_the_densest_lattice_within_the_limit_whatever_the_chunk_order():
    from affine import Affine

    from compositing.change_pieces import LatticeSample
    from compositing.grid import Chunk

    rng = np.random.default_rng(3)
    where = rng.random((100, 120)) < 0.3
    values = rng.random((2, 100, 120))
    chunks = [Chunk(r, c, 25, 40, Affine.identity()) for r in range(0, 100, 25)
              for c in range(0, 120, 40)]
    samples = []
    for order in (chunks, chunks[::-1], [chunks[i] for i in rng.permutation(len(chunks))]):
        sample = LatticeSample(limit=200)
        for ch in order:
            window = (slice(ch.row_off, ch.row_off + ch.height),
                      slice(ch.col_off, ch.col_off + ch.width))
            sample.add(ch, where[window], values[(slice(None), *window)])
        samples.append((sample.step, sample.values()))
    step = samples[0][0]
    lattice = np.zeros_like(where)
    lattice[::step, ::step] = True
    assert (where & lattice).sum() <= 200
    half = np.zeros_like(where)
    half[::step // 2, ::step // 2] = True
    assert (where & half).sum() > 200  # the next denser lattice would hold too many
    expected = values[:, where & lattice]
    for got_step, got in samples:
        assert got_step == step
        np.testing.assert_array_equal(got, expected)
