"""The reader's too-oblique mask: where a granule's view zenith reaches the limit, its
pixels are marked; where no granule's does, the stack carries no mask at all."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
from affine import Affine

from compositing.archive.angles import MAX_VIEW_ZENITH_DEG
from compositing.archive.read import close_datasets, read_stack
from compositing.archive.scenes import group_acquisitions, scene_from_item
from compositing.archive.store import LocalArchive
from compositing.demo.archive import build_demo_archive
from compositing.grid import OutputGrid
from compositing.selection.composite import stack_bands
from compositing.selection.mask import valid_mask


def test_a_granule_seen_too_obliquely_is_masked_and_others_carry_no_mask(tmp_path):
    # Two passes (2 and 7 June) of both midlands tiles, 1800 m windows.
    build_demo_archive(tmp_path, start=date(2023, 6, 1), end=date(2023, 6, 7), size_m=1800)
    items = LocalArchive(tmp_path).search(limit=100).items
    observations = group_acquisitions(scene_from_item(item) for item in items)
    # The overlap strip of the two windows at 20 m, as in tests/test_bench_floor.py.
    grid = OutputGrid(32629, Affine(20, 0, 604740, 0, -20, 5845300), 15, 16)
    chunk = next(grid.chunks(64))
    bands = stack_bands(["B04"])

    plain = read_stack(observations, bands, grid, chunk, 20, halo=1)
    assert plain.oblique is None, "the demo centre is far from the swath edges"

    # The first acquisition's granules now say their view zenith is beyond the limit.
    for scene in observations[0].scenes:
        path = scene.assets["ANGLES"].href
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        doc["view_zenith_mean"] = [[None if v is None else MAX_VIEW_ZENITH_DEG + 1 for v in row]
                                   for row in doc["view_zenith_mean"]]
        with open(path, "w", encoding="utf-8") as f:
            json.dump(doc, f)
    from compositing.archive import angles
    angles.angle_grids.cache_clear()
    angles.load_angles.cache_clear()
    close_datasets()

    stack = read_stack(observations, bands, grid, chunk, 20, halo=1)
    assert stack.oblique is not None
    first, second = (list(stack.obs_index).index(i) for i in (0, 1))
    has_data = stack.scl_core > 0
    assert (stack.oblique[first] == has_data[first]).all() and has_data[first].any()
    assert not stack.oblique[second].any()
    valid = valid_mask(stack.refl, stack.scl, stack.band_names, oblique=stack.oblique, halo=1)
    assert not valid[first].any() and valid[second].any()
    np.testing.assert_array_equal(stack.refl, plain.refl)
