"""The product holds, per pixel, the observation the reference algorithms choose."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from shapely.geometry import box

from compositing import l2a
from compositing.archive.read import read_stack
from compositing.archive.scenes import group_acquisitions, search_scenes
from compositing.grid import OutputGrid
from compositing.orders.spec import parse_spec
from compositing.pipeline import run_mosaic
from compositing.products.layers import encode, reflectance_layer
from compositing.selection.composite import stack_bands
from compositing.selection.kernels_reference import medoid_index_reference, stc_index_reference
from compositing.selection.mask import prefer_clear_surroundings, stc_clear_px, valid_mask
from hub.mosaics.services import mosaic_settings
from tests.conftest import TEST_AOI_BBOX as DEMO_AOI_BBOX

pytestmark = pytest.mark.django_db


def test_every_pixel_is_the_reference_choice(hub_dirs, tmp_path):
    spec = parse_spec({"aoi": list(DEMO_AOI_BBOX), "start": "2023-06-01", "period": "month",
                       "resolution": 60, "crs": "EPSG:32629", "bands": ["B04", "B08", "B11"],
                       "aux": ["source_index", "valid_obs", "method"], "name": "ref"})
    settings = mosaic_settings()
    result = run_mosaic(spec, settings, tmp_path, "t1")
    layers = {}
    for name in ("source_index", "valid_obs", "method"):
        with rasterio.open(next(result.folder.glob(f"{name}_*.tif"))) as src:
            layers[name] = src.read(1)
    with rasterio.open(next(result.folder.glob("bands_*.tif"))) as src:
        product = src.read()

    observations = group_acquisitions(search_scenes(
        settings.archives, spec.aoi, spec.start, spec.end))
    grid = OutputGrid.for_aoi(spec.aoi, spec.crs, spec.resolution)
    chunk = next(grid.chunks(100_000))
    halo = stc_clear_px(spec.resolution)  # the STC looks this far for detected clouds
    stack = read_stack(observations, stack_bands(spec.bands), grid, chunk, spec.resolution,
                       halo=halo)
    valid = valid_mask(stack.refl, stack.scl, stack.band_names, oblique=stack.oblique,
                       halo=halo)
    preferred = prefer_clear_surroundings(valid, stack.scl, halo, halo)
    n_valid = valid.sum(0)
    medoid_pos = [stack.band_names.index(b) for b in l2a.MEDOID_BANDS]
    refl = stack.reflectance()  # the references work on reflectance
    medoid = medoid_index_reference(refl[:, medoid_pos], valid)
    stc = stc_index_reference(refl, preferred, stack.band_names, scl=stack.scl_core)
    expected = np.where(n_valid >= l2a.MEDOID_MIN_OBSERVATIONS, medoid, stc)

    inside = grid.aoi_mask(spec.aoi, chunk)
    chosen = np.where(expected >= 0, stack.obs_index[np.clip(expected, 0, None)], -1)
    np.testing.assert_array_equal(layers["source_index"][inside], chosen[inside])
    np.testing.assert_array_equal(layers["valid_obs"][inside], n_valid[inside])
    assert set(np.unique(layers["method"][inside])) <= {0, 1, 2}
    assert ((layers["method"] == 1) == (n_valid >= 4))[inside & (expected >= 0)].all()
    assert (layers["method"] == 1).any(), "the demo month has pixels with >= 4 valid dates"
    for b, band in enumerate(spec.bands):
        values = np.take_along_axis(refl[:, stack.band_names.index(band)],
                                    np.clip(expected, 0, None)[None].astype(np.intp), 0)[0]
        want = encode(values, reflectance_layer(band), ~inside | (expected < 0))
        np.testing.assert_array_equal(product[b], want)


def test_an_aoi_without_scenes_fails_with_a_clear_reason(hub_dirs, tmp_path):
    from compositing.archive.scenes import NoObservationsError

    spec = parse_spec({"aoi": box(10, 10, 10.05, 10.05).bounds, "start": "2023-06-01",
                       "resolution": 20, "crs": "UTM", "bands": ["B04"]})
    with pytest.raises(NoObservationsError, match="no L2A observations"):
        run_mosaic(spec, mosaic_settings(), tmp_path / "out", "t2")
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


@pytest.mark.heavy
def test_the_cloud_buffer_looks_across_chunk_borders(hub_dirs, tmp_path):
    """Small chunks with a halo give exactly the product of one big chunk."""
    from dataclasses import replace

    spec = parse_spec({"aoi": list(DEMO_AOI_BBOX), "start": "2023-06-01", "period": "month",
                       "resolution": 60, "crs": "EPSG:32629", "bands": ["B04"],
                       "aux": ["valid_obs"], "name": "buf", "cloud_buffer": 2})
    layers = {}
    for size in (7, 10_000):
        settings = replace(mosaic_settings(), chunk_size=size)
        result = run_mosaic(spec, settings, tmp_path / str(size), "b")
        for name in ("bands", "valid_obs"):
            with rasterio.open(next(result.folder.glob(f"{name}_*.tif"))) as src:
                layers[size, name] = src.read()
    for name in ("bands", "valid_obs"):
        np.testing.assert_array_equal(layers[7, name], layers[10_000, name])
    unbuffered = run_mosaic(replace(spec, cloud_buffer=0), mosaic_settings(), tmp_path / "u", "u")
    with rasterio.open(next(unbuffered.folder.glob("valid_obs_*.tif"))) as src:
        plain = src.read()
    inside = plain != 255
    assert (layers[7, "valid_obs"][inside] <= plain[inside]).all()
    assert (layers[7, "valid_obs"][inside] < plain[inside]).any()
