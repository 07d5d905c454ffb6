"""An acquisition seen in two overlapping tiles counts once, from the granule with less AOT."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from affine import Affine
from rasterio.enums import Resampling
from shapely.geometry import box

from compositing.archive.read import read_asset, read_stack
from compositing.archive.scenes import group_acquisitions, search_scenes
from compositing.demo.archive import DEMO_CENTER_32629
from compositing.grid import Chunk, OutputGrid
from hub.mosaics.services import mosaic_settings

pytestmark = pytest.mark.django_db


def overlap_grid() -> tuple[OutputGrid, Chunk]:
    """A 20 m grid of 1 km around the demo centre, inside both tiles' windows."""
    cx, cy = DEMO_CENTER_32629
    transform = Affine(20, 0, cx - 500, 0, -20, cy + 500)
    grid = OutputGrid(32629, transform, 50, 50)
    return grid, next(grid.chunks(50))


def test_the_overlap_holds_one_observation_per_acquisition_from_the_clearer_granule(hub_dirs):
    settings = mosaic_settings()
    grid, chunk = overlap_grid()
    scenes = search_scenes(settings.stac_url, settings.collection, box(-7.6, 52.6, -7.3, 52.9),
                           date(2023, 6, 1), date(2023, 6, 30))
    observations = group_acquisitions(scenes)
    assert all(len(o.scenes) == 2 for o in observations), "both tiles see every pass"
    stack = read_stack(observations, ("B04",), grid, chunk, 20)
    assert stack.scl.shape[0] == len(observations)  # not doubled
    for t, obs in enumerate(observations):
        aots = [read_asset(s.assets["AOT"], grid, chunk, Resampling.nearest) for s in obs.scenes]
        reds = [read_asset(s.assets["B04"], grid, chunk, Resampling.average) for s in obs.scenes]
        both = np.isfinite(aots[0]) & np.isfinite(aots[1])
        assert both.any() and (aots[0] != aots[1])[both].any(), "the rule has to decide"
        first_wins = aots[0] <= aots[1]
        expected = np.where(first_wins, reds[0], reds[1])
        np.testing.assert_array_equal(stack.refl[t, 0][both], expected[both])
