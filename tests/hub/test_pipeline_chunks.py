"""A chunk is composed from the pickled plan alone: in another process, in any order."""

from __future__ import annotations

import pickle
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from multiprocessing import get_context

import numpy as np
import pytest
import rasterio

from compositing.orders.spec import parse_spec
from compositing.pipeline import assemble, compose_chunk, plan_mosaic, run_mosaic
from hub.mosaics.services import mosaic_settings
from tests.conftest import TEST_AOI_BBOX as DEMO_AOI_BBOX

pytestmark = pytest.mark.django_db


def test_chunks_composed_in_other_processes_assemble_into_the_product(hub_dirs, tmp_path):
    spec = parse_spec({"aoi": list(DEMO_AOI_BBOX), "start": "2023-06-01", "period": "month",
                       "resolution": 60, "crs": "EPSG:32629", "bands": ["B04", "B08"],
                       "aux": ["source_index", "valid_obs", "method", "view_zenith_mean"],
                       "cloud_buffer": 1, "name": "fan"})
    settings = replace(mosaic_settings(), chunk_size=12)
    product = run_mosaic(spec, settings, tmp_path / "one", "one")

    plan = pickle.loads(pickle.dumps(plan_mosaic(spec, settings)))
    chunks = list(plan.chunks())
    assert len(chunks) >= 9, "chunks with borders inside the AOI, where the halo matters"
    # A fresh interpreter holds nothing of this one: no archive, settings or caches.
    with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as pool:
        layers = list(pool.map(compose_chunk, [plan.recipe] * len(chunks), chunks))
    intermediates = assemble(plan, reversed(list(zip(chunks, layers, strict=True))),
                             tmp_path / "work")

    for name in ("bands", *spec.aux):
        with rasterio.open(intermediates[name][0]) as src:
            assembled = src.read()
        with rasterio.open(next(product.folder.glob(f"{name}_*.tif"))) as src:
            delivered = src.read()
        np.testing.assert_array_equal(assembled, delivered, err_msg=name)
    with rasterio.open(intermediates["valid_obs"][0]) as src:
        assert (src.read(1) > 0).any() and (src.read(1) != 255).any()
