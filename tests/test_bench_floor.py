"""The read floor of bench/pipeline.py reads what an order reads, so the benchmark cannot
measure nothing: the windows the order read of every asset the selection needs, on the file's
own grid. Not timed here; benchmarks stay off the test path."""

from __future__ import annotations

import importlib.util
import sys
from datetime import date
from pathlib import Path
from types import ModuleType

import pytest
from affine import Affine

from compositing import l2a
from compositing.archive.files import logging_reads
from compositing.archive.read import close_datasets, read_stack
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


def test_the_floor_replays_the_windows_the_order_read(harness, archive):
    observations = _observations(archive)
    assert [len(o.scenes) for o in observations] == [2, 2]
    # 15 x 16 px at 20 m on the 20 m lattice, inside the 600 m overlap strip of the two
    # windows with its 3 px halo, so that no window is clipped: chunks of 8 give 2 x 2 chunks.
    grid = OutputGrid(32629, Affine(20, 0, 604740, 0, -20, 5845300), 15, 16)
    bands = stack_bands(["B04"])
    halo = 3
    with logging_reads() as log:
        for chunk in grid.chunks(8):
            read_stack(observations, bands, grid, chunk, 20, halo=halo)
    close_datasets()
    scenes = [s for o in observations for s in o.scenes]
    scl = {s.assets["SCL"].href for s in scenes}
    native_m = {s.assets[b].href: l2a.BAND_BY_NAME[b].native_m for s in scenes for b in bands}
    floor = harness.read_floor(log, scl | set(native_m))

    replayed = [(href, w) for href, w in log if href in scl or href in native_m]
    # Where granules overlap the order reads their AOT too, to choose between them; the floor
    # counts only what the selection needs.
    assert 0 < len(replayed) < len(log)
    assert floor.reads == len(replayed)
    assert floor.pixels == sum(w.width * w.height for _, w in replayed)
    assert floor.files == len({href for href, _ in replayed})
    assert floor.seconds > 0
    # SCL of every granule for every chunk, grown by the halo: (8+6 + 7+6) columns x (8+6 +
    # 8+6) rows of 20 m pixels per granule.
    scl_windows = [w for href, w in replayed if href in scl]
    granules, chunks = 4, 4
    assert len(scl_windows) == granules * chunks
    assert sum(w.width * w.height for w in scl_windows) == granules * (14 + 13) * (14 + 14)
    # Bands on the chunk alone, at their native pixel size, only from granules that supply
    # pixels of the chunk (the one with the smaller AOT, where both have data).
    band_windows = [(href, w) for href, w in replayed if href in native_m]
    assert band_windows
    for href, w in band_windows:
        k = 20 // native_m[href]
        assert (w.height, w.width) in {(8 * k, 8 * k), (8 * k, 7 * k)}
    assert floor.area_m2 == sum(w.width * w.height * (native_m.get(href, 20)) ** 2
                                for href, w in replayed)
