"""A whole mosaic request: search, then per chunk read, select, write; then publish atomically."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

from compositing import l2a
from compositing.archive import (
    NoObservationsError,
    Observation,
    group_acquisitions,
    resolve_bands,
    search_scenes,
)
from compositing.composite import chunk_layers, select, stack_bands
from compositing.grid import OutputGrid
from compositing.layers import AUX_LAYER_STORAGE, reflectance_layer
from compositing.order import MosaicSpec
from compositing.products import (
    PROCESSING_VERSION,
    ProductFile,
    describe_files,
    folder_name,
    layer_file_name,
    write_json,
)
from compositing.read import close_datasets, read_stack
from compositing.writers import GeoTiffWriter

log = logging.getLogger(__name__)

Progress = Callable[[float], None]


@dataclass(frozen=True)
class MosaicSettings:
    """Operator settings a run needs (the hub passes its Django settings in)."""

    stac_url: str
    collection: str = "sentinel-2-l2a"
    chunk_size: int = 512
    medoid_min_obs: int = l2a.MEDOID_MIN_OBSERVATIONS
    prefix: str = "S2GM"


@dataclass(frozen=True)
class MosaicResult:
    """Where the product went and what it holds."""

    folder: Path
    files: list[ProductFile]
    grid: OutputGrid
    observations: int


def run_mosaic(spec: MosaicSpec, settings: MosaicSettings, out_dir: Path, product_id: str,
               progress: Progress | None = None,
               timings: dict[str, float] | None = None) -> MosaicResult:
    """Compose the order into out_dir/<folder>; nothing is left behind if it fails.

    `timings`, if given, receives the seconds spent in search, read, composite, write and
    publish (for benchmarks).
    """
    progress = progress or (lambda fraction: None)
    clock = Stopwatch(timings if timings is not None else {})
    with clock("search"):
        scenes = search_scenes(settings.stac_url, settings.collection, spec.aoi, spec.start,
                               spec.end)
    if not scenes:
        raise NoObservationsError(
            f"no L2A observations over the AOI from {spec.start} to {spec.end} "
            f"in collection {settings.collection}")
    scenes, stand_ins = resolve_bands(scenes, stack_bands(spec.bands), spec.bands)
    observations = group_acquisitions(scenes)
    grid = OutputGrid.for_aoi(spec.aoi, spec.epsg, spec.resolution)
    final = out_dir / folder_name(spec, settings.prefix, product_id)
    partial = out_dir / f".partial-{product_id}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        _compose(spec, settings, grid, observations, partial, progress, clock)
        with clock("publish"):
            write_json(partial / "metadata.json",
                       product_metadata(spec, grid, observations, stand_ins))
            files = describe_files(partial)
        shutil.rmtree(final, ignore_errors=True)
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    finally:
        close_datasets()
    return MosaicResult(final, files, grid, len(observations))


def _compose(spec: MosaicSpec, settings: MosaicSettings, grid: OutputGrid,
             observations: list[Observation], folder: Path, progress: Progress,
             clock: Stopwatch) -> None:
    bands = stack_bands(spec.bands)
    days = np.array([(o.datetime.date() - date(1970, 1, 1)).days for o in observations])
    writers = {"bands": GeoTiffWriter(folder / layer_file_name(spec, "bands"), grid,
                                      [reflectance_layer(b) for b in spec.bands])}
    for name in spec.aux:
        writers[name] = GeoTiffWriter(folder / layer_file_name(spec, name), grid,
                                      [AUX_LAYER_STORAGE[name]])
    total = grid.chunk_count(settings.chunk_size)
    try:
        for done, chunk in enumerate(grid.chunks(settings.chunk_size), start=1):
            halo = spec.cloud_buffer  # the buffer looks this far beyond the chunk
            with clock("read"):
                stack = read_stack(observations, bands, grid, chunk.expanded(halo),
                                   spec.resolution)
            with clock("composite"):
                selection = select(stack, settings.medoid_min_obs, halo).crop(halo)
                stack = stack.crop(halo)
                layers = chunk_layers(stack, selection, spec.bands, spec.aux, days,
                                      grid.aoi_mask(spec.aoi, chunk))
            with clock("write"):
                writers["bands"].write(chunk, [layers[b] for b in spec.bands])
                for name in spec.aux:
                    writers[name].write(chunk, [layers[name]])
            progress(done / total)
    finally:
        with clock("write"):
            for writer in writers.values():
                writer.close()


class Stopwatch:
    """Adds the seconds spent in named phases into a dict: `with clock("read"): ...`."""

    def __init__(self, totals: dict[str, float]) -> None:
        self.totals = totals

    @contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.totals[phase] = self.totals.get(phase, 0.0) + time.perf_counter() - start


def product_metadata(spec: MosaicSpec, grid: OutputGrid, observations: list[Observation],
                     stand_ins: dict[str, str] | None = None) -> dict:
    """The product's JSON metadata: order, grid, layers and the source list."""
    return {
        "title": f"Sentinel-2 L2A {spec.period_type} mosaic {spec.name}",
        "processing_version": PROCESSING_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "attribution": f"Contains modified Copernicus Sentinel data {spec.end.year}",
        "order": spec.to_options(),
        "mosaicking_period": {"start": spec.start.isoformat(), "end": spec.end.isoformat()},
        "grid": {"crs": f"EPSG:{grid.epsg}", "transform": list(grid.transform)[:6],
                 "width": grid.width, "height": grid.height, "bounds": list(grid.bounds)},
        "algorithm": {"medoid_bands": list(l2a.MEDOID_BANDS),
                      "valid_scl_classes": sorted(l2a.SCL_VALID_CLASSES),
                      "selection_stand_ins": stand_ins or {}},
        "bands": {b: {"scale": reflectance_layer(b).scale, "nodata": reflectance_layer(b).nodata}
                  for b in spec.bands},
        "Source_product_list": {
            str(i): {"acquisition": o.acquisition, "datetime": o.datetime.isoformat(),
                     "scenes": [s.id for s in o.scenes]}
            for i, o in enumerate(observations)
        },
    }
