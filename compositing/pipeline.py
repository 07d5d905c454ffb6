"""A whole mosaic request: search, then per chunk read, select, write; then publish atomically."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from compositing import l2a
from compositing.archive.read import close_datasets, read_stack
from compositing.archive.scenes import (
    NoObservationsError,
    Observation,
    group_acquisitions,
    resolve_bands,
    search_scenes,
)
from compositing.grid import OutputGrid
from compositing.orders.spec import MosaicSpec
from compositing.products.deliver import (
    RGB,
    Intermediates,
    now,
    product_attributes,
    write_formats,
    write_metadata,
)
from compositing.products.intermediate import GeoTiffWriter
from compositing.products.layers import AUX_LAYERS, Layer, reflectance_layer
from compositing.products.metadata import Contact, ProductInfo, ProductLinks
from compositing.products.naming import (
    ProductFile,
    describe_files,
    folder_name,
)
from compositing.products.tiling import product_parts
from compositing.selection.composite import chunk_layers, select, stack_bands
from compositing.selection.mask import stc_clear_px

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
    contact: Contact = Contact("Mosaic Hub operator", "Mosaic Hub", "mosaics@example.org")


@dataclass(frozen=True)
class MosaicResult:
    """Where the product went and what it holds."""

    folder: Path
    files: list[ProductFile]
    grid: OutputGrid
    observations: int


def run_mosaic(spec: MosaicSpec, settings: MosaicSettings, out_dir: Path, product_id: str,
               progress: Progress | None = None,
               timings: dict[str, float] | None = None,
               links: ProductLinks | None = None) -> MosaicResult:
    """Compose the order into out_dir/<folder>; nothing is left behind if it fails.

    `timings`, if given, receives the seconds spent in search, read, composite, write and
    publish (for benchmarks). `links`: where a server will publish the product, for the URLs
    in its metadata (without them the metadata refers to the files by relative paths).
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
    grid = OutputGrid.for_aoi(spec.aoi, spec.crs, spec.resolution)
    final = out_dir / folder_name(spec, settings.prefix, product_id)
    partial = out_dir / f".partial-{product_id}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        work = partial / ".work"
        work.mkdir()
        intermediates = _compose(spec, settings, grid, observations, work, progress, clock)
        with clock("publish"):
            info = ProductInfo(
                spec=spec, grid=grid, observations=observations, files=[],
                product_id=product_id, folder_name=final.name, created=now(),
                contact=settings.contact, stand_ins=stand_ins, links=links,
                medoid_min_obs=settings.medoid_min_obs, parts=tuple(product_parts(spec, grid)))
            write_formats(spec, grid, intermediates, partial, product_attributes(info),
                          info.parts, [o.acquisition for o in observations])
            shutil.rmtree(work)
            write_metadata(info, partial)
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
             clock: Stopwatch) -> Intermediates:
    """Every chunk into intermediate tiled GeoTIFFs: the ordered bands, one per auxiliary
    layer, and the true-colour bands for the quicklook when they were not ordered."""
    bands = stack_bands(spec.bands)
    days = np.array([(o.datetime.date() - date(1970, 1, 1)).days for o in observations])
    groups: dict[str, list[str]] = {"bands": list(spec.bands)}
    if not set(RGB) <= set(spec.bands):
        groups["rgb"] = list(RGB)
    group_layers: dict[str, list[Layer]] = {
        name: [reflectance_layer(b) for b in members] for name, members in groups.items()}
    for name in spec.aux:
        groups[name] = [name]
        group_layers[name] = [AUX_LAYERS[name]]
    writers = {name: GeoTiffWriter(folder / f"{name}.tif", grid, layers)
               for name, layers in group_layers.items()}
    out_bands = list(dict.fromkeys([*spec.bands, *groups.get("rgb", [])]))
    total = grid.chunk_count(settings.chunk_size)
    try:
        for done, chunk in enumerate(grid.chunks(settings.chunk_size), start=1):
            # The cloud buffer and the STC's distance to clouds look this far beyond the chunk.
            clear_px = stc_clear_px(spec.resolution)
            halo = max(spec.cloud_buffer, clear_px)
            with clock("read"):
                stack = read_stack(observations, bands, grid, chunk.expanded(halo),
                                   spec.resolution, spec.aux)
            with clock("composite"):
                selection = select(stack, settings.medoid_min_obs, spec.cloud_buffer,
                                   clear_px).crop(halo)
                stack = stack.crop(halo)
                layers = chunk_layers(stack, selection, out_bands, spec.aux, days,
                                      grid.aoi_mask(spec.aoi, chunk))
            with clock("write"):
                for name, writer in writers.items():
                    writer.write(chunk, [layers[member] for member in groups[name]])
            progress(done / total)
    finally:
        with clock("write"):
            for writer in writers.values():
                writer.close()
    return {name: (writers[name].path, group_layers[name]) for name in writers}


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
