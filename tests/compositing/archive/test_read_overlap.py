"""An acquisition seen in two overlapping tiles counts once, from the granule with less AOT.

The scenes come straight from the local archive's catalogue (the store the hub's STAC API
serves), so this needs no Django.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from affine import Affine
from rasterio.enums import Resampling
from shapely.geometry import box

from compositing.archive.query import MAX_LIMIT
from compositing.archive.read import read_asset, read_stack
from compositing.archive.scenes import Scene, group_acquisitions, scene_from_item
from compositing.archive.store import LocalArchive
from compositing.demo.archive import DEMO_CENTER_32629, DEMO_END, DEMO_START, acquisitions
from compositing.grid import Chunk, OutputGrid


def overlap_grid() -> tuple[OutputGrid, Chunk]:
    """A 20 m grid of 1 km around the demo centre, inside both tiles' windows."""
    cx, cy = DEMO_CENTER_32629
    transform = Affine(20, 0, cx - 500, 0, -20, cy + 500)
    grid = OutputGrid(32629, transform, 50, 50)
    return grid, next(grid.chunks(50))


def june_scenes(archive: Path) -> list[Scene]:
    """The demo archive's June scenes around its centre, in the STAC API's order."""
    page = LocalArchive(archive).search(
        collections=["sentinel-2-l2a"], intersects=box(-7.6, 52.6, -7.3, 52.9).__geo_interface__,
        datetime="2023-06-01T00:00:00Z/2023-06-30T23:59:59Z", limit=MAX_LIMIT)
    assert page.next_token is None
    return [scene_from_item(item) for item in page.items]


def test_the_overlap_holds_one_observation_per_acquisition_from_the_clearer_granule(
        demo_archive: Path) -> None:
    grid, chunk = overlap_grid()
    observations = group_acquisitions(june_scenes(demo_archive))
    passes = acquisitions(DEMO_START, DEMO_END)  # the generator's June schedule
    assert [len(o.scenes) for o in observations] == [2] * len(passes), "both tiles, every pass"
    stack = read_stack(observations, ("B04",), grid, chunk, 20)
    assert stack.scl.shape[0] == len(observations)  # not doubled
    for t, obs in enumerate(observations):
        aots = [read_asset(s.assets["AOT"], grid, chunk, Resampling.nearest) for s in obs.scenes]
        reds = [read_asset(s.assets["B04"], grid, chunk, Resampling.average) for s in obs.scenes]
        both = np.isfinite(aots[0]) & np.isfinite(aots[1])
        assert both.any() and (aots[0] != aots[1])[both].any(), "the rule has to decide"
        first_wins = aots[0] <= aots[1]
        expected = np.where(first_wins, reds[0], reds[1])
        # The stack keeps DN: the 2x2 mean is rounded to the nearest one.
        np.testing.assert_allclose(stack.reflectance()[t, 0][both], expected[both], rtol=0,
                                   atol=0.51e-4)
