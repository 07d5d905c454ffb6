"""A chunk is composed from the pickled plan alone: in another process, in any order."""

from __future__ import annotations

import pickle
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from multiprocessing import get_context

import numpy as np
import pytest
import rasterio

from compositing.archive.blocks import block_grid
from compositing.archive.files import logging_reads
from compositing.grid import ChunkLayout
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


def test_chunks_on_the_block_grid_decode_whole_blocks_and_change_no_value(hub_dirs, tmp_path):
    spec = parse_spec({"aoi": list(DEMO_AOI_BBOX), "start": "2023-06-01", "period": "month",
                       "resolution": 20, "crs": "EPSG:32629", "bands": ["B04", "B08"],
                       "aux": ["source_index", "valid_obs", "method"], "name": "blocks"})
    settings = replace(mosaic_settings(), chunk_size=64)
    plan = plan_mosaic(spec, settings)
    # The demo's COGs have 256 px blocks: 128 px of 20 m in the 10 m bands, 256 in the 20 m
    # bands and SCL, so chunks of 64 come in groups of 4 x 4 and 2 x 2.
    assert plan.layout.groups == (4, 2)
    assert plan.layout.anchor != (0, 0), "the AOI's corner is not on the tiles' block grid"
    central = plan.layout.anchor
    with logging_reads() as log:
        aligned = assemble(plan, ((c, compose_chunk(plan.recipe, c)) for c in plan.chunks()),
                           tmp_path / "aligned")
    plain_plan = replace(plan, layout=ChunkLayout(64))
    plain = assemble(plain_plan, ((c, compose_chunk(plan.recipe, c)) for c in
                                  plain_plan.chunks()), tmp_path / "plain")
    for name in aligned:
        with rasterio.open(aligned[name][0]) as a, rasterio.open(plain[name][0]) as b:
            np.testing.assert_array_equal(a.read(), b.read(), err_msg=name)
    # Every 10 m band window of the tile whose block grid the layout follows (the other tile's
    # is offset) lies in one 256 px block.
    followed = set()
    for scene in (s for o in plan.recipe.observations for s in o.scenes):
        blocks = block_grid(scene.assets["B04"].href, plan.grid)
        if blocks and (blocks.row - central[0]) % 128 == (blocks.col - central[1]) % 128 == 0:
            followed |= {scene.assets["B04"].href, scene.assets["B08"].href}
    windows = [w for href, w in log if href in followed]
    assert windows
    for w in windows:
        assert w.col_off // 256 == (w.col_off + w.width - 1) // 256
        assert w.row_off // 256 == (w.row_off + w.height - 1) // 256
