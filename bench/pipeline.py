"""Whole orders on demo archives against the single-thread windowed read floor of their windows.

For month, quarter and year (June 2023, Q2 2023, 2023) at 10 m and 20 m in EPSG:32629, over
square AOIs of 1x, 4x and 16x a base area centred on the demo centre, each on a year of demo
scenes that covers it (`manage.py make_demo_archive --extent-km`, built once under var/bench),
every order runs in a fresh process after the kernels' warm-up (`warmup.compile_kernels`, as a
worker runs it before its first order) and a warm-up order over a few pixels in that process, so
imports, numba's cache, the embedded STAC API and GDAL's drivers are not timed (the warm-up order
alone loads no STC kernel: its pixels all have enough observations for the medoid). Per order:

- wall: seconds of `run_mosaic` (search, read, composite, write, publish) and its phase split;
- floor: the single-thread windowed read floor of the same windows, in the same process right
  after the order: the windows the order read (logged by `files.logging_reads`) from the
  assets the selection needs (`stack_bands` of the ordered bands, and SCL with its halo), in
  the order's order, read again with plain `src.read(1, window=...)` on the file's own grid (no
  reprojection, no averaging) from datasets opened beforehand (opening is not timed), one
  thread. Blocks that neighbouring windows share come from GDAL's block cache, as they may for
  the order. Not in the floor: AOT (read where granules overlap) and angles, the output.
  Then the same windows on as many threads as the order reads with, each file on one thread
  (`thr fl/fl`): what plain decoding gains from the cores, the bound of wall / floor;
- wall / floor, the cores the order kept busy (its CPU seconds per wall second), output
  kpx/s, ns per output pixel and observation, and the order's peak RSS
  (the process's high-water mark, reset after the warm-up; the process at rest is `base`);
- the largest chunk's side (`chunk`, the square root of its pixels): the peak is bound by the
  chunk (two chunk stacks are alive at once), and chunks are cut on the inputs' block grid
  (`archive.blocks`), so a 1x AOI of one chunk's size is usually cut into two to four smaller
  ones; compare peaks between rows of the same `chunk`.

Then the time of a whole tile-year, extrapolated from the yearly 10 m order of the largest AOI.

    DEBUG=1 .venv/bin/python bench/pipeline.py [--base-km 2] [--chunk 512] [--scales 1,4,16]
                                               [--periods year] [--resolutions 10] [--full]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from _demo_hub import REPO, ensure_extent_archive, setup_django
from rasterio.io import DatasetReader
from rasterio.windows import Window

from compositing.archive.files import open_href, read_threads

PERIODS = ("month", "quarter", "year")
RESOLUTIONS = (10, 20)
START = "2023-06-01"  # June, Q2 and the year 2023 of the demo archives
ORDER = {"crs": "EPSG:32629", "bands": ["B02", "B03", "B04", "B08"],
         "aux": ["valid_obs", "method"]}
WARM_UP_M = 100  # side of the warm-up order's AOI
PHASES = ("search", "read", "composite", "write", "publish")
# Without --full the 16x AOI runs only these orders: with them the run takes about 12 minutes
# on 2 cores (archives built), the whole matrix about 18, the rest being the 16x quarter and
# 20 m orders (estimated from the 4x rows, which scale with the area).
LIMITED_16X = (("month", 10), ("year", 10))
# A whole tile-year: one MGRS tile (109.8 km square) at 10 m, about 60 usable acquisitions.
TILE_PX, TILE_OBS = 10980 * 10980, 60
_EPS = 1e-6


@dataclass(frozen=True)
class Floor:
    """What the floor read: seconds, windows, pixels, bytes, distinct files, and the windows'
    area in square metres (halo included)."""

    seconds: float
    reads: int
    pixels: int
    nbytes: int
    files: int
    area_m2: float
    # The same reads on the order's number of reading threads, each file read by one thread
    # as the order's are: what the cores give plain decoding, the bound of any order.
    threaded_seconds: float = math.nan
    threads: int = 1


def read_floor(log: Sequence[tuple[str, Window]], hrefs: set[str]) -> Floor:
    """The single-thread windowed read floor of an order (see the module docstring): the
    windows the order read from the files in `hrefs`, in its order, every file opened first,
    then only the reads timed."""
    plan = [(href, window) for href, window in log if href.partition("\0")[0] in hrefs]
    datasets: dict[str, DatasetReader] = {}
    try:
        for href, _ in plan:
            if href not in datasets:
                datasets[href] = open_href(href)
        pixels = nbytes = 0
        t0 = time.perf_counter()
        for href, window in plan:
            data = datasets[href].read(1, window=window)
            pixels += data.size
            nbytes += data.nbytes
        seconds = time.perf_counter() - t0
        threads = read_threads()
        threaded = _threaded_reads(plan, datasets, threads)
        res = {href: src.res[0] for href, src in datasets.items()}
    finally:
        for src in datasets.values():
            src.close()
    return Floor(seconds, len(plan), pixels, nbytes, len(datasets),
                 sum(w.width * w.height * res[href] ** 2 for href, w in plan), threaded, threads)


def _threaded_reads(plan: Sequence[tuple[str, Window]], datasets: dict[str, DatasetReader],
                    threads: int) -> float:
    """Seconds to read the plan's windows on `threads` threads, each file's windows in order
    on one thread, files given to the threads in turn as first seen (as `files.FileThreads`
    does; a dataset is used by one thread only)."""
    lanes: list[list[tuple[str, Window]]] = [[] for _ in range(threads)]
    owners: dict[str, int] = {}
    for href, window in plan:
        lanes[owners.setdefault(href, len(owners) % threads)].append((href, window))

    def read(lane: list[tuple[str, Window]]) -> None:
        for href, window in lane:
            datasets[href].read(1, window=window)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for done in [pool.submit(read, lane) for lane in lanes]:
            done.result()
    return time.perf_counter() - t0


def _memory_kb(field: str) -> int:
    """A field of /proc/self/status in kB (VmRSS: now, VmHWM: the high-water mark)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    raise LookupError(field)


def aoi_square(side_m: float) -> dict[str, Any]:
    """A GeoJSON lon/lat polygon of a square of this side in EPSG:32629 around the demo
    centre (moved onto the 20 m lattice, 10 m east), its edges densified (every 100 m at most,
    so that they stay straight in UTM within millimetres) and 1 m short: for a side in
    multiples of 40 m the grids are exactly side / 10 and side / 20 pixels wide."""
    import numpy as np
    from pyproj import Transformer

    from compositing.demo.archive import DEMO_CENTER_32629

    cx, cy = (20 * math.floor(v / 20 + 0.5) for v in DEMO_CENTER_32629)
    half = side_m / 2 - 0.5
    steps = np.linspace(-half, half, max(2, math.ceil(side_m / 100) + 1))[:-1]
    xs = np.concatenate([cx + steps, np.full_like(steps, cx + half), cx - steps,
                         np.full_like(steps, cx - half)])
    ys = np.concatenate([np.full_like(steps, cy - half), cy + steps,
                         np.full_like(steps, cy + half), cy - steps])
    lon, lat = Transformer.from_crs(32629, 4326, always_xy=True).transform(xs, ys)
    ring = [[float(a), float(b)] for a, b in zip(lon, lat, strict=True)]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def covering_extent_km(aoi: dict[str, Any]) -> float:
    """The side of the square demo extent (`make_demo_archive --extent-km`, centred on the
    demo centre too) that covers the AOI, rounded up to 10 m: in the extent's frame (east and
    north) the UTM square is turned by the grid convergence."""
    from pyproj import Transformer

    from compositing.demo.archive import DEMO_CENTER_32629
    from compositing.demo.scene import world_xy

    cx, cy = world_xy(*Transformer.from_crs(32629, 4326, always_xy=True)
                      .transform(*DEMO_CENTER_32629))
    reach = max(max(abs(x - cx), abs(y - cy))
                for x, y in (world_xy(lon, lat) for lon, lat in aoi["coordinates"][0]))
    return math.ceil(2 * reach / 10) / 100


def child(archive: Path, side_m: float, period: str, res: int, chunk: int | None) -> None:
    """One order in this process, after a warm-up; print its figures as one JSON line."""
    setup_django(archive)
    from dataclasses import replace

    from compositing.archive.files import logging_reads
    from compositing.archive.scenes import resolve_bands, search_scenes
    from compositing.orders.spec import parse_spec
    from compositing.pipeline import plan_mosaic, run_mosaic
    from compositing.selection.composite import stack_bands
    from compositing.selection.warmup import compile_kernels
    from hub.mosaics.services import mosaic_settings

    settings = mosaic_settings()
    if chunk:
        settings = replace(settings, chunk_size=chunk)

    def order(side: float) -> Any:
        return parse_spec({**ORDER, "aoi": aoi_square(side), "start": START, "period": period,
                           "resolution": res})

    spec = order(side_m)
    compile_kernels()
    with tempfile.TemporaryDirectory() as out:
        run_mosaic(order(WARM_UP_M), settings, Path(out), "warm-up")
        base_kb = _memory_kb("VmRSS")
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # resets VmHWM to the current RSS: the peak is the order's own
        timings: dict[str, float] = {}
        with logging_reads() as log:
            t0, cpu0 = time.perf_counter(), _cpu_seconds()
            result = run_mosaic(spec, settings, Path(out), "bench", timings=timings)
            wall = time.perf_counter() - t0
            cpu = _cpu_seconds() - cpu0
        peak_kb = _memory_kb("VmHWM")
    scenes = search_scenes(settings.archives, spec.aoi, spec.start, spec.end)
    bands = stack_bands(spec.bands)
    scenes, _ = resolve_bands(scenes, bands, spec.bands)
    floor = read_floor(log, {s.assets[key].href for s in scenes for key in (*bands, "SCL")
                             if key in s.assets})
    px = result.grid.width * result.grid.height
    largest = max(c.height * c.width for c in plan_mosaic(spec, settings).chunks())
    print(json.dumps({
        "chunk_side": math.sqrt(largest),
        "px": px, "obs": result.observations,
        "chunks": result.chunks, "wall": wall, "cpu": cpu,
        "timings": timings, "peak_mb": peak_kb / 1024, "base_mb": base_kb / 1024,
        "floor": asdict(floor), "granules": len(scenes),
        # How many granules an acquisition is read from, per output pixel (halo included).
        "granules_per_px": floor.area_m2 / spec.resolution ** 2
        / (px * result.observations * (len(bands) + 1))}))


def _cpu_seconds() -> float:
    """User and system CPU seconds of this process so far, all its threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(archive: Path, side_m: float, period: str, res: int, chunk: int | None) -> dict:
    """One order in a fresh process."""
    command = [sys.executable, __file__, "--child", str(archive), str(side_m), period, str(res)]
    if chunk:
        command += ["--chunk", str(chunk)]
    out = subprocess.run(command, capture_output=True, text=True, cwd=REPO,
                         env={**os.environ, "DEBUG": "1"})
    if out.returncode:
        sys.exit(f"order {period} {res} m over {side_m:g} m failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunk", type=int, default=None,
                        help="chunk size in px (default: the hub's HUB_CHUNK_SIZE)")
    parser.add_argument("--base-km", type=float, default=None,
                        help="side of the 1x AOI (default: one chunk's side at 10 m; the "
                             "block-aligned layout cuts it into smaller chunks, see `chunk`)")
    parser.add_argument("--scales", default="1,4,16", help="AOI areas, in base areas")
    parser.add_argument("--periods", default=",".join(PERIODS), help="periods to order")
    parser.add_argument("--resolutions", default=",".join(map(str, RESOLUTIONS)),
                        help="resolutions to order, in m")
    parser.add_argument("--full", action="store_true",
                        help="every period and resolution at 16x too (about 18 min in all)")
    parser.add_argument("--child", nargs=4, metavar=("ARCHIVE", "SIDE_M", "PERIOD", "RES"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        archive, side, period, res = args.child
        child(Path(archive), float(side), period, int(res), args.chunk)
        return
    started = time.perf_counter()
    scales = [int(s) for s in args.scales.split(",")]
    chunk = args.chunk or _hub_chunk_size()
    base_km = args.base_km or chunk * 10 / 1000
    archives = {}
    for scale in scales:  # built before anything is timed
        side_km = base_km * math.sqrt(scale)
        extent = covering_extent_km(aoi_square(side_km * 1000))
        archives[scale] = (side_km, ensure_extent_archive(extent, extent))
    print(f"\nOrders over 1x = {base_km:g} x {base_km:g} km around the demo centre, "
          f"EPSG:32629, bands {','.join(ORDER['bands'])}, aux {','.join(ORDER['aux'])}, "
          f"{chunk} px chunks, {os.cpu_count()} CPUs. Each order in a fresh process after a "
          f"warm-up order; floor = single-thread windowed reads of the windows the order "
          f"read (selection bands, SCL with its halo; open datasets, no reprojection). Load "
          f"average before: {os.getloadavg()[0]:.1f} (other processes share the cores).")
    if 16 in scales and not args.full:
        print("16x: only " + ", ".join(f"{p} {r} m" for p, r in LIMITED_16X)
              + " (the whole matrix takes over 15 min on 2 cores; --full runs it).")
    head = (f"{'AOI':>9} {'period':>7} {'res':>4} {'px':>8} {'obs':>4} {'chunks':>6} "
            f"{'wall s':>7} {'floor s':>7} {'wall/fl':>7} {'cores':>5} {'kpx/s':>7} "
            f"{'ns/px/ob':>8} "
            f"{'peak MB':>7} {'base MB':>7} {'chunk':>5} | " + " ".join(f"{p:>9}" for p in PHASES)
            + f" | {'fl reads':>8} {'fl MiB':>7} {'fl MiB/s':>8} {'thr fl/fl':>9}")
    print(head)
    print("-" * len(head))
    rows: list[tuple[int, str, int, dict]] = []
    for scale in scales:
        side_km, archive = archives[scale]
        for period in args.periods.split(","):
            for res in map(int, args.resolutions.split(",")):
                if scale == 16 and not args.full and (period, res) not in LIMITED_16X:
                    continue
                r = run(archive, side_km * 1000, period, res, args.chunk)
                rows.append((scale, period, res, r))
                print(_row(f"{scale}x {side_km:g}km", period, res, r), flush=True)
    print("\nthr fl/fl: the same windows read on as many threads as the order reads with "
          "(each file on one), over one thread: the least wall/fl that reading alone allows "
          "on this machine.")
    print("wall/fl < 1: the order beats one thread's windowed reads of its inputs. Peak RSS of "
          "the yearly 10 m orders: " + ", ".join(
              f"{s}x {r['peak_mb']:.0f} MB (largest chunk {r['chunk_side']:.0f} px square)"
              for s, p, res, r in rows if p == "year" and res == 10)
          + ": bound by the chunk, so flat between AOIs whose largest chunks are alike.")
    _tile_year(rows)
    print(f"\nbench/pipeline.py took {(time.perf_counter() - started) / 60:.1f} min "
          f"(archives included); load average after: {os.getloadavg()[0]:.1f}")


def _hub_chunk_size() -> int:
    """The hub's default chunk size (its settings module reads the environment)."""
    from hub import settings

    return settings.HUB_CHUNK_SIZE


def _row(label: str, period: str, res: int, r: dict) -> str:
    fl = r["floor"]
    shares = " ".join(f"{100 * r['timings'].get(p, 0) / r['wall']:8.1f}%" for p in PHASES)
    return (f"{label:>9} {period:>7} {res:>3}m {r['px']:8d} {r['obs']:4d} {r['chunks']:6d} "
            f"{r['wall']:7.2f} {fl['seconds']:7.2f} {r['wall'] / fl['seconds']:7.2f} "
            f"{r['cpu'] / r['wall']:5.2f} {r['px'] / r['wall'] / 1000:7.1f} "
            f"{1e9 * r['wall'] / (r['px'] * r['obs']):8.0f} "
            f"{r['peak_mb']:7.0f} {r['base_mb']:7.0f} {r['chunk_side']:5.0f} | {shares} | "
            f"{fl['reads']:8d} "
            f"{fl['nbytes'] / 2**20:7.1f} {fl['nbytes'] / 2**20 / fl['seconds']:8.1f} "
            f"{fl['threaded_seconds'] / fl['seconds']:9.2f}")


def _tile_year(rows: list[tuple[int, str, int, dict]]) -> None:
    """The estimate for one tile-year from the largest yearly 10 m order measured."""
    yearly = [(scale, r) for scale, period, res, r in rows if period == "year" and res == 10]
    if not yearly:
        return
    scale, r = yearly[-1]
    per_px_obs = r["wall"] / (r["px"] * r["obs"])
    floor_per_px_obs = r["floor"]["seconds"] / (r["px"] * r["obs"])
    print(f"\nTile-year estimate (109.8 x 109.8 km at 10 m = {TILE_PX / 1e6:.1f} Mpx, "
          f"{TILE_OBS} acquisitions), from the yearly 10 m order over the {scale}x AOI "
          f"({r['px'] / 1e3:.0f} kpx x {r['obs']} acquisitions, {r['granules']} granules):")
    print(f"  order: {1e9 * per_px_obs:.0f} ns per output px and acquisition -> "
          f"{per_px_obs * TILE_PX * TILE_OBS / 3600:.2f} h on one worker "
          f"(single-thread windowed read floor: "
          f"{floor_per_px_obs * TILE_PX * TILE_OBS / 3600:.2f} h)")
    print("  assumes: time grows with output px x acquisitions (compare the ns/px/ob column "
          "across AOIs); the same bands, chunk size and one worker on this machine; files on "
          "local disk, in the page cache; the demo's deflate COGs (512 px blocks, synthetic "
          "scenes that compress better than real ones).")
    print(f"  The demo AOI straddles the 29UNU/29UPU overlap: an acquisition is read from "
          f"{r['granules_per_px']:.2f} granules per output px on average (halo included), where "
          f"a tile's interior has one, so the reads are an upper bound.")


if __name__ == "__main__":
    main()
