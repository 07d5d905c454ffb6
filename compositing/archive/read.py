"""Reading L2A rasters onto an output chunk: only the window needed, reprojected with rasterio.

Resampling (docs/ATBD.md): SCL, the cloud and snow probabilities and other class layers by
nearest neighbour; the 5 km angle grids bilinearly (`compositing.archive.angles`). Reflectance
onto a coarser grid of the same CRS by the mean of the native pixels (S2GM: B08 to 20 m by 2x2
mean), taken from the file's overview where the file says its overviews are such means
(`overviews_are_means`); onto a finer grid or another CRS by nearest neighbour, so that no
spectrum is blended from different surfaces.

A chunk is read in two passes, both on the file threads (`compositing.archive.files`): the
scene classification (and AOT where granules overlap) of every granule meeting the chunk, with
the halo the selection's neighbourhood tests need; then, for the acquisitions with data in the
chunk, every band straight into one preallocated stack (`compositing.archive.stack`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.errors import WindowError
from rasterio.vrt import WarpedVRT
from rasterio.warp import transform_bounds
from rasterio.windows import Window, from_bounds
from shapely.geometry import box

from compositing import l2a
from compositing.archive.aligned import read_aligned
from compositing.archive.angles import angle_grids, angles_on_chunk, too_oblique
from compositing.archive.files import file_threads, open_dataset, read_logger
from compositing.archive.scenes import Asset, Observation, Scene
from compositing.archive.stack import (
    STACK_DTYPE,
    STACK_NODATA,
    Stack,
    encode_into,
    stack_dn_shift,
)
from compositing.grid import Chunk, OutputGrid
from compositing.products.layers import AUX_LAYERS, Source

__all__ = ["CONFIDENCE_ASSETS", "Stack", "close_datasets", "read_asset", "read_stack"]

# Rasters behind the confidence layers (nearest neighbour, percent).
CONFIDENCE_ASSETS: dict[str, str] = {
    name: str(layer.asset) for name, layer in AUX_LAYERS.items()
    if layer.source is Source.CONFIDENCE}
AOT_LAYERS: tuple[str, ...] = tuple(
    name for name, layer in AUX_LAYERS.items() if layer.source is Source.AOT)


def reflectance_resampling(native_m: float, out_res_m: float, same_crs: bool) -> Resampling:
    """Resampling for a reflectance band (see module docstring)."""
    if same_crs and out_res_m > native_m:
        return Resampling.average
    return Resampling.nearest


@dataclass
class _Acquisition:
    """One acquisition's classification on the chunk and halo, and which granule supplies
    each pixel (-1 none), where several overlap."""

    scenes: list[Scene]
    scl: np.ndarray
    aot: np.ndarray
    owner: np.ndarray


def read_stack(observations: Sequence[Observation], band_names: Sequence[str],
               grid: OutputGrid, chunk: Chunk, resolution_m: int,
               extras: Sequence[str] = (), halo: int = 0) -> Stack:
    """Every observation with data in the chunk, its bands on the chunk grid, and its scene
    classification on the chunk grown by `halo` pixels.

    `extras`: per-observation layers to read as well (names of `CONFIDENCE_ASSETS` and angle
    layers); where scenes carry angle grids the too-oblique mask is always made, for the
    validity rule.
    """
    threads = file_threads()
    outer = chunk.expanded(halo)
    footprint = box(*transform_bounds(grid.crs, "EPSG:4326", *_chunk_bounds(outer)))
    wanted = tuple(dict.fromkeys(e for e in extras if e not in AOT_LAYERS))
    with_aot = any(e in AOT_LAYERS for e in extras)
    candidates = [(i, [s for s in obs.scenes if "SCL" in s.assets
                       and s.footprint.intersects(footprint)])
                  for i, obs in enumerate(observations)]
    candidates = [(i, scenes) for i, scenes in candidates if scenes]
    threads.reserve(sum(len(s.assets) for obs in observations for s in obs.scenes))
    # Pass 1: the classification, and the AOT where ordered or where several granules of
    # one acquisition meet the chunk, to decide between them where their data overlap (not
    # read elsewhere: it would be a tenth more reads for nothing). Both are asked for at
    # once, and then every other file of the chunk is opened: a remote file costs round
    # trips to open and to read, and each pass waiting for the one before would add them up.
    pending = {(i, k): threads.submit(s.assets["SCL"].href, _read_dn, s.assets["SCL"], grid,
                                      outer, Resampling.nearest)
               for i, scenes in candidates for k, s in enumerate(scenes)}
    aots = {(i, k): _submit_aot(s.assets["AOT"], grid, outer)
            for i, scenes in candidates if with_aot or len(scenes) > 1
            for k, s in enumerate(scenes) if "AOT" in s.assets}
    for _, scenes in candidates:
        for scene in scenes:
            for href in _pass_two_hrefs(scene, band_names, wanted):
                threads.submit(href, _ahead, open_dataset, href)
            if "ANGLES" in scene.assets:
                threads.submit(scene.assets["ANGLES"].href, _ahead, angle_grids,
                               scene.assets["ANGLES"].href)
    classes = {key: future.result() for key, future in pending.items()}
    del pending
    for i, scenes in candidates:  # footprints are outlines: overlapping data decides
        if _granules_overlap([classes[i, k] for k in range(len(scenes))]):
            for k, s in enumerate(scenes):
                if "AOT" in s.assets and (i, k) not in aots:
                    aots[i, k] = _submit_aot(s.assets["AOT"], grid, outer)
    h, w, ho = chunk.height, chunk.width, halo
    kept: list[tuple[int, _Acquisition]] = []
    for i, scenes in candidates:
        acq = _combine(scenes, [classes.pop((i, k)) for k in range(len(scenes))],
                       [_physical(scenes[k].assets["AOT"], *aots.pop((i, k)).result())
                        if (i, k) in aots else None for k in range(len(scenes))])
        if not with_aot:  # it chose between granules; the chunk's layers do not need it
            acq.aot = np.empty((0, 0), np.float32)  # not a view: that would keep it alive
        if acq.scl[ho:ho + h, ho:ho + w].any():
            kept.append((i, acq))
    if not kept:
        return Stack.empty(tuple(band_names), chunk.shape, halo, wanted)
    # Pass 2: every band of the kept acquisitions, written in place into one stack.
    t_n = len(kept)
    refl = np.zeros((t_n, len(band_names), h, w), STACK_DTYPE)
    extra = {name: np.full((t_n, h, w), np.nan, np.float32) for name in wanted}
    writes: list[Future[None]] = []
    angle_masks: list[tuple[int, np.ndarray | None, Future[np.ndarray | None]]] = []
    for t, (_, acq) in enumerate(kept):
        owner = acq.owner[ho:ho + h, ho:ho + w]
        for k, scene in enumerate(acq.scenes):
            where = None if len(acq.scenes) == 1 else owner == k
            if where is not None and not where.any():
                continue
            for b, name in enumerate(band_names):
                asset = scene.assets.get(name)
                if asset is None:
                    continue
                native = asset.gsd or l2a.BAND_BY_NAME[name].native_m
                resampling = reflectance_resampling(native, resolution_m,
                                                    asset.epsg in (None, grid.epsg))
                writes.append(threads.submit(asset.href, _read_into, refl[t, b], where, asset,
                                             grid, chunk, resampling))
            for name in wanted:
                if name in CONFIDENCE_ASSETS and CONFIDENCE_ASSETS[name] in scene.assets:
                    asset = scene.assets[CONFIDENCE_ASSETS[name]]
                    writes.append(threads.submit(asset.href, _read_confidence, extra[name][t],
                                                 where, asset, grid, chunk))
            if "ANGLES" in scene.assets:
                href = scene.assets["ANGLES"].href
                angle_names = [n for n in wanted if n not in CONFIDENCE_ASSETS]
                angle_masks.append((t, where, threads.submit(
                    href, _read_angles, href, grid, chunk, angle_names, where,
                    {n: extra[n][t] for n in angle_names})))
    for future in writes:
        future.result()
    # The too-oblique mask only where some granule has a too-oblique pixel in the chunk
    # (near a swath's edge): elsewhere no (t, y, x) array of False.
    oblique: np.ndarray | None = None
    for t, where, mask_future in angle_masks:
        mask = mask_future.result()
        if mask is not None:
            if oblique is None:
                oblique = np.zeros((t_n, h, w), bool)
            np.copyto(oblique[t], mask, where=True if where is None else where)
    # AOT per pixel only where ordered: otherwise a view of NaN that holds no memory.
    aot = (np.stack([acq.aot[ho:ho + h, ho:ho + w] for _, acq in kept]).astype(np.float32)
           if with_aot else np.broadcast_to(np.float32(np.nan), (t_n, h, w)))
    return Stack(np.array([i for i, _ in kept]), tuple(band_names), refl,
                 np.stack([acq.scl for _, acq in kept]), aot, oblique, halo, extra)


def _submit_aot(asset: Asset, grid: OutputGrid,
                chunk: Chunk) -> Future[tuple[np.ndarray, float | None]]:
    return file_threads().submit(asset.href, _read_dn_nodata, asset, grid, chunk)


def _pass_two_hrefs(scene: Scene, band_names: Sequence[str],
                    wanted: Sequence[str]) -> list[str]:
    """The files the second pass may read of a granule."""
    names = [*band_names, *(CONFIDENCE_ASSETS[n] for n in wanted if n in CONFIDENCE_ASSETS)]
    return [scene.assets[n].href for n in names if n in scene.assets]


def _ahead(load: Callable[[str], object], href: str) -> None:
    """Open a file, or load an angles document, that the second pass may read (on the file's
    thread, where both stay cached); a failure is left for that read to report."""
    try:
        load(href)
    except Exception:  # noqa: BLE001 - the read names the file and the reason
        pass


def _has_data(scl: np.ndarray) -> np.ndarray:
    return (scl != 0) & np.isfinite(scl) if scl.dtype.kind == "f" else scl != 0


def _granules_overlap(classes: list[np.ndarray]) -> bool:
    """Whether two of an acquisition's granules have data on one pixel."""
    if len(classes) < 2:
        return False
    count = sum(_has_data(scl).astype(np.uint8) for scl in classes)
    return bool((np.asarray(count) > 1).any())


def _read_dn_nodata(asset: Asset, grid: OutputGrid,
                    chunk: Chunk) -> tuple[np.ndarray, float | None]:
    """The asset's values on the chunk (nearest) and their nodata (on its file thread)."""
    nodata = _nodata(asset)
    return _read_dn(asset, grid, chunk, Resampling.nearest), nodata


def _nodata(asset: Asset) -> float | None:
    """The asset's nodata: its STAC item's, else its file's (on the file's thread)."""
    return asset.nodata if asset.nodata is not None else open_dataset(asset.href).nodata


def _physical(asset: Asset, dn: np.ndarray, nodata: float | None) -> np.ndarray:
    """float32 physical values of an asset's DN, NaN where nodata."""
    values = dn.astype(np.float32)
    if nodata is not None:
        values[dn == nodata] = np.nan
    return values * np.float32(asset.scale) + np.float32(asset.offset)


def _combine(scenes: list[Scene], classes: list[np.ndarray],
             aots: list[np.ndarray | None]) -> _Acquisition:
    """One acquisition from its granules, counted once per pixel.

    Where granules of the acquisition overlap (MGRS tile overlaps, UTM zone borders), the one
    with the smaller AOT wins (S2GM ATBD 2.4.4); without AOT, the first with data.
    """
    shape = classes[0].shape
    scl = np.zeros(shape, np.uint8)
    aot = (np.full(shape, np.nan, np.float32) if any(a is not None for a in aots)
           else np.broadcast_to(np.float32(np.nan), shape))  # none read: no memory
    owner = np.full(shape, -1, np.int8)
    for k, (scene_scl, scene_aot) in enumerate(zip(classes, aots, strict=True)):
        has_data = _has_data(scene_scl)
        if k == 0:
            take = has_data
        else:
            clearer = (np.isfinite(scene_aot) & ~(aot <= scene_aot) if scene_aot is not None
                       else np.zeros(shape, bool))
            take = has_data & ((scl == 0) | clearer)
        if not take.any():
            continue
        classes_u8 = (scene_scl if scene_scl.dtype == np.uint8
                      else np.nan_to_num(scene_scl).astype(np.uint8))
        np.copyto(scl, classes_u8, where=take)
        if scene_aot is not None:
            np.copyto(aot, scene_aot, where=take)
        np.copyto(owner, np.int8(k), where=take)
    return _Acquisition(scenes, scl, aot, owner)


def _read_into(out: np.ndarray, where: np.ndarray | None, asset: Asset, grid: OutputGrid,
               chunk: Chunk, resampling: Resampling) -> None:
    """One reflectance band of one granule into its slot of the stack (on its file thread);
    decoded straight into it where the file holds stack DN on the chunk's own pixels."""
    src = open_dataset(asset.href)
    nodata = _nodata(asset)
    direct = (where is None and np.dtype(src.dtypes[0]) == out.dtype
              and nodata == STACK_NODATA and stack_dn_shift(asset.scale, asset.offset) == 0)
    dn = _read_dn(asset, grid, chunk, resampling, out if direct else None)
    if dn is not out:
        encode_into(out, dn, nodata, asset.scale, asset.offset, where)


def _read_confidence(out: np.ndarray, where: np.ndarray | None, asset: Asset,
                     grid: OutputGrid, chunk: Chunk) -> None:
    values = np.clip(read_asset_here(asset, grid, chunk, Resampling.nearest), 0, 100)
    np.copyto(out, values, where=True if where is None else where)


def _read_angles(href: str, grid: OutputGrid, chunk: Chunk, names: Sequence[str],
                 where: np.ndarray | None, out: dict[str, np.ndarray]) -> np.ndarray | None:
    """The angle layers ordered of one granule, into `out`; returns its too-oblique mask on
    the chunk, None where no pixel is."""
    grids = angle_grids(href)
    if grids is None:
        return None
    too_high = too_oblique(grids, chunk.transform, chunk.shape, grid.epsg)
    for name, values in (angles_on_chunk(grids, chunk.transform, chunk.shape, grid.epsg,
                                         names).items() if names else ()):
        np.copyto(out[name], values, where=True if where is None else where)
    return too_high


def read_asset(asset: Asset, grid: OutputGrid, chunk: Chunk,
               resampling: Resampling) -> np.ndarray:
    """The asset on the chunk grid as float32 physical values, NaN where nodata."""
    return file_threads().submit(asset.href, read_asset_here, asset, grid, chunk,
                                 resampling).result()


def read_asset_here(asset: Asset, grid: OutputGrid, chunk: Chunk,
                    resampling: Resampling) -> np.ndarray:
    """`read_asset` on the calling thread, which must be the file's (`files.FileThreads`)."""
    dn = _read_dn(asset, grid, chunk, resampling)
    nodata = _nodata(asset)
    return _physical(asset, dn, nodata)


def _read_dn(asset: Asset, grid: OutputGrid, chunk: Chunk, resampling: Resampling,
             out: np.ndarray | None = None) -> np.ndarray:
    """The asset's values on the chunk grid: the file's type with its nodata outside (nearest),
    or float32 with NaN (average, or a file without nodata where the chunk leaves it)."""
    h, w = chunk.shape
    src = open_dataset(asset.href)
    nodata = _nodata(asset)
    epsg = asset.epsg if asset.epsg is not None else (src.crs.to_epsg() if src.crs else None)
    if epsg == grid.epsg:
        href = asset.href
        if resampling == Resampling.average:
            href, src = _averaged_overview(asset.href, src, chunk.transform.a)
        dn = read_aligned(src, chunk.transform, chunk.shape, resampling, nodata,
                          read_logger(href), out)
        if dn is not None:
            return dn
    logger = read_logger(asset.href)
    if logger is not None:
        _log_warped_window(src, grid, chunk, logger)
    with WarpedVRT(src, crs=grid.crs, transform=chunk.transform, width=w, height=h,
                   resampling=resampling, src_nodata=nodata, nodata=nodata) as vrt:
        if nodata is not None:
            return vrt.read(1)
        return np.ma.filled(vrt.read(1, masked=True).astype(np.float32), np.nan)


def _log_warped_window(src: rasterio.io.DatasetReader, grid: OutputGrid, chunk: Chunk,
                       logger: Callable[[Window], None]) -> None:
    """Report the file's pixels under a warped chunk (its bounds in the file's CRS, rounded
    out), as an aligned read reports its window."""
    bounds = transform_bounds(grid.crs, src.crs, *_chunk_bounds(chunk))
    exact = from_bounds(*bounds, transform=src.transform)
    col0, row0 = math.floor(exact.col_off), math.floor(exact.row_off)
    window = Window(col0, row0, math.ceil(exact.col_off + exact.width) - col0,
                    math.ceil(exact.row_off + exact.height) - row0)
    try:
        window = window.intersection(Window(0, 0, src.width, src.height))
    except WindowError:
        return
    if window.width > 0 and window.height > 0:
        logger(window)


def _averaged_overview(href: str, src: rasterio.io.DatasetReader,
                       pixel: float) -> tuple[str, rasterio.io.DatasetReader]:
    """The file's overview at exactly `pixel` size if its overviews are means of the full
    resolution (tagged so), else the file itself: the mean is then taken from full resolution.
    With its href for `files.open_dataset`."""
    if not overviews_are_means(src):
        return href, src
    for level, factor in enumerate(src.overviews(1)):
        if abs(src.transform.a * factor - pixel) < 1e-6 * pixel:
            key = f"{href}\0{level}"
            return key, open_dataset(key)
    return href, src


def overviews_are_means(src: rasterio.io.DatasetReader) -> bool:
    """Whether the file says its overviews are means of full resolution: GDAL's
    OVERVIEW_RESAMPLING metadata item, or rasterio's `rio_overview` tag (plain GeoTIFF)."""
    said = (src.tags().get("OVERVIEW_RESAMPLING")
            or src.tags(ns="rio_overview").get("resampling") or "")
    return said.upper() == "AVERAGE"


def close_datasets() -> None:
    """Close the reading threads' open datasets (after an order, `files.FileThreads`)."""
    file_threads().close_datasets()


def _chunk_bounds(chunk: Chunk) -> tuple[float, float, float, float]:
    t = chunk.transform
    left, top = t.c, t.f
    right, bottom = left + chunk.width * t.a, top + chunk.height * t.e
    return left, min(top, bottom), right, max(top, bottom)
