"""A whole mosaic request as steps with plain inputs and outputs, which any process sharing
the product storage can run:

    plan_mosaic(spec, settings) -> Plan            search, bands, acquisitions, grid, chunks
    compose_pieces(plan, indices, work)            some chunks: read with a halo, select, crop,
                                                   gather, stored as pieces (`pieces`)
    deliver_product(plan, settings, work, ...)     pieces into intermediates (`assemble`), then
                                                   formats, quicklook, metadata, checksums
    publish(staging, final)                        the product folder in place in one rename

`run_mosaic` runs them in order in one process; the hub's Celery tasks run the same steps,
one task per chunk (hub.mosaics.fanout). `compose_chunk` takes only picklable values and
changes no shared state (it may leave rasterio datasets open on the file threads,
`read.close_datasets`), so chunks can be composed anywhere and in any order; the time-series
tool composes its periods with it too.

Within one process the next chunk is read while the kernels select on the current one
(`_compose_all`): at most two chunk stacks are alive, the one read and the one composited.
"""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path

import numpy as np
from shapely.geometry.base import BaseGeometry

from compositing import l2a
from compositing.archive.archives import Archive
from compositing.archive.blocks import chunk_layout
from compositing.archive.network import is_remote
from compositing.archive.read import AOT_LAYERS, Stack, close_datasets, read_stack
from compositing.archive.scenes import (
    NoObservationsError,
    Observation,
    Scene,
    group_acquisitions,
    resolve_bands,
    search_scenes,
)
from compositing.change_pieces import ChangeModel, fit_change, with_change
from compositing.grid import Chunk, ChunkLayout, OutputGrid
from compositing.memory import release_free_memory
from compositing.orders.effort import granules_per_pixel, order_work
from compositing.orders.spec import MosaicSpec
from compositing.pieces import ChunkLayers, WorkFolder
from compositing.products.deliver import Intermediates, deliver, now
from compositing.products.groups import RGB, delivered_groups, quicklook_groups
from compositing.products.indices import index_inputs
from compositing.products.intermediate import GeoTiffWriter
from compositing.products.layers import (
    ANGLE_LAYERS,
    AUX_LAYERS,
    CHANGE_PERIOD_LAYERS,
    CONFIDENCE_LAYERS,
    PERIODS,
    Layer,
)
from compositing.products.metadata import Contact, ProductInfo, ProductLinks
from compositing.products.naming import FileRecord, folder_name
from compositing.products.tiling import product_parts
from compositing.selection.composite import chunk_layers, select, stack_bands
from compositing.selection.mask import stc_clear_px

log = logging.getLogger(__name__)

Progress = Callable[[float], None]
_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class MosaicSettings:
    """Operator settings a run needs (the hub passes its Django settings in)."""

    archives: tuple[Archive, ...]  # searched in priority order (`archives.load_archives`)
    chunk_size: int = 512
    medoid_min_obs: int = l2a.MEDOID_MIN_OBSERVATIONS
    prefix: str = "S2GM"
    contact: Contact = Contact("Mosaic Hub operator", "Mosaic Hub", "mosaics@example.org")


@dataclass(frozen=True)
class MosaicResult:
    """Where the product went and what it holds."""

    folder: Path
    files: list[FileRecord]
    grid: OutputGrid
    observations: int
    chunks: int


def chunk_halo(resolution: int, cloud_buffer: int) -> int:
    """Pixels read beyond a chunk: the cloud buffer and the STC's distance to clouds look that
    far, so a chunk's values do not depend on where the chunk borders lie."""
    return max(cloud_buffer, stc_clear_px(resolution))


@dataclass(frozen=True)
class Recipe:
    """What every chunk of one product is composed from (plain, picklable values)."""

    grid: OutputGrid
    observations: tuple[Observation, ...]
    bands: tuple[str, ...]  # reflectance layers to gather (ordered bands, then quicklook ones)
    aux: tuple[str, ...]
    resolution: int
    cloud_buffer: int
    medoid_min_obs: int
    # Lon/lat; pixels whose centre lies outside are nodata. None: every pixel of the grid.
    aoi: BaseGeometry | None = None

    @property
    def halo(self) -> int:
        return chunk_halo(self.resolution, self.cloud_buffer)

    @property
    def read_bands(self) -> tuple[str, ...]:
        """Bands read from the archive: the gathered ones and those the selection needs."""
        return stack_bands((*self.bands, *index_inputs(self.aux)))

    @property
    def read_layers(self) -> tuple[str, ...]:
        """Auxiliary layers read per observation (the others derive from the selection)."""
        return tuple(a for a in self.aux
                     if a in CONFIDENCE_LAYERS or a in ANGLE_LAYERS or a in AOT_LAYERS)


def read_chunk(recipe: Recipe, chunk: Chunk) -> Stack:
    """The observations of the chunk, their classification with the recipe's halo."""
    return read_stack(recipe.observations, recipe.read_bands, recipe.grid, chunk,
                      recipe.resolution, recipe.read_layers, recipe.halo)


def composite_chunk(recipe: Recipe, chunk: Chunk, stack: Stack) -> ChunkLayers:
    """Select per pixel on the `read_chunk` stack and gather every layer."""
    selection = select(stack, recipe.medoid_min_obs, recipe.cloud_buffer,
                       stc_clear_px(recipe.resolution))
    days = np.array([(o.datetime.date() - _EPOCH).days for o in recipe.observations],
                    dtype=np.int64)
    inside = (recipe.grid.aoi_mask(recipe.aoi, chunk) if recipe.aoi is not None
              else np.ones(chunk.shape, bool))
    return chunk_layers(stack, selection, recipe.bands, recipe.aux, days, inside)


def compose_chunk(recipe: Recipe, chunk: Chunk,
                  timings: dict[str, float] | None = None) -> ChunkLayers:
    """The stored arrays of every layer of one chunk: `read_chunk`, then `composite_chunk`.

    `timings`, if given, receives the seconds spent reading and compositing.
    """
    clock = Stopwatch(timings if timings is not None else {})
    with clock("read"):
        stack = read_chunk(recipe, chunk)
    with clock("composite"):
        return composite_chunk(recipe, chunk, stack)


# Chunks read ahead of the one being composed. On disk one: the reads keep the cores busy
# already, and each stack read ahead is memory (issue 12). From a remote archive two: a chunk's
# reads are two round trips in a row (classification, then bands), and with one chunk ahead
# the order waited for them on every chunk (bench/remote.py, 100 ms latency, 10.24 km: 2.0x
# the disk read with one ahead, 1.6x with two; three gave no more).
REMOTE_READ_AHEAD = 2
# Chunks one task of a fanned-out order composes from a remote archive: with one, every task
# waited for its chunk's round trips alone. One process composing its tasks in turn, 25
# chunks of 256 px at 100 ms latency: one a task 4.0 s, two 3.55 s, three 3.55 s, five 3.2 s,
# all in one 2.9 s (disk 1.45 s). Two keeps what a small order of another user may wait
# behind a big one to a chunk or two (issue 13).
REMOTE_CHUNK_GROUP = 2


@dataclass(frozen=True)
class Plan:
    """A product before any pixel is read: its order, recipe, chunks and intermediates."""

    spec: MosaicSpec
    recipe: Recipe
    layout: ChunkLayout
    stand_ins: dict[str, str] = field(default_factory=dict)
    # A change order's second mosaic, on the first one's grid and chunks.
    compare: Recipe | None = None

    @property
    def parts(self) -> tuple[tuple[str, Recipe], ...]:
        """(layer name prefix, recipe) of each mosaic a chunk is composed for: one for a
        mosaic, 'before_' and 'after_' (`layers.PERIODS`) for a change order."""
        if self.compare is None:
            return (("", self.recipe),)
        return ((f"{PERIODS[0]}_", self.recipe), (f"{PERIODS[1]}_", self.compare))

    @property
    def observations(self) -> tuple[Observation, ...]:
        """Every mosaic's observations, in order: the product's one source list, which the
        `source_index` layers of all its mosaics index."""
        return tuple(o for _, recipe in self.parts for o in recipe.observations)

    @property
    def grid(self) -> OutputGrid:
        return self.recipe.grid

    def chunks(self) -> Iterator[Chunk]:
        """The chunks to compose, in the layout's order."""
        return self.layout.chunks(self.grid)

    @cached_property
    def chunk_list(self) -> list[Chunk]:
        """The chunks in the layout's order: a chunk's index here names its piece."""
        return list(self.chunks())

    @property
    def chunk_count(self) -> int:
        return self.layout.count(self.grid)

    @property
    def work(self) -> float:
        """The order's work in million pixel-observations (`compositing.orders.effort`)."""
        return sum(order_work(self.grid.width * self.grid.height, granules_per_pixel(
            self.spec.aoi, [s.footprint for o in recipe.observations for s in o.scenes]))
            for _, recipe in self.parts)

    @cached_property
    def read_ahead(self) -> int:
        """Chunks read ahead of the one being composed (`REMOTE_READ_AHEAD`)."""
        remote = any(is_remote(scene.assets["SCL"].href) for obs in self.observations
                     for scene in obs.scenes if "SCL" in scene.assets)
        return REMOTE_READ_AHEAD if remote else 1

    @property
    def chunk_group(self) -> int:
        """Consecutive chunks that one task of a fanned-out order composes (`hub.mosaics.
        fanout`, `REMOTE_CHUNK_GROUP`)."""
        return 1 if self.read_ahead == 1 else REMOTE_CHUNK_GROUP

    @property
    def intermediates(self) -> dict[str, tuple[Layer, ...]]:
        """Intermediate GeoTIFFs and their layers: the delivered groups
        (`groups.delivered_groups`) and the true-colour bands of each mosaic for its quicklook
        when they were not ordered (`groups.quicklook_groups`)."""
        return {**delivered_groups(self.spec), **quicklook_groups(self.spec)}


def plan_mosaic(spec: MosaicSpec, settings: MosaicSettings) -> Plan:
    """Search the archive and fix everything the chunks are composed from.

    Raises NoObservationsError when no scene covers the AOI and period.
    """
    scenes = search_scenes(settings.archives, spec.aoi, spec.start, spec.end)
    if not scenes:
        raise NoObservationsError(
            f"no L2A observations over the AOI from {spec.start} to {spec.end} "
            f"in {'archive' if len(settings.archives) == 1 else 'archives'} "
            f"{', '.join(a.name for a in settings.archives)}")
    scenes, stand_ins = resolve_bands(scenes, stack_bands((*spec.bands, *index_inputs(spec.aux))),
                                      spec.bands)
    bands = tuple(dict.fromkeys([*spec.bands, *RGB]))
    grid = OutputGrid.for_aoi(spec.aoi, spec.crs, spec.resolution)
    aux = CHANGE_PERIOD_LAYERS if spec.is_change else spec.aux

    def recipe_of(found: list[Scene]) -> Recipe:
        return Recipe(grid, tuple(group_acquisitions(found)), bands, aux, spec.resolution,
                      spec.cloud_buffer, settings.medoid_min_obs, spec.aoi)

    recipe, compare, everything = recipe_of(scenes), None, scenes
    if spec.compare_start is not None and spec.compare_end is not None:
        later = search_scenes(settings.archives, spec.aoi, spec.compare_start, spec.compare_end)
        if not later:
            raise NoObservationsError(
                f"no L2A observations over the AOI in the second period, "
                f"{spec.compare_start} to {spec.compare_end}")
        later, later_stand_ins = resolve_bands(later, stack_bands(spec.bands), spec.bands)
        stand_ins = {**later_stand_ins, **stand_ins}
        compare = recipe_of(later)
        everything = [*scenes, *later]  # one chunk layout: whole input blocks of either
    layout = chunk_layout(grid, everything, (*recipe.read_bands, "SCL"), settings.chunk_size)
    return Plan(spec, recipe, layout, stand_ins, compare)


def assemble(plan: Plan, composed: Iterable[tuple[Chunk, ChunkLayers]], folder: Path,
             timings: dict[str, float] | None = None) -> Intermediates:
    """The composed chunks, as they come, into the plan's intermediate GeoTIFFs in folder."""
    clock = Stopwatch(timings if timings is not None else {})
    groups = plan.intermediates
    folder.mkdir()
    writers = {name: GeoTiffWriter(folder / f"{name}.tif", plan.grid, layers)
               for name, layers in groups.items()}
    try:
        for chunk, layers in composed:
            with clock("write"):
                for name, writer in writers.items():
                    writer.write(chunk, [layers[layer.name] for layer in groups[name]])
    finally:
        with clock("write"), ThreadPoolExecutor(len(writers) or 1,
                                                 thread_name_prefix="overviews") as closing:
            # Each file's overviews are built by GDAL without Python's lock: all at once.
            for done in [closing.submit(writer.close) for writer in writers.values()]:
                done.result()
    return {name: (writers[name].path, groups[name]) for name in writers}


def product_info(plan: Plan, settings: MosaicSettings, product_id: str, folder: Path,
                 links: ProductLinks | None = None,
                 change: ChangeModel | None = None) -> ProductInfo:
    """What the metadata of the product is built from, but its files."""
    return ProductInfo(
        spec=plan.spec, grid=plan.grid, observations=list(plan.observations), files=[],
        product_id=product_id, folder_name=folder.name, created=now(),
        contact=settings.contact, stand_ins=plan.stand_ins, links=links,
        medoid_min_obs=settings.medoid_min_obs, parts=tuple(product_parts(plan.spec, plan.grid)),
        change=change.describe() if change is not None else None)


def run_mosaic(spec: MosaicSpec, settings: MosaicSettings, out_dir: Path, product_id: str,
               progress: Progress | None = None,
               timings: dict[str, float] | None = None,
               links: ProductLinks | None = None) -> MosaicResult:
    """Compose the order into out_dir/<folder> in this process; nothing is left behind if it
    fails. The same steps as the hub's chunk tasks (`plan_mosaic`, `compose_pieces`,
    `deliver_product`, `publish`), in one process.

    `timings`, if given, receives the seconds spent in search (the whole plan), read,
    composite, write and publish (for benchmarks). `links`: where a server will publish the
    product, for the URLs in its metadata (without them the metadata refers to the files by
    relative paths).
    """
    clock = Stopwatch(timings if timings is not None else {})
    with clock("search"):
        plan = plan_mosaic(spec, settings)
    work = WorkFolder(out_dir / partial_name(product_id))
    shutil.rmtree(work.root, ignore_errors=True)
    work.create()
    try:
        compose_pieces(plan, range(plan.chunk_count), work, progress, clock.totals)
        staging, files = deliver_product(plan, settings, work, product_id,
                                         folder_name(spec, settings.prefix, product_id), links,
                                         clock.totals)
        final = out_dir / staging.name
        publish(staging, final)
    finally:
        shutil.rmtree(work.root, ignore_errors=True)
        close_datasets()
        release_free_memory()
    return MosaicResult(final, files, plan.grid, len(plan.observations),
                        plan.chunk_count)


def partial_name(product_id: str) -> str:
    """The work folder of a product being composed, beside the published products (hidden:
    listings and the file server skip it)."""
    return f"{PARTIAL_PREFIX}{product_id}"


PARTIAL_PREFIX = ".partial-"


def compose_pieces(plan: Plan, indices: Iterable[int], work: WorkFolder,
                   progress: Progress | None = None,
                   timings: dict[str, float] | None = None) -> int:
    """Compose the plan's chunks `indices` that have no piece in `work` yet and store their
    pieces, the next chunk read while this one composes; the number composed. `progress`
    receives the fraction of `indices` done after each chunk."""
    wanted = list(indices)
    todo = [i for i in wanted if not work.has_piece(i)]
    chunks = plan.chunk_list
    report = progress or (lambda fraction: None)
    clock = Stopwatch(timings if timings is not None else {})
    skipped = len(wanted) - len(todo)
    for done, (index, layers) in enumerate(
            _compose_all(plan, [(i, chunks[i]) for i in todo], clock.totals), start=1):
        with clock("write"):
            work.write_piece(index, layers)
        del layers
        report((skipped + done) / max(1, len(wanted)))
    return len(todo)


def deliver_product(plan: Plan, settings: MosaicSettings, work: WorkFolder, product_id: str,
                    name: str, links: ProductLinks | None = None,
                    timings: dict[str, float] | None = None,
                    progress: Progress | None = None) -> tuple[Path, list[FileRecord]]:
    """Assemble the pieces of every chunk into the delivered files and metadata of the
    product, in a new folder `name` inside the work folder (ready for `publish`); that folder
    and the records of its files. Pieces are read one chunk at a time: memory does not grow
    with the product. Several processes may deliver the same product at once, each into its
    own folder."""
    clock = Stopwatch(timings if timings is not None else {})
    missing = plan.chunk_count - len(work.done())
    if missing:
        raise RuntimeError(f"{missing} of {plan.chunk_count} chunks have no piece yet")
    staging = work.root / f"product-{uuid.uuid4().hex[:12]}" / name
    staging.mkdir(parents=True)
    chunks = plan.chunk_list
    report = progress or (lambda fraction: None)

    def pieces() -> Iterator[tuple[Chunk, ChunkLayers]]:
        for index, chunk in enumerate(chunks):
            with clock("write"):
                layers = work.read_piece(index)
            yield chunk, layers
            report((index + 1) / len(chunks))

    change: ChangeModel | None = None
    composed: Iterable[tuple[Chunk, ChunkLayers]] = pieces()
    if plan.spec.is_change:
        with clock("change"):
            change = fit_change(lambda: ((c, work.read_piece(i)) for i, c in enumerate(chunks)),
                                plan.spec.bands, plan.spec.confidence, plan.spec.change_classes)
        composed = with_change(change, composed)
    intermediates = assemble(plan, composed, staging / ".work", clock.totals)
    with clock("publish"):
        info = product_info(plan, settings, product_id, staging, links, change)
        files = deliver(info, intermediates, staging)
        shutil.rmtree(staging / ".work")
    return staging, files


def publish(staging: Path, final: Path) -> None:
    """Replace final by the delivered folder in one rename."""
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)


def _compose_all(plan: Plan, chunks: list[tuple[int, Chunk]],
                 timings: dict[str, float]) -> Iterator[tuple[int, ChunkLayers]]:
    """The given chunks composed in turn, each for every mosaic of the plan (`Plan.parts`),
    the next ones read meanwhile (`Plan.read_ahead`). `timings`: "read" is the time spent
    waiting for a read."""
    clock = Stopwatch(timings)
    jobs = [(index, chunk, prefix, recipe) for index, chunk in chunks
            for prefix, recipe in plan.parts]
    first_source = _first_sources(plan)
    merged: ChunkLayers = {}
    depth = plan.read_ahead
    with ThreadPoolExecutor(depth, thread_name_prefix="prefetch") as prefetch:
        reads = deque(prefetch.submit(read_chunk, recipe, chunk)
                      for _, chunk, _, recipe in jobs[:depth])
        for done, (index, chunk, prefix, recipe) in enumerate(jobs, start=1):
            with clock("read"):
                stack = reads.popleft().result()
            if done - 1 + depth < len(jobs):
                _, following, _, following_recipe = jobs[done - 1 + depth]
                reads.append(prefetch.submit(read_chunk, following_recipe, following))
            with clock("composite"):
                layers = composite_chunk(recipe, chunk, stack)
            del stack  # before the next read is waited for: at most one more than read ahead
            release_free_memory()
            merged.update(_numbered(layers, prefix, first_source[prefix]))
            if done == len(jobs) or jobs[done][0] != index:
                yield index, merged
                merged = {}


def _first_sources(plan: Plan) -> dict[str, int]:
    """Per mosaic (layer prefix), the position of its first observation in the product's
    source list (`Plan.observations`)."""
    out, count = {}, 0
    for prefix, recipe in plan.parts:
        out[prefix] = count
        count += len(recipe.observations)
    return out


def _numbered(layers: ChunkLayers, prefix: str, first_source: int) -> ChunkLayers:
    """A mosaic's layers named with its prefix, its source indices counted in the product's
    one source list."""
    if not prefix:
        return layers
    out = {f"{prefix}{name}": values for name, values in layers.items()}
    source = AUX_LAYERS["source_index"]
    key = f"{prefix}{source.name}"
    if first_source and key in out:
        values = out[key]
        out[key] = np.where(values == source.nodata, values,
                            values + first_source).astype(values.dtype)
    return out


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
