"""Reading L2A rasters onto an output chunk: only the window needed, reprojected with rasterio.

Resampling (docs/ATBD.md): SCL, the cloud and snow probabilities and other class layers by
nearest neighbour; the 5 km angle grids bilinearly (`compositing.archive.angles`). Reflectance
onto a coarser grid of the same CRS by the mean of the native pixels (S2GM: B08 to 20 m by 2x2
mean); onto a finer grid or another CRS by nearest neighbour, so that no spectrum is blended
from different surfaces.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import rasterio
import rasterio.io
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT
from rasterio.warp import transform_bounds
from shapely.geometry import box

from compositing import l2a
from compositing.archive.aligned import read_aligned
from compositing.archive.angles import angles_on_chunk, load_angles
from compositing.archive.scenes import Asset, Observation, Scene
from compositing.grid import Chunk, OutputGrid
from compositing.products.layers import AUX_LAYERS, Source


@dataclass
class Stack:
    """Observations of one chunk: reflectance (t, band, y, x) float32 with NaN for nodata."""

    obs_index: np.ndarray  # (t,) index into the product's observation list
    band_names: tuple[str, ...]
    refl: np.ndarray
    scl: np.ndarray  # (t, y, x) uint8, 0 where no data
    aot: np.ndarray  # (t, y, x) float32, NaN where no data
    # Per-observation layers by product layer name (`layers.CONFIDENCE_LAYERS`,
    # `layers.ANGLE_LAYERS`), (t, y, x) float32, NaN where the input has none.
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def crop(self, px: int) -> Stack:
        """The stack without a halo of px pixels (read for neighbourhood operations)."""
        if px == 0:
            return self
        inner = (slice(None), slice(px, -px), slice(px, -px))
        return Stack(self.obs_index, self.band_names, self.refl[:, :, px:-px, px:-px],
                     self.scl[inner], self.aot[inner],
                     {k: v[inner] for k, v in self.extra.items()})


# Rasters behind the confidence layers (nearest neighbour, percent).
CONFIDENCE_ASSETS: dict[str, str] = {
    name: str(layer.asset) for name, layer in AUX_LAYERS.items()
    if layer.source is Source.CONFIDENCE}


def reflectance_resampling(native_m: float, out_res_m: float, same_crs: bool) -> Resampling:
    """Resampling for a reflectance band (see module docstring)."""
    if same_crs and out_res_m > native_m:
        return Resampling.average
    return Resampling.nearest


def read_stack(observations: Sequence[Observation], band_names: Sequence[str],
               grid: OutputGrid, chunk: Chunk, resolution_m: int,
               extras: Sequence[str] = ()) -> Stack:
    """Every observation with data in the chunk, its bands on the chunk grid.

    `extras`: per-observation layers to read as well (names of `CONFIDENCE_ASSETS` and angle
    layers); the mean view zenith is always read where scenes carry angle grids, for the
    validity rule.
    """
    footprint = box(*transform_bounds(grid.crs, "EPSG:4326", *_chunk_bounds(chunk)))
    with_angles = any("ANGLES" in s.assets for o in observations for s in o.scenes)
    wanted = tuple(dict.fromkeys((*(["view_zenith_mean"] if with_angles else []), *extras)))
    kept, refl_list, scl_list, aot_list = [], [], [], []
    extra_lists: dict[str, list[np.ndarray]] = {name: [] for name in wanted}
    for i, obs in enumerate(observations):
        scenes = [s for s in obs.scenes if s.footprint.intersects(footprint)]
        if not scenes:
            continue
        scl, refl, aot, extra = _read_observation(scenes, band_names, grid, chunk,
                                                  resolution_m, wanted)
        if not scl.any():
            continue
        kept.append(i)
        scl_list.append(scl)
        refl_list.append(refl)
        aot_list.append(aot)
        for name in wanted:
            extra_lists[name].append(extra[name])
    h, w = chunk.shape
    if not kept:
        return Stack(np.zeros(0, np.int64), tuple(band_names),
                     np.zeros((0, len(band_names), h, w), np.float32),
                     np.zeros((0, h, w), np.uint8), np.zeros((0, h, w), np.float32),
                     {name: np.zeros((0, h, w), np.float32) for name in wanted})
    return Stack(np.array(kept), tuple(band_names), np.stack(refl_list), np.stack(scl_list),
                 np.stack(aot_list), {name: np.stack(v) for name, v in extra_lists.items()})


def _read_observation(scenes: Sequence[Scene], band_names: Sequence[str], grid: OutputGrid,
                      chunk: Chunk, resolution_m: int, extras: Sequence[str] = ()
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """One acquisition onto the chunk, counted once per pixel.

    Where granules of the acquisition overlap (MGRS tile overlaps, UTM zone borders), the one
    with the smaller AOT wins (S2GM ATBD 2.4.4); without AOT, the first with data.
    """
    h, w = chunk.shape
    scl = np.zeros((h, w), np.uint8)
    refl = np.full((len(band_names), h, w), np.nan, np.float32)
    aot = np.full((h, w), np.nan, np.float32)
    extra = {name: np.full((h, w), np.nan, np.float32) for name in extras}
    for scene in scenes:
        if "SCL" not in scene.assets:
            continue
        scene_scl = read_asset(scene.assets["SCL"], grid, chunk, Resampling.nearest)
        has_data = np.isfinite(scene_scl) & (scene_scl > 0)
        scene_aot = (read_asset(scene.assets["AOT"], grid, chunk, Resampling.nearest)
                     if "AOT" in scene.assets else np.full((h, w), np.nan, np.float32))
        clearer = np.isfinite(scene_aot) & ~(aot <= scene_aot)  # NaN-aware: no AOT yet
        take = has_data & ((scl == 0) | clearer)
        if not take.any():
            continue
        scl[take] = scene_scl[take].astype(np.uint8)
        aot[take] = scene_aot[take]
        for b, name in enumerate(band_names):
            asset = scene.assets.get(name)
            if asset is None:
                refl[b][take] = np.nan
                continue
            native = asset.gsd or l2a.BAND_BY_NAME[name].native_m
            same_crs = _asset_epsg(asset) == grid.epsg
            resampling = reflectance_resampling(native, resolution_m, same_crs)
            refl[b][take] = read_asset(asset, grid, chunk, resampling)[take]
        _read_extras(scene, grid, chunk, take, extra)
    return scl, refl, aot, extra


def _read_extras(scene: Scene, grid: OutputGrid, chunk: Chunk, take: np.ndarray,
                 extra: dict[str, np.ndarray]) -> None:
    """The scene's confidences and angles into `extra` where it supplies the pixel."""
    for name, key in CONFIDENCE_ASSETS.items():
        if name not in extra:
            continue
        if key in scene.assets:
            values = read_asset(scene.assets[key], grid, chunk, Resampling.nearest)
            extra[name][take] = np.clip(values[take], 0, 100)
        else:
            extra[name][take] = np.nan
    angle_names = [n for n in extra if n not in CONFIDENCE_ASSETS]
    if not angle_names:
        return
    angles = ({} if "ANGLES" not in scene.assets else
              angles_on_chunk(load_angles(scene.assets["ANGLES"].href), chunk.transform,
                              chunk.shape, grid.epsg))
    for name in angle_names:
        extra[name][take] = angles[name][take] if name in angles else np.nan


def read_asset(asset: Asset, grid: OutputGrid, chunk: Chunk,
               resampling: Resampling) -> np.ndarray:
    """The asset on the chunk grid as float32 physical values, NaN where nodata."""
    h, w = chunk.shape
    src = open_dataset(asset.href)
    nodata = asset.nodata if asset.nodata is not None else src.nodata
    dn = None
    if src.crs is not None and src.crs.to_epsg() == grid.epsg:
        dn = read_aligned(src, chunk.transform, chunk.shape, resampling, nodata)
    if dn is None:
        with WarpedVRT(src, crs=grid.crs, transform=chunk.transform, width=w, height=h,
                       resampling=resampling, src_nodata=nodata, nodata=nodata) as vrt:
            dn = np.ma.filled(vrt.read(1, masked=True).astype(np.float32), np.nan)
    return dn * np.float32(asset.scale) + np.float32(asset.offset)


# Open datasets kept across chunks: opening a COG costs about as much as warping a chunk of
# it. Per process and per thread (a rasterio dataset must not be shared between threads);
# the oldest are closed beyond the limit, so a long year of scenes cannot exhaust handles.
MAX_OPEN_DATASETS = 256
_open = threading.local()


def open_dataset(href: str) -> rasterio.io.DatasetReader:
    """A cached read-only dataset for href."""
    cache: OrderedDict[str, rasterio.io.DatasetReader] = _open.__dict__.setdefault(
        "datasets", OrderedDict())
    src = cache.get(href)
    if src is None or src.closed:
        src = cache[href] = rasterio.open(href)
        while len(cache) > MAX_OPEN_DATASETS:
            cache.popitem(last=False)[1].close()
    cache.move_to_end(href)
    return src


def close_datasets() -> None:
    """Close this thread's cached datasets (after a request, so files can be replaced)."""
    cache = _open.__dict__.pop("datasets", {})
    for src in cache.values():
        src.close()


def _asset_epsg(asset: Asset) -> int | None:
    crs = open_dataset(asset.href).crs
    return crs.to_epsg() if crs else None


def _chunk_bounds(chunk: Chunk) -> tuple[float, float, float, float]:
    t = chunk.transform
    left, top = t.c, t.f
    right, bottom = left + chunk.width * t.a, top + chunk.height * t.e
    return left, min(top, bottom), right, max(top, bottom)
