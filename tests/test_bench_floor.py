"""The read floor of bench/pipeline.py reads what an order reads, so the benchmark cannot
measure nothing: every asset the selection needs, for every chunk plus its halo and every
granule under it, on the file's own grid. Not timed here; benchmarks stay off the test path."""

from __future__ import annotations

import importlib.util
import sys
from datetime import date
from pathlib import Path
from types import ModuleType

import pytest
import rasterio
from affine import Affine
from rasterio.warp import transform_bounds
from rasterio.windows import Window
from shapely.geometry import box

from compositing import l2a
from compositing.archive.scenes import group_acquisitions, scene_from_item
from compositing.archive.store import LocalArchive
from compositing.demo.archive import build_demo_archive
from compositing.grid import OutputGrid
from compositing.selection.composite import stack_bands

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.fixture(scope="module")
def harness() -> ModuleType:
    """bench/pipeline.py as a module (it imports its sibling _demo_hub)."""
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location("bench_pipeline", BENCH / "pipeline.py")
        assert spec is not None and spec.loader is not None
        module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH))
    return module


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two passes (2 and 7 June) of both midlands tiles, 1800 m windows: 4 granules."""
    folder = tmp_path_factory.mktemp("floor")
    build_demo_archive(folder, start=date(2023, 6, 1), end=date(2023, 6, 7), size_m=1800)
    return folder


def _observations(archive: Path) -> list:
    items = LocalArchive(archive).search(limit=100).items
    return group_acquisitions(scene_from_item(item) for item in items)


def test_the_floor_reads_each_needed_window_of_every_chunk_and_granule(harness, archive):
    observations = _observations(archive)
    assert [len(o.scenes) for o in observations] == [2, 2]
    # 15 x 16 px at 20 m on the 20 m lattice, inside the 600 m overlap strip of the two
    # windows with its 3 px halo, so that no window is clipped: chunks of 8 give 2 x 2 chunks.
    grid = OutputGrid(32629, Affine(20, 0, 604740, 0, -20, 5845300), 15, 16)
    bands = stack_bands(["B04"])
    halo = 3
    floor = harness.read_floor(observations, bands, grid, 8, halo)

    granules, chunks = 4, 4
    assert floor.reads == chunks * granules * (len(bands) + 1)
    assert floor.files == granules * (len(bands) + 1)
    # Output pixels with halo, over all chunks: (8+6 + 7+6) columns x (8+6 + 8+6) rows.
    outer = (14 + 13) * (14 + 14)
    native_px = {b: (20 // l2a.BAND_BY_NAME[b].native_m) ** 2 for b in bands}
    assert sorted(native_px.values()) == [1, 1, 1, 1, 4, 4, 4, 4]  # 20 m and 10 m bands
    per_granule_px = outer * (sum(native_px.values()) + 1)  # + SCL at 20 m
    assert floor.pixels == granules * per_granule_px
    assert floor.nbytes == granules * outer * (2 * sum(native_px.values()) + 1)  # uint16, SCL u8
    assert floor.output_px == granules * outer * (len(bands) + 1)  # each window at 20 m
    assert floor.seconds > 0


def test_the_floor_skips_granules_that_miss_a_chunk_and_clips_at_the_file_edge(harness, archive):
    observations = _observations(archive)
    west = next(s for o in observations for s in o.scenes if "_29UNU_" in s.id)
    with rasterio.open(west.assets["SCL"].href) as src:
        left, bottom, right, top = src.bounds
        # A 20 m grid of 4 x 4 px whose east half lies beyond the file's west edge.
        grid = OutputGrid(src.crs.to_epsg(), Affine(20, 0, left - 40, 0, -20, top - 400), 4, 4)
        assert harness.native_window(src, grid.epsg, (left - 40, top - 480, left + 40,
                                                      top - 400)) == Window(0, 20, 2, 4)
        assert harness.native_window(src, grid.epsg, (left - 80, top - 480, left - 20,
                                                      top - 400)) is None
    chunk = box(*transform_bounds(grid.crs, "EPSG:4326", *grid.bounds))
    # Only 29UNU reaches so far west, and on 7 June a swath wedge cuts its west edge off.
    meets = [s.id for o in observations for s in o.scenes if s.footprint.intersects(chunk)]
    assert meets == ["S2A_29UNU_20230602_0_L2A"]
    floor = harness.read_floor(observations, ("B11",), grid, 4, 0)
    # B11 and SCL of that granule, over their first 2 columns.
    assert (floor.reads, floor.files) == (2, 2)
    assert floor.pixels == 2 * (2 * 4)
