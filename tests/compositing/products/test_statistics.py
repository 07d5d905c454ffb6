"""Band statistics merged strip by strip equal numpy's over the whole band."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from compositing.products import statistics
from compositing.products.layers import (
    AUX_LAYERS,
    CHANGE_LAYERS,
    period_layer,
    reflectance_layer,
)
from compositing.products.statistics import Moments, dataset_statistics

RNG = np.random.default_rng(17)


def write_tif(path: Path, bands: np.ndarray, nodata: float) -> Path:
    count, height, width = bands.shape
    with rasterio.open(path, "w", driver="GTiff", width=width, height=height, count=count,
                       dtype=bands.dtype, nodata=nodata, tiled=True, blockxsize=16,
                       blockysize=16, transform=from_origin(0, 0, 20, 20),
                       crs="EPSG:32629") as dst:
        dst.write(bands)
    return path


def test_moments_merged_in_any_split_are_those_of_the_whole():
    values = RNG.integers(-32767, 32767, 10_000).astype(np.int16)
    merged = Moments()
    for part in np.array_split(values, [1, 2, 500, 501, 7000]):  # some parts of one value
        merged = merged.merge(Moments.of(part))
    assert merged.count == values.size
    assert (merged.minimum, merged.maximum) == (values.min(), values.max())
    assert merged.mean == pytest.approx(values.mean(), rel=1e-12)
    assert np.sqrt(merged.m2 / merged.count) == pytest.approx(values.std(), rel=1e-12)
    assert Moments().merge(Moments.of(values[:0])) == Moments()


def test_statistics_read_in_many_strips_are_numpys(tmp_path, monkeypatch):
    monkeypatch.setattr(statistics, "STRIP_PIXELS", 1)  # one row of blocks per strip
    stored = RNG.integers(0, 10_000, (2, 70, 45)).astype(np.uint16)
    stored[0, :10] = stored[1, 5:9, 3:40] = 65535
    path = write_tif(tmp_path / "bands.tif", stored, 65535)
    layer = reflectance_layer("B04")
    have = dataset_statistics(path, [(2, layer), (1, layer)])
    for got, band in zip(have, (stored[1], stored[0]), strict=True):
        physical = band[band != 65535] * 1e-4
        assert got == pytest.approx({
            "minimum": physical.min(), "maximum": physical.max(), "mean": physical.mean(),
            "stddev": physical.std(), "valid_percent": 100 * physical.size / band.size})


def test_statistics_are_of_physical_values_with_the_layers_offset(tmp_path):
    layer = dataclasses.replace(AUX_LAYERS["sun_zenith"], offset=90.0)  # stored * 0.01 + 90
    stored = np.array([[[-32768, -9000, 0, 3000]]], dtype=np.int16)
    (stats,) = dataset_statistics(write_tif(tmp_path / "z.tif", stored, -32768), [(1, layer)])
    assert stats == pytest.approx({"minimum": 0.0, "maximum": 120.0, "mean": 70.0,
                                   "stddev": np.std([0.0, 90.0, 120.0]), "valid_percent": 75.0})


def test_a_band_without_valid_pixels_has_only_its_valid_percent(tmp_path):
    stored = np.full((1, 8, 8), 255, dtype=np.uint8)
    path = write_tif(tmp_path / "empty.tif", stored, 255)
    assert dataset_statistics(path, [(1, AUX_LAYERS["valid_obs"])]) == [{"valid_percent": 0.0}]


@pytest.mark.parametrize("layer", [AUX_LAYERS["method"], AUX_LAYERS["source_index"],
                                   CHANGE_LAYERS["change_class"],
                                   period_layer(AUX_LAYERS["source_index"], "after")],
                         ids=lambda layer: layer.name)
def test_codes_get_their_range_but_no_mean_or_spread(tmp_path, layer):
    stored = np.array([[[0, 1, 2, 2]]], dtype=layer.dtype)
    path = write_tif(tmp_path / "codes.tif", stored, layer.nodata)
    assert dataset_statistics(path, [(1, layer)]) == [
        {"minimum": 0.0, "maximum": 2.0, "valid_percent": 100.0}]
    counts = AUX_LAYERS["valid_obs"]  # a count: its mean is meaningful
    assert "mean" in dataset_statistics(write_tif(tmp_path / "n.tif", stored.astype(np.uint8),
                                                  255), [(1, counts)])[0]
