"""Demo Sentinel-2 L2A archive: synthetic scenes in the real on-disk shape, with their truth.

Layout (read by `compositing.archive.store` and the rest of the hub)::

    {archive}/sentinel-2-l2a/{item_id}/{item_id}.json     STAC Item 1.0.0, hrefs relative
    {archive}/sentinel-2-l2a/{item_id}/B01.tif ... B12.tif, B8A.tif   uint16 COG, native 10/20/60 m
    {archive}/sentinel-2-l2a/{item_id}/SCL.tif, AOT.tif   uint8 / uint16 COG at 20 m
    {archive}/sentinel-2-l2a/{item_id}/CLD.tif, SNW.tif   uint8 COG at 20 m: Sen2Cor-like cloud
                                                          and snow probability (%), 255 no data
    {archive}/sentinel-2-l2a/{item_id}/angles.json        5 km sun and view angle grids (asset
                                                          "angles", the format ingest writes)
    {archive}/sentinel-2-l2a/{item_id}/truth/reflectance.tif   float32, 12 bands at 20 m
    {archive}/sentinel-2-l2a/{item_id}/truth/cloud.tif         uint8: 0 clear, 1 cloud, 2 shadow

Each scene is a `size_m` square window of a real MGRS tile, on the tile's real grid, placed
around the centre of a named demo area (`DEMO_AREAS`): "midlands" (29UNU and 29UPU, inside
zone 29) and "zone-border" (29UPU's east edge and 30UUD of zone 30, across the 6 W zone border).
An extent to cover around the areas' centres (`extent_bbox`) may set the size instead.
29UPU has a window in both areas; the second one gets sequence number 1 in its item id, as Earth
Search numbers several products of one tile and day. Acquisitions follow the real 5-day revisit
of relative orbit 23 (S2A and S2B alternating), and every tile is seen on every pass with the
same datatake id. The surface physics and clouds live in `compositing.demo.scene`. The truth
rasters cover the whole window, also where a swath wedge leaves the product without data (DN 0
in every band, SCL 0).

The land cover is static but for a few known change events in the midlands on 2023-03-15 (a
forest clearing, a new reservoir, a burn scar; `compositing.demo.changes`, which also gives
their truth on any grid): scenes from that day on render the new land cover, earlier ones the
old. They lie north of the windows of 2400 m and less, inside those of `FULL_SIZE_M`.
Building twice into one folder adds the second range's scenes to the first's (nothing is
removed), e.g. July 2022 and July 2023 for a change order.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import combinations, repeat
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from pyproj import Transformer
from shapely.geometry import Polygon, box, mapping
from shapely.ops import unary_union

from compositing import l2a
from compositing.archive.angles import incidence_zenith, node_grid
from compositing.demo import changes
from compositing.demo import scene as ds
from compositing.orders.mgrs import TILE_LATTICE_M, TILE_SIZE_M, Tile, tile
from compositing.stacspec import STAC_VERSION, extension

COLLECTION = "sentinel-2-l2a"
DEMO_START = date(2023, 6, 1)
DEMO_END = date(2023, 6, 30)
DEMO_SIZE_M = 6000  # side of each scene's window when neither a size nor an extent is given
DEMO_TILES: tuple[str, ...] = ("29UNU", "29UPU")
# Middle of the 29UNU/29UPU overlap strip (E 600000-609780) in EPSG:32629, mid-tile northing.
DEMO_CENTER_32629 = (604890.0, 5845140.0)
# A ~3 km x 3 km square around the centre, as a lon/lat bbox. It crosses the edges of both
# default scene windows, so a composite needs both tiles, and it is clear of any swath wedge.
DEMO_AOI_BBOX: tuple[float, float, float, float] = (-7.4688, 52.7321, -7.4234, 52.7597)
# The zone-border area's centre (lon, lat): 0.1 km east of 30UUD's west edge (E 300000 of zone
# 30, 5.9917 W at this latitude), 0.7 km east of the 6 W zone border and 8.6 km west of 29UPU's
# east edge (E 709800 of zone 29). 30UUD does not reach 6 W anywhere (5.93-5.995 W).
DEMO_ZONE_BORDER_CENTER = (-5.99, 53.16)
# A 2 km x 2 km square around it (geodesic, rounded): it crosses the 6 W meridian; its west
# 0.9 km lie in 29UPU's window only, its east 1.1 km in both 29UPU's and 30UUD's windows (at
# any size from 2400 m), so a composite there mixes granules of two UTM zones.
DEMO_ZONE_BORDER_AOI_BBOX: tuple[float, float, float, float] = (-6.005, 53.151, -5.975, 53.169)
# What `make_demo_archive` and `python -m compositing.demo.archive` build by default: a year of both
# areas (3 tiles, 4 scenes per pass) at a window size that builds in under a minute on 2 cores.
FULL_START, FULL_END = date(2023, 1, 1), date(2023, 12, 31)
FULL_TILES: tuple[str, ...] = ("29UNU", "29UPU", "30UUD")
FULL_SIZE_M = 3600

# Baseline 04.00 (BOA_ADD_OFFSET -1000) reached the archive on this day.
BASELINE_04_START = date(2022, 1, 25)
# The real pass over 29UNU: S2A, absolute orbit 38058, relative orbit 23, 2022-10-05 11:54:11.
_S2A_REF = (date(2022, 10, 5), 38058)
_S2B_REF = (date(2024, 4, 19), 37185)  # a real S2B pass (any relative orbit) to count orbits
_SENSING = time(11, 54, 11, 24000)
_RELATIVE_ORBIT = 23
_ORBITS_PER_CYCLE, _CYCLE_DAYS = 143, 10
# Relative sensitivity of BOA reflectance to an error in the tile's own AOT retrieval.
_AOT_SENSITIVITY = np.array([1.0, 0.8, 0.6, 0.45, 0.35, 0.3, 0.25, 0.2, 0.2, 0.2, 0.1, 0.05],
                            np.float32)[:, None, None]
_EXTENSIONS = [
    extension(name)
    for name in ("eo/v1.1.0", "projection/v1.1.0", "raster/v1.1.0", "mgrs/v1.0.0",
                 "grid/v1.1.0", "view/v1.0.0")
]
_TRUTH_STEPS = 2.0**14
# Viewing geometry of a descending pass (ground track heading ~193 degrees). The nadir line
# runs midway between the two demo areas' centres (about 50 km from each, view zenith ~4
# degrees), so that every demo window lies well inside the 290 km swath; real relative orbit
# 23 sees 29UNU from farther west (mean view zenith 9.2 degrees on 2022-10-05).
_TRACK_RIGHT_AZIMUTH = 283.0  # from a point east of the track toward the satellite
_ANGLE_STEP_M, _ANGLE_NODES = 5000.0, 23  # MTD_TL.xml angle grids: 23 x 23 nodes, 5 km apart
_COG_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
_LICENSE_URL = "https://sentinel.esa.int/documents/247904/690755/Sentinel_Data_Legal_Notice"


@dataclass(frozen=True)
class Acquisition:
    """One pass of one satellite over the demo area (one datatake)."""

    day: date
    platform: str  # "S2A" or "S2B"
    absolute_orbit: int
    cover: float  # target cloud fraction over each group of overlapping scenes

    @property
    def sensing(self) -> datetime:
        """Datatake sensing start (UTC)."""
        return datetime.combine(self.day, _SENSING, tzinfo=UTC)

    @property
    def baseline(self) -> str:
        """Processing baseline of the product, as in the archive (no reprocessing)."""
        return "04.00" if self.day >= BASELINE_04_START else "02.14"

    @property
    def datatake_id(self) -> str:
        """Datatake id, the same in every tile of the acquisition."""
        return f"G{self.platform}_{self.sensing:%Y%m%dT%H%M%S}_{self.absolute_orbit:06d}" \
               f"_N{self.baseline}"

    @property
    def generation(self) -> datetime:
        """Product generation time: a few hours after sensing, as at the ground segment."""
        return self.sensing + timedelta(hours=4, minutes=50, seconds=43)


def acquisitions(start: date, end: date, seed: int = 0) -> list[Acquisition]:
    """Passes of relative orbit 23 from start to end; cloud cover drawn per date."""
    out = []
    for n in range((end - start).days + 1):
        day = start + timedelta(days=n)
        since = (day - _S2A_REF[0]).days
        if since % 5:
            continue
        platform = "S2A" if since % _CYCLE_DAYS == 0 else "S2B"
        # Drawn from the date alone, so builds over different ranges share most dates' clouds.
        u = np.random.default_rng([seed, 0xC10D, day.toordinal()]).random()
        out.append(Acquisition(day, platform, _absolute_orbit(day, platform), 0.7 * u**1.6))
    if len(out) >= 2:
        # At least one date nearly clear and one mostly cloudy, whatever the draw.
        order = sorted(range(len(out)), key=lambda i: out[i].cover)
        lo, hi = out[order[0]], out[order[-1]]
        out[order[0]] = Acquisition(lo.day, lo.platform, lo.absolute_orbit, 0.002)
        out[order[-1]] = Acquisition(hi.day, hi.platform, hi.absolute_orbit,
                                     max(hi.cover, 0.68))
    return out


def _absolute_orbit(day: date, platform: str) -> int:
    """Absolute orbit of the pass: 143 orbits per 10-day cycle from a real reference pass."""
    if platform == "S2A":
        return _S2A_REF[1] + _ORBITS_PER_CYCLE * (day - _S2A_REF[0]).days // _CYCLE_DAYS
    estimate = round(_S2B_REF[1] + 14.3 * (day - _S2B_REF[0]).days)
    # S2B relative orbit = (absolute - 27) mod 143 + 1: snap to relative orbit 23.
    delta = (_RELATIVE_ORBIT - 1 + 27 - estimate) % _ORBITS_PER_CYCLE
    return estimate + (delta if delta <= _ORBITS_PER_CYCLE // 2 else delta - _ORBITS_PER_CYCLE)


@dataclass(frozen=True)
class DemoArea:
    """A demo area: windows of its tiles placed around one centre."""

    name: str
    tiles: tuple[str, ...]
    centre_epsg: int
    centre: tuple[float, float]  # x, y (lon, lat for EPSG:4326) in centre_epsg
    push: float  # windows move this share of their size from the centre into their tile


DEMO_AREAS: dict[str, DemoArea] = {a.name: a for a in (
    # Windows a third off the centre: they overlap by a third, so the AOI needs both tiles.
    DemoArea("midlands", DEMO_TILES, 32629, DEMO_CENTER_32629, 1 / 3),
    # Centred windows: 30UUD's starts at its west edge; 29UPU's reaches 6 W and beyond.
    DemoArea("zone-border", ("29UPU", "30UUD"), 4326, DEMO_ZONE_BORDER_CENTER, 0.0),
)}


@dataclass(frozen=True)
class Window:
    """One scene window: a tile's window in one area, with the item id's sequence number."""

    area: str
    tile: Tile
    grid: ds.SceneGrid
    seq: int

    @property
    def key(self) -> str:
        return f"{self.area}/{self.tile.id}"


def home_area(tile_id: str) -> DemoArea:
    """The first area that holds the tile; tiles of no area are placed as in the midlands."""
    return next((a for a in DEMO_AREAS.values() if tile_id in a.tiles), DEMO_AREAS["midlands"])


def demo_windows(tiles: Sequence[str], size_m: int) -> list[Window]:
    """The windows to build for `tiles`: every area whose tiles are all requested, then each
    remaining tile in its home area (so 29UNU+29UPU is the midlands, 29UPU+30UUD the border).
    A window's sequence number counts the earlier areas that hold its tile."""
    chosen = list(dict.fromkeys(tile(tid).id for tid in tiles))
    pairs = [(a, tid) for a in DEMO_AREAS.values() if set(a.tiles) <= set(chosen)
             for tid in a.tiles]
    pairs += [(home_area(tid), tid) for tid in chosen if tid not in {p[1] for p in pairs}]
    names = list(DEMO_AREAS)
    return [Window(a.name, tile(tid), scene_grid(tile(tid), size_m, a),
                   sum(tid in DEMO_AREAS[n].tiles for n in names[:names.index(a.name)]))
            for a, tid in pairs]


def scene_grid(t: Tile, size_m: int, area: DemoArea | None = None) -> ds.SceneGrid:
    """The demo window of a tile in an area (default: its home area), on the tile's grid.

    The window is centred on the area's centre, moved by `area.push` of its size toward the
    tile's interior (midlands: windows on either side overlap by a third, so an AOI around the
    centre needs both), clamped into the tile and snapped to the tile's 60 m grid so that
    pixels of all resolutions (and of overlapping tiles of a zone) nest.
    """
    area = area or home_area(t.id)
    to_tile = Transformer.from_crs(area.centre_epsg, t.epsg, always_xy=True)
    cx, cy = to_tile.transform(*area.centre)
    left, bottom, right, top = t.bounds
    side = 1.0 if (left + right) / 2 >= cx else -1.0
    x0 = cx + side * (size_m * area.push) - size_m / 2
    y0 = cy + size_m / 2

    def snap(v: float, lo: float, hi: float, origin: float) -> float:
        return min(max(origin + TILE_LATTICE_M * round((v - origin) / TILE_LATTICE_M), lo), hi)

    return ds.SceneGrid(t.epsg, snap(x0, left, right - size_m, t.ulx),
                        snap(y0, bottom + size_m, top, t.uly), size_m)


def extent_bbox(area: DemoArea, width_m: float, height_m: float
                ) -> tuple[float, float, float, float]:
    """Lon/lat bbox of a width x height rectangle centred on the area's centre, in metres of
    the demo's world frame (`scene.world_xy`: east and north, true to scale in the demo)."""
    to_lonlat = Transformer.from_crs(area.centre_epsg, 4326, always_xy=True)
    wx, wy = ds.world_xy(*to_lonlat.transform(*area.centre))
    west, south = ds.lonlat_from_world(wx - width_m / 2, wy - height_m / 2)
    east, north = ds.lonlat_from_world(wx + width_m / 2, wy + height_m / 2)
    return west, south, east, north


def covers_extent(windows: Sequence[Window], width_m: float, height_m: float) -> bool:
    """Whether, in every area of `windows`, their union covers `extent_bbox` of that area."""
    outlines: dict[str, list[Polygon]] = {}
    for w in windows:
        outlines.setdefault(w.area, []).append(w.grid.outline())
    return all(unary_union(shapes).contains(box(*extent_bbox(DEMO_AREAS[name], width_m,
                                                             height_m)))
               for name, shapes in outlines.items())


def size_for_extent(tiles: Sequence[str], width_m: float, height_m: float) -> int:
    """The smallest window side (a multiple of 60 m) at which the windows of `tiles` cover a
    width x height extent around the centre of every demo area they are built in.

    The windows are placed as at any size (`scene_grid`: the midlands' two overlap by a third
    around the centre), only larger; a window grows with its side, so the search bisects.
    """
    if not (width_m > 0 and height_m > 0):
        raise ValueError("the extent's width and height must be positive")
    lo, hi = 1, TILE_SIZE_M // TILE_LATTICE_M
    if not covers_extent(demo_windows(tiles, hi * TILE_LATTICE_M), width_m, height_m):
        raise ValueError(f"no demo window up to {TILE_SIZE_M} m covers {width_m:g} x "
                         f"{height_m:g} m around the centre of the demo areas of "
                         f"{', '.join(tiles)}")
    while lo < hi:
        mid = (lo + hi) // 2
        if covers_extent(demo_windows(tiles, mid * TILE_LATTICE_M), width_m, height_m):
            hi = mid
        else:
            lo = mid + 1
    return lo * TILE_LATTICE_M


def _groups(grids: dict[str, ds.SceneGrid]) -> dict[str, tuple[float, float, float, float]]:
    """World-frame extent of the group of overlapping windows that each window belongs to."""
    extent = {}
    for tid, g in grids.items():
        wx, wy = g.node_world
        extent[tid] = (float(wx.min()), float(wy.min()), float(wx.max()), float(wy.max()))
    merged = True
    while merged:  # a handful of tiles: merge pairs until no two groups overlap
        merged = False
        for a, b in combinations(extent, 2):
            ea, eb = extent[a], extent[b]
            if ea != eb and ea[0] < eb[2] and eb[0] < ea[2] and ea[1] < eb[3] and eb[1] < ea[3]:
                union = (min(ea[0], eb[0]), min(ea[1], eb[1]), max(ea[2], eb[2]),
                         max(ea[3], eb[3]))
                extent = {k: union if v in (ea, eb) else v for k, v in extent.items()}
                merged = True
                break
    return extent


def check_window_size(size_m: int) -> None:
    """ValueError unless a window of this side fits the tiles' 60 m lattice and a tile."""
    if size_m <= 0 or size_m % TILE_LATTICE_M or size_m > TILE_SIZE_M:
        raise ValueError(f"size_m must be a multiple of {TILE_LATTICE_M} m up to {TILE_SIZE_M}")


def build_demo_archive(archive_dir: Path, *, start: date = DEMO_START, end: date = DEMO_END,
                       tiles: Sequence[str] = DEMO_TILES, size_m: int | None = None,
                       extent_m: tuple[float, float] | None = None,
                       seed: int = 0, workers: int = 1,
                       progress: Callable[[int, int], None] | None = None) -> list[Path]:
    """Write demo L2A scenes of `tiles` from start to end; return the STAC Item paths.
    `progress(done, total)` is told of each pass written (passes, not scenes: a pass writes
    the scenes of one acquisition day).

    The windows are `size_m` square (default `DEMO_SIZE_M`) or, given `extent_m` = (width,
    height) instead, as large as needed to cover that extent around each area's centre
    (`size_for_extent`, `extent_bbox`). With workers > 1 the passes are shared out to that many
    processes (writing COGs holds the GIL in rasterio, so threads gain nothing). Every scene
    depends only on its pass, window and seed, so the archive is byte-identical whatever the
    number of workers.

    Scenes already in `archive_dir` stay: build two ranges into one folder with two calls. A
    day in both ranges is written twice, and may differ (each range has one nearly clear and
    one mostly cloudy date forced, see `acquisitions`).
    """
    if extent_m is not None:
        if size_m is not None:
            raise ValueError("give the window size or the extent, not both")
        size_m = size_for_extent(tiles, *extent_m)
    size_m = DEMO_SIZE_M if size_m is None else size_m
    check_window_size(size_m)
    if end < start:
        raise ValueError("end is before start")
    windows = demo_windows(tiles, size_m)
    extents = _groups({w.key: w.grid for w in windows})
    passes = acquisitions(start, end, seed)
    args = (repeat(Path(archive_dir)), repeat(windows), repeat(extents), passes, repeat(seed))
    report = progress or (lambda done, total: None)
    written: list[list[Path]] = []
    if workers <= 1 or len(passes) <= 1:
        for paths in map(_write_pass, *args):
            written.append(paths)
            report(len(written), len(passes))
    else:
        with ProcessPoolExecutor(max_workers=min(workers, len(passes))) as pool:
            for paths in pool.map(_write_pass, *args):
                written.append(paths)
                report(len(written), len(passes))
    return sorted(path for paths in written for path in paths)


def _write_pass(archive: Path, windows: list[Window],
                extents: dict[str, tuple[float, float, float, float]], acq: Acquisition,
                seed: int) -> list[Path]:
    """Every scene of one pass (one sky per group of overlapping windows)."""
    skies: dict[tuple[float, ...], ds.Sky] = {}
    paths = []
    with rasterio.Env():  # one GDAL environment for all the files
        for w in windows:
            if extents[w.key] not in skies:
                skies[extents[w.key]] = _sky(seed, acq, extents[w.key])
            static = _static(seed, w.grid.epsg, w.grid.x0, w.grid.y0, w.grid.size_m,
                             changes.events_by(acq.day))
            paths.append(_write_scene(archive, w, acq, skies[extents[w.key]], static, seed))
    return paths


def _static(seed: int, epsg: int, x0: float, y0: float, size_m: int,
            events: tuple[changes.ChangeEvent, ...] = ()) -> dict[str, np.ndarray]:
    """The land cover of a window once `events` have happened (none: the static landscape)."""
    if not events:
        return _landscape(seed, epsg, x0, y0, size_m)
    return _changed(seed, epsg, x0, y0, size_m, events)


@lru_cache(maxsize=8)
def _landscape(seed: int, epsg: int, x0: float, y0: float, size_m: int
               ) -> dict[str, np.ndarray]:
    """The static land cover of a window (cached: the same for every pass)."""
    return ds.Landscape(seed).classes(ds.SceneGrid(epsg, x0, y0, size_m))


@lru_cache(maxsize=8)
def _changed(seed: int, epsg: int, x0: float, y0: float, size_m: int,
             events: tuple[changes.ChangeEvent, ...]) -> dict[str, np.ndarray]:
    """The land cover of a window after `events` (cached: one state for all passes after)."""
    return changes.apply_events(_landscape(seed, epsg, x0, y0, size_m),
                                ds.SceneGrid(epsg, x0, y0, size_m), events)


def _sky(seed: int, acq: Acquisition, extent: tuple[float, float, float, float]) -> ds.Sky:
    """The acquisition's sky over one group, sun taken at the group's centre."""
    lon, lat = ds.lonlat_from_world((extent[0] + extent[2]) / 2, (extent[1] + extent[3]) / 2)
    sun = ds.sun_angles(acq.sensing, float(lon), float(lat))
    return ds.make_sky(seed, acq.day.toordinal(), acq.cover, extent, sun,
                       acq.day.timetuple().tm_yday, float(lat))


def item_id(t: Tile, acq: Acquisition, seq: int = 0) -> str:
    """Earth Search style item id, e.g. S2A_29UNU_20230602_0_L2A (seq: the 0)."""
    return f"{acq.platform}_{t.id}_{acq.day:%Y%m%d}_{seq}_L2A"


def render_scene(t: Tile, grid: ds.SceneGrid, acq: Acquisition, sky: ds.Sky,
                 static: dict[str, np.ndarray], seed: int) -> dict[str, Any]:
    """All rasters of one scene: DN per band, SCL, AOT DN, truth reflectance and cloud."""
    atm = sky.layers(grid)
    doy = acq.day.timetuple().tm_yday
    southern = t.epsg // 100 == 327  # UTM south
    truth10 = ds.surface_reflectance(static, doy, southern, atm["snow"])
    obs = ds.observe(truth10, atm, sky, ds.observation_noise(grid, seed, sky.key))
    # Each granule retrieves its own AOT, so the same acquisition differs slightly per tile.
    bias = 0.015 * (2 * float(ds.unit(ds.hash64(seed, sky.key, _tile_key(t)))) - 1)
    obs *= 1 - bias * _AOT_SENSITIVITY
    scl_noise = ds.unit(ds.hash64(grid.pixel_hash(20), seed, sky.key))
    truth20 = ds.aggregate(truth10, 2)
    scl, cloud = ds.scene_classification(static, truth20, atm, sky, scl_noise)
    offset = l2a.boa_offset_dn(acq.baseline)
    bands = {}
    for b, band in enumerate(l2a.BANDS):
        refl = ds.aggregate(obs[b], band.native_m // 10)
        dn = np.clip(np.rint(refl * l2a.QUANTIFICATION_VALUE) - offset, 1, 65535)
        bands[band.name] = np.where(atm[f"nodata{band.native_m}"], 0, dn).astype(np.uint16)
    aot = np.clip(np.rint((atm["aot"] + bias) * 1000), 1, 65535)
    # Truth on a 2^-14 grid (error < 3e-5, under half a DN step): zero low mantissa bits halve
    # the file size.
    truth = (np.rint(truth20 * _TRUTH_STEPS) / _TRUTH_STEPS).astype(np.float32)
    cld, snw = ds.probabilities(static, atm, sky, scl, scl_noise)
    return {"bands": bands, "scl": scl, "cloud": cloud, "truth": truth, "cld": cld, "snw": snw,
            "aot": np.where(atm["nodata20"], 0, aot).astype(np.uint16),
            "valid": ~atm["nodata20"]}


def _tile_key(t: Tile) -> int:
    return int.from_bytes(t.id.encode(), "big")


def _write_scene(archive: Path, w: Window, acq: Acquisition, sky: ds.Sky,
                 static: dict[str, np.ndarray], seed: int) -> Path:
    """Render one scene and write its COGs and STAC Item; return the Item path."""
    t, grid = w.tile, w.grid
    r = render_scene(t, grid, acq, sky, static, seed)
    iid = item_id(t, acq, w.seq)
    folder = archive / COLLECTION / iid
    (folder / "truth").mkdir(parents=True, exist_ok=True)
    for band in l2a.BANDS:
        write_cog(folder / f"{band.name}.tif", r["bands"][band.name], grid, band.native_m,
                  [band.name], nodata=0)
    write_cog(folder / "SCL.tif", r["scl"], grid, 20, ["SCL"], nodata=0, categorical=True)
    write_cog(folder / "AOT.tif", r["aot"], grid, 20, ["AOT"], nodata=0)
    write_cog(folder / "CLD.tif", r["cld"], grid, 20, ["CLD"], nodata=255, categorical=True)
    write_cog(folder / "SNW.tif", r["snw"], grid, 20, ["SNW"], nodata=255, categorical=True)
    (folder / "angles.json").write_text(
        json.dumps(angles_document(t, acq), separators=(",", ":")) + "\n")
    write_cog(folder / "truth" / "reflectance.tif", r["truth"], grid, 20, list(l2a.BAND_NAMES))
    write_cog(folder / "truth" / "cloud.tif", r["cloud"], grid, 20, ["cloud"], categorical=True)
    item = stac_item(t, grid, acq, sky, r, w.seq)
    path = folder / f"{iid}.json"
    path.write_text(json.dumps(item, indent=1) + "\n")
    return path


def angles_document(t: Tile, acq: Acquisition) -> dict[str, Any]:
    """5 km sun and mean view angle grids of a tile on a pass, as `safe.angles_document`.

    Sun from the sensing time and each node's position (NOAA formulas); view zenith from the
    node's distance to the nadir line (`angles.incidence_zenith`), view azimuth toward the
    satellite, perpendicular to the track. One mean over the bands: no per-band grids.
    """
    lon, lat = _angle_nodes(t.id)
    sun_zen, sun_az = np.empty(lon.shape), np.empty(lon.shape)
    for idx in np.ndindex(lon.shape):
        az, elevation = ds.sun_angles(acq.sensing, float(lon[idx]), float(lat[idx]))
        sun_zen[idx], sun_az[idx] = 90.0 - elevation, az
    wx, wy = ds.world_xy(lon, lat)
    nx, ny = _nadir_point()
    a = np.radians(_TRACK_RIGHT_AZIMUTH - 180.0)  # unit vector from the track to the east side
    d = (wx - nx) * math.sin(a) + (wy - ny) * math.cos(a)
    view_az = np.where(d >= 0, _TRACK_RIGHT_AZIMUTH, _TRACK_RIGHT_AZIMUTH - 180.0)

    def grid(values: np.ndarray) -> list[list[float]]:
        return np.round(values, 4).tolist()

    return {"tile": t.id, "crs": t.crs, "ulx": t.ulx, "uly": t.uly,
            "col_step": _ANGLE_STEP_M, "row_step": _ANGLE_STEP_M,
            "sun_zenith": grid(sun_zen), "sun_azimuth": grid(sun_az),
            "view_zenith_mean": grid(incidence_zenith(d)), "view_azimuth_mean": grid(view_az),
            "view_zenith": {}, "view_azimuth": {}}


@lru_cache(maxsize=16)
def _angle_nodes(tile_id: str) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat of a tile's angle grid nodes."""
    t = tile(tile_id)
    x, y = node_grid(t.ulx, t.uly, _ANGLE_STEP_M, _ANGLE_NODES)
    lon, lat = Transformer.from_crs(t.epsg, 4326, always_xy=True).transform(x, y)
    return np.asarray(lon), np.asarray(lat)


@lru_cache(maxsize=1)
def _nadir_point() -> tuple[float, float]:
    """World-frame point of the nadir line: midway between the demo areas' centres."""
    lon, lat = Transformer.from_crs(32629, 4326, always_xy=True).transform(*DEMO_CENTER_32629)
    wx0, wy0 = ds.world_xy(lon, lat)
    wx1, wy1 = ds.world_xy(*DEMO_ZONE_BORDER_CENTER)
    return (wx0 + wx1) / 2, (wy0 + wy1) / 2


def write_cog(path: Path, data: np.ndarray, grid: ds.SceneGrid, res: int,
              descriptions: list[str], *, nodata: float | None = None,
              categorical: bool = False) -> None:
    """One Cloud-Optimized GeoTIFF (DEFLATE, band descriptions) on the tile's grid at `res`.

    Blocks of 256 px where one holds the whole raster, else 512 (blocks are padded to full
    size, so small windows write faster in small blocks).
    """
    data = data if data.ndim == 3 else data[None]
    floating = data.dtype.kind == "f"
    profile = {
        "driver": "COG", "width": data.shape[2], "height": data.shape[1], "count": data.shape[0],
        "dtype": data.dtype.name, "crs": f"EPSG:{grid.epsg}", "nodata": nodata,
        "transform": Affine(res, 0, grid.x0, 0, -res, grid.y0), "compress": "DEFLATE",
        "predictor": 3 if floating else 2,
        "blocksize": 256 if max(data.shape[1:]) <= 256 else 512,
        "resampling": "NEAREST" if categorical else "AVERAGE",
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        for i, text in enumerate(descriptions, start=1):
            dst.set_band_description(i, text)
        # How the overviews were made, in the default domain (the COG driver drops rasterio's
        # `rio_overview` namespace): the reader takes a 20 m mean of a 10 m band from an
        # overview only where this says AVERAGE (`archive.read`).
        dst.update_tags(OVERVIEW_RESAMPLING=profile["resampling"])


def _percentages(scl: np.ndarray) -> dict[str, float]:
    """Sen2Cor's per-class percentages (of valid pixels; no-data of all pixels) from SCL."""
    counts = np.bincount(scl.ravel(), minlength=12)
    valid = max(int(counts[1:].sum()), 1)
    names = {1: "saturated_defective", 2: "dark_features", 3: "cloud_shadow", 4: "vegetation",
             5: "not_vegetated", 6: "water", 7: "unclassified", 8: "medium_proba_clouds",
             9: "high_proba_clouds", 10: "thin_cirrus", 11: "snow_ice"}
    out = {"s2:nodata_pixel_percentage": round(100 * counts[0] / scl.size, 4)}
    out.update({f"s2:{n}_percentage": round(100 * counts[c] / valid, 4) for c, n in names.items()})
    return out


def stac_item(t: Tile, grid: ds.SceneGrid, acq: Acquisition, sky: ds.Sky,
              rendered: dict[str, Any], seq: int = 0) -> dict[str, Any]:
    """The scene's STAC Item (Earth Search style, band-named assets, relative hrefs)."""
    shape = ds.footprint(grid, sky)
    centre = shape.centroid
    azimuth, elevation = ds.sun_angles(acq.sensing, centre.x, centre.y)
    valid = rendered["valid"]
    cloud_pct = 100 * float(np.count_nonzero(rendered["cloud"][valid] == 1)) / max(valid.sum(), 1)
    offset = l2a.boa_offset_dn(acq.baseline)
    n_base = acq.baseline.replace(".", "")
    gen = f"{acq.generation:%Y%m%dT%H%M%S}"
    props = {
        "datetime": f"{acq.sensing:%Y-%m-%dT%H:%M:%S.%f}Z",
        "created": f"{acq.generation:%Y-%m-%dT%H:%M:%S}Z",
        "description": "Synthetic demo scene in the shape of a Sentinel-2 L2A product",
        "platform": f"sentinel-2{acq.platform[-1].lower()}",
        "constellation": "sentinel-2", "instruments": ["msi"],
        "eo:cloud_cover": round(cloud_pct, 4),
        "proj:epsg": t.epsg, "proj:code": t.crs,
        "mgrs:utm_zone": t.utm_zone, "mgrs:latitude_band": t.latitude_band,
        "mgrs:grid_square": t.grid_square, "grid:code": f"MGRS-{t.id}",
        "view:sun_azimuth": round(azimuth, 4), "view:sun_elevation": round(elevation, 4),
        "s2:product_type": "S2MSI2A", "s2:processing_baseline": acq.baseline,
        "s2:datatake_id": acq.datatake_id,
        "s2:product_uri": f"{acq.platform}_MSIL2A_{acq.sensing:%Y%m%dT%H%M%S}_N{n_base}"
                          f"_R{_RELATIVE_ORBIT:03d}_T{t.id}_{gen}.SAFE",
        "s2:granule_id": f"{acq.platform}_OPER_MSI_L2A_TL_2APS_{gen}_A{acq.absolute_orbit:06d}"
                         f"_T{t.id}_N{acq.baseline}",
        "s2:generation_time": f"{acq.generation:%Y-%m-%dT%H:%M:%S}Z",
        "s2:boa_add_offset": offset, "earthsearch:boa_offset_applied": False,
        **_percentages(rendered["scl"]),
    }
    return {
        "type": "Feature", "stac_version": STAC_VERSION, "stac_extensions": _EXTENSIONS,
        "id": item_id(t, acq, seq), "collection": COLLECTION,
        "geometry": _rounded(mapping(shape)), "bbox": [round(v, 7) for v in shape.bounds],
        "properties": props,
        "links": [{"rel": "license", "href": _LICENSE_URL}],
        "assets": _assets(grid, offset),
    }


def _rounded(geometry: Any) -> Any:
    """GeoJSON with coordinates rounded to 1e-7 degrees (~1 cm), as lists."""
    if isinstance(geometry, dict):
        return {k: _rounded(v) for k, v in geometry.items()}
    if isinstance(geometry, list | tuple):
        return [_rounded(v) for v in geometry]
    return round(geometry, 7) if isinstance(geometry, float) else geometry


def _eo_band(band: l2a.Band) -> dict[str, Any]:
    return {"name": band.name, "common_name": band.common_name, "description": band.description,
            "center_wavelength": band.center_nm / 1000}


def _raster_asset(grid: ds.SceneGrid, res: int, href: str, title: str, roles: list[str],
                  raster_bands: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    n = grid.size_m // res
    return {"href": href, "type": _COG_TYPE, "title": title, **extra, "gsd": res,
            "proj:shape": [n, n], "proj:transform": [res, 0, grid.x0, 0, -res, grid.y0],
            "raster:bands": raster_bands, "roles": roles}


def _assets(grid: ds.SceneGrid, offset_dn: int) -> dict[str, Any]:
    """Assets keyed by band name, then SCL, AOT and the truth rasters."""
    assets = {}
    for band in l2a.BANDS:
        raster = {"nodata": 0, "data_type": "uint16", "spatial_resolution": band.native_m,
                  "scale": 1 / l2a.QUANTIFICATION_VALUE,
                  "offset": offset_dn / l2a.QUANTIFICATION_VALUE}
        assets[band.name] = _raster_asset(
            grid, band.native_m, f"./{band.name}.tif",
            f"{band.description.capitalize()} ({band.name}) - {band.native_m}m",
            ["data", "reflectance"], [raster], **{"eo:bands": [_eo_band(band)]})
    assets["SCL"] = _raster_asset(grid, 20, "./SCL.tif", "Scene classification map (SCL)",
                                  ["data"], [{"nodata": 0, "data_type": "uint8",
                                              "spatial_resolution": 20}])
    assets["AOT"] = _raster_asset(grid, 20, "./AOT.tif", "Aerosol optical thickness (AOT)",
                                  ["data"], [{"nodata": 0, "data_type": "uint16",
                                              "spatial_resolution": 20, "scale": 0.001,
                                              "offset": 0}])
    for key, what in (("CLD", "Cloud"), ("SNW", "Snow")):
        assets[key] = _raster_asset(
            grid, 20, f"./{key}.tif", f"{what} probability (%) - 20m", ["data"],
            [{"nodata": 255, "data_type": "uint8", "spatial_resolution": 20, "unit": "%"}])
    assets["angles"] = {
        "href": "./angles.json", "type": "application/json",
        "title": "Sun and viewing incidence angle grids (5 km)", "roles": ["metadata"]}
    assets["truth_reflectance"] = _raster_asset(
        grid, 20, "./truth/reflectance.tif", "True clear-sky reflectance (synthetic truth)",
        ["truth"], [{"data_type": "float32", "spatial_resolution": 20} for _ in l2a.BANDS],
        **{"eo:bands": [_eo_band(b) for b in l2a.BANDS]})
    assets["truth_cloud"] = _raster_asset(
        grid, 20, "./truth/cloud.tif", "True cloud mask: 0 clear, 1 cloud, 2 cloud shadow",
        ["truth"], [{"data_type": "uint8", "spatial_resolution": 20}])
    return assets


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: python -m compositing.demo.archive ARCHIVE_DIR [--start --end --tiles ...]."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archive_dir", type=Path)
    parser.add_argument("--start", type=date.fromisoformat, default=FULL_START)
    parser.add_argument("--end", type=date.fromisoformat, default=FULL_END)
    parser.add_argument("--tiles", default=",".join(FULL_TILES))
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--size-m", type=int, default=None,
                      help=f"side of each scene's window in metres (default {FULL_SIZE_M})")
    size.add_argument("--extent-km", type=float, nargs=2, metavar=("WIDTH", "HEIGHT"),
                      help="windows large enough to cover WIDTH x HEIGHT km around the centre "
                           "of each demo area")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    extent = None if args.extent_km is None else (1000 * args.extent_km[0],
                                                  1000 * args.extent_km[1])
    try:
        paths = build_demo_archive(
            args.archive_dir, start=args.start, end=args.end,
            tiles=[t for t in args.tiles.split(",") if t],
            size_m=FULL_SIZE_M if args.size_m is None and extent is None else args.size_m,
            extent_m=extent, seed=args.seed, workers=args.workers)
    except ValueError as exc:
        parser.error(str(exc))
    print(f"wrote {len(paths)} items under {args.archive_dir / COLLECTION}")


if __name__ == "__main__":
    main()
