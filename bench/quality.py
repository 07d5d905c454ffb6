"""Composite quality against the demo archive's ground truth, beside simple baselines.

Builds (once, under var/bench/) a year of demo scenes over two overlapping tiles, then for every
month, quarter and the year composites a 2 km AOI at 20 m and reports, per method:
  clear %   share of pixels whose chosen observation is truly clear (true cloud mask)
  RMSE      reflectance RMSE (medoid bands) against the period's true clear-sky median
Baselines a user might pick instead: the most recent valid observation, the least cloudy scene
as a whole, and a per-band median of the valid observations (not an observation: no clear %).
Rows "recent @med" and "cloudless @med" are the first two baselines on the medoid's pixels only
(the like-for-like comparison). Rows "stc: cloud" and "stc: shadow" give, in the clear %
column, the share of STC pixels whose chosen observation is truly cloud or truly cloud shadow.

The STC prefers observations away from detected clouds (docs/ATBD.md); `--atbd-stc` turns that
off to measure the decision tree exactly as the ATBD prints it.

Then change detection (issue 17): change orders of July 2022 against July 2023 over the demo's
known changes (`compositing.demo.changes`: a forest clearing, a new reservoir and a burn scar on
2023-03-15, in an archive of both Julys built once under var/bench/), run by the pipeline as
the hub runs them, at 10 m and 20 m and three confidences. Against the truth on the product's
grid (pixels changed by at least half; edge pixels changed in part are scored neither way):
  precision   changed-and-detected / detected
  recall      changed-and-detected / changed (and per event)
  false %     detected / unchanged pixels: the false-change rate
Goal at the default confidence: recall >= 0.9, false-change rate <= 1 %.

    DEBUG=1 .venv/bin/python bench/quality.py [--buffer N] [--atbd-stc] [--size-m M] [--year Y]
                                              [--only composite|change]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT

from compositing import l2a
from compositing.archive.read import Stack, read_stack
from compositing.archive.scenes import Observation, group_acquisitions, scene_from_item
from compositing.archive.store import LocalArchive
from compositing.change import DEFAULT_CONFIDENCE
from compositing.demo.archive import DEMO_CENTER_32629, build_demo_archive
from compositing.demo.changes import (
    CHANGE_AOI_BBOX,
    CHANGE_AOI_SIZE_M,
    CHANGE_EVENTS,
    change_labels,
)
from compositing.grid import Chunk, OutputGrid
from compositing.orders.periods import next_period_start, period_bounds
from compositing.selection.composite import select, stack_bands
from compositing.selection.mask import stc_clear_px, valid_mask
from compositing.selection.methods import METHOD_MEDOID, METHOD_STC

REPO = Path(__file__).resolve().parents[1]
AOI_HALF_M = 1000
RES = 20
TARGETS = {"medoid": 99.5, "stc": 95.0}


@dataclass
class Truth:
    cloud: np.ndarray  # (t, y, x) uint8: 0 clear, 1 cloud, 2 shadow; 255 unknown
    refl: np.ndarray  # (t, band, y, x) float32 true clear-sky reflectance of MEDOID_BANDS


def archive_for(year: int, size_m: int) -> Path:
    """A cached year-long demo archive."""
    folder = REPO / "var" / "bench" / f"archive-{year}-{size_m}"
    if not any(folder.glob("*/*/*.json")):
        t0 = time.perf_counter()
        build_demo_archive(folder, start=date(year, 1, 1), end=date(year, 12, 31), size_m=size_m)
        print(f"built {folder} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return folder


def aoi_grid() -> tuple[OutputGrid, Chunk]:
    cx, cy = DEMO_CENTER_32629
    n = 2 * AOI_HALF_M // RES
    grid = OutputGrid(32629, Affine(RES, 0, cx - AOI_HALF_M, 0, -RES, cy + AOI_HALF_M), n, n)
    return grid, next(grid.chunks(n))


def observations(catalog: LocalArchive, start: date, end: date) -> tuple[list[Observation],
                                                                          dict[str, dict]]:
    page = catalog.search(bbox=[-7.6, 52.6, -7.3, 52.9], limit=1000,
                          datetime=f"{start.isoformat()}/{end.isoformat()}T23:59:59Z")
    items = {item["id"]: item for item in page.items}
    return group_acquisitions(scene_from_item(i) for i in page.items), items


def read_truth(obs: list[Observation], items: dict[str, dict], stack: Stack, grid: OutputGrid,
               chunk: Chunk) -> Truth:
    """True cloud mask and clear-sky reflectance of each stacked observation on the chunk.

    Each granule's truth covers only its window; the windows of one acquisition are merged.
    """
    h, w = chunk.shape
    bands = [l2a.BAND_NAMES.index(b) + 1 for b in l2a.MEDOID_BANDS]
    cloud = np.full((len(stack.obs_index), h, w), 255, np.uint8)
    refl = np.full((len(stack.obs_index), len(bands), h, w), np.nan, np.float32)
    for t, i in enumerate(stack.obs_index):
        for scene in obs[i].scenes:
            assets = items[scene.id]["assets"]
            c = _warp(assets["truth_cloud"]["href"], [1], grid, chunk, 255)[0]
            fill = (cloud[t] == 255) & (c != 255)
            cloud[t][fill] = c[fill]
            r = _warp(assets["truth_reflectance"]["href"], bands, grid, chunk, np.nan)
            refl[t][:, fill] = r[:, fill]
    return Truth(cloud, refl)


def _warp(href: str, bands: list[int], grid: OutputGrid, chunk: Chunk,
          outside: float) -> np.ndarray:
    """Bands of a truth raster on the chunk grid, `outside` beyond the raster's extent."""
    with rasterio.open(href) as src, WarpedVRT(src, crs=grid.crs, transform=chunk.transform,
                                               width=chunk.width, height=chunk.height,
                                               resampling=Resampling.nearest,
                                               nodata=outside) as vrt:
        return vrt.read(bands)


def pick(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """values (t, ...) at a per-pixel time index (-1: NaN)."""
    idx = np.clip(index, 0, None)[None]
    if values.ndim == 4:
        out = np.take_along_axis(values, idx[:, None].repeat(values.shape[1], 1), 0)[0]
        return np.where(index[None] >= 0, out, np.nan)
    return np.where(index >= 0, np.take_along_axis(values, idx, 0)[0], np.nan)


def evaluate(name: str, index: np.ndarray | None, refl: np.ndarray, truth: Truth,
             target: np.ndarray, where: np.ndarray) -> tuple[str, float, float, int]:
    """(method, clear %, RMSE, pixels) over the pixels `where`."""
    if index is None:  # a blend, not an observation
        clear = float("nan")
    else:
        chosen = pick(truth.cloud, index)
        clear = 100.0 * float((chosen[where] == 0).mean()) if where.any() else float("nan")
    diff = (refl - target)[:, where]
    rmse = float(np.sqrt(np.nanmean(diff ** 2))) if where.any() else float("nan")
    return name, clear, rmse, int(where.sum())


def product_rows(catalog: LocalArchive, start: date, end: date, buffer_px: int,
                 atbd_stc: bool = False) -> list[tuple]:
    obs, items = observations(catalog, start, end)
    grid, chunk = aoi_grid()
    clear_px = 0 if atbd_stc else stc_clear_px(RES)
    halo = max(buffer_px, clear_px)  # as the pipeline reads it
    stack = read_stack(obs, stack_bands(l2a.MEDOID_BANDS), grid, chunk.expanded(halo), RES)
    sel = select(stack, buffer_px=buffer_px, stc_clear_px=clear_px).crop(halo)
    stack = stack.crop(halo)
    truth = read_truth(obs, items, stack, grid, chunk)
    pos = [stack.band_names.index(b) for b in l2a.MEDOID_BANDS]
    refl = stack.refl[:, pos]
    target = np.nanmedian(truth.refl, axis=0)  # the period's true clear-sky median
    valid = valid_mask(stack.refl, stack.scl, stack.band_names)
    has_valid = valid.any(axis=0)
    rows = []
    for method, label in ((METHOD_MEDOID, "medoid"), (METHOD_STC, "stc")):
        where = sel.method == method
        rows.append(evaluate(label, sel.index, pick(refl, sel.index), truth, target, where))
    chosen_truth = pick(truth.cloud, sel.index)
    stc = sel.method == METHOD_STC
    for cls, label in ((1, "stc: cloud"), (2, "stc: shadow")):
        # Not-clear STC picks by true class, as a share of STC pixels (no RMSE).
        share = 100.0 * float((chosen_truth[stc] == cls).mean()) if stc.any() else float("nan")
        rows.append((label, share, float("nan"), int(stc.sum())))
    chosen = sel.index >= 0
    rows.append(evaluate("hub (all)", sel.index, pick(refl, sel.index), truth, target, chosen))
    t_idx = np.arange(valid.shape[0])[:, None, None]
    recent = np.where(has_valid, np.where(valid, t_idx, -1).max(axis=0), -1).astype(np.int16)
    rows.append(evaluate("most recent", recent, pick(refl, recent), truth, target, chosen))
    cover = [np.mean([items[s.id]["properties"]["eo:cloud_cover"] for s in obs[i].scenes])
             for i in stack.obs_index]
    best = int(np.argmin(cover))
    whole = np.where(stack.scl[best] > 0, best, -1).astype(np.int16)
    rows.append(evaluate("least cloudy", whole, pick(refl, whole), truth, target,
                         chosen & (whole >= 0)))
    # The same baselines on the medoid's own pixels: the like-for-like comparison.
    on_medoid = sel.method == METHOD_MEDOID
    rows.append(evaluate("recent @med", recent, pick(refl, recent), truth, target, on_medoid))
    rows.append(evaluate("cloudless @med", whole, pick(refl, whole), truth, target,
                         on_medoid & (whole >= 0)))
    with np.errstate(all="ignore"):
        median = np.nanmedian(np.where(valid[:, None], refl, np.nan), axis=0)
    rows.append(evaluate("band median", None, median, truth, target, chosen))
    return rows


def periods(year: int) -> list[tuple[str, date, date]]:
    out = []
    for kind in ("month", "quarter", "year"):
        day = date(year, 1, 1)
        while day.year == year:
            start, end = period_bounds(kind, day)
            out.append((f"{kind[0].upper()} {start:%Y-%m-%d}", start, end))
            day = next_period_start(kind, day)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--year", type=int, default=2023)
    parser.add_argument("--size-m", type=int, default=2400)
    parser.add_argument("--buffer", type=int, default=0, help="cloud/shadow dilation in px")
    parser.add_argument("--atbd-stc", action="store_true",
                        help="STC without the preference for observations away from clouds")
    parser.add_argument("--only", choices=("composite", "change"))
    args = parser.parse_args()
    if args.only != "change":
        composite_quality(args)
    if args.only != "composite":
        change_quality()


def composite_quality(args: argparse.Namespace) -> None:
    catalog = LocalArchive(archive_for(args.year, args.size_m))
    print(f"{'product':<14} {'method':<14} {'clear %':>8} {'RMSE':>8} {'pixels':>7}")
    totals: dict[str, list[tuple[float, int]]] = {}
    for label, start, end in periods(args.year):
        for name, clear, rmse, n in product_rows(catalog, start, end, args.buffer,
                                                 args.atbd_stc):
            print(f"{label:<14} {name:<14} {clear:8.2f} {rmse:8.4f} {n:7d}")
            totals.setdefault(name, []).append((clear, n))
    print("\nall products, pixel-weighted clear share:")
    shares: dict[str, float] = {}
    for name, parts in totals.items():
        n = sum(p[1] for p in parts)
        known = [(c, k) for c, k in parts if not np.isnan(c)]
        share = sum(c * k for c, k in known) / n if known and n else float("nan")
        target = TARGETS.get(name)
        verdict = "" if target is None else (" PASS" if share >= target else " FAIL") + \
            f" (target >= {target} %)"
        print(f"  {name:<14} {share:7.2f} % of {n} px{verdict}")
        shares[name] = share
    rivals = {name: shares[name] for name in ("recent @med", "cloudless @med")}
    beaten = all(shares["medoid"] > share for share in rivals.values())
    print(f"medoid beats every baseline on its own pixels: {'PASS' if beaten else 'FAIL'} "
          f"({shares['medoid']:.2f} % vs " + ", ".join(f"{k} {v:.2f} %" for k, v in rivals.items())
          + "; the band median is not an observation, so it has no clear share)")


CHANGE_YEARS = ((date(2022, 7, 1), date(2022, 7, 31)), (date(2023, 7, 1), date(2023, 7, 31)))
CONFIDENCES = (0.99, DEFAULT_CONFIDENCE, 0.999999)
CHANGE_GOALS = {"recall": 0.9, "false_rate": 0.01}


def change_archive() -> Path:
    """Both Julys of the change events' area, built once (a stamp marks a finished build)."""
    archive = REPO / "var" / "bench" / f"archive-change-{CHANGE_AOI_SIZE_M}m"
    stamp = archive / ".built"
    if not stamp.exists():
        for start, end in CHANGE_YEARS:
            print(f"building demo scenes {start} to {end} in {archive} ...", file=sys.stderr)
            build_demo_archive(archive, start=start, end=end, size_m=CHANGE_AOI_SIZE_M,
                               workers=os.cpu_count() or 1)
        stamp.touch()
    return archive


def change_quality() -> None:
    """Precision, recall and false-change rate of change orders against the demo's truth."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _demo_hub import setup_django

    setup_django(change_archive())
    from compositing.orders.spec import parse_spec
    from compositing.pipeline import run_mosaic
    from hub.mosaics.services import mosaic_settings

    (before_start, before_end), (after_start, _) = CHANGE_YEARS
    print(f"\nchange: July {before_start.year} against July {after_start.year}, "
          f"{len(CHANGE_EVENTS)} events on {CHANGE_EVENTS[0].day}")
    print(f"{'res':>4} {'confidence':>10} {'precision':>9} {'recall':>7} {'false %':>8} "
          f"{'changed':>7} {'unchanged':>9} {'seconds':>7}  recall per event")
    verdicts = []
    with tempfile.TemporaryDirectory() as tmp:
        for res in (10, 20):
            for confidence in CONFIDENCES:
                spec = parse_spec({
                    "aoi": list(CHANGE_AOI_BBOX), "start": before_start.isoformat(),
                    "period": "month", "compare_start": after_start.isoformat(),
                    "resolution": res, "crs": "EPSG:32629", "confidence": confidence,
                    "name": f"q{res}", "metadata": ["json"]})
                clock = time.perf_counter()
                result = run_mosaic(spec, mosaic_settings(), Path(tmp) / f"{res}-{confidence}",
                                    f"{res}{confidence}")
                seconds = time.perf_counter() - clock
                mask_path = next(result.folder.glob("change_mask_*.tif"))
                with rasterio.open(mask_path) as ds:
                    detected = ds.read(1)
                    labels = change_labels(ds.crs, ds.transform, ds.shape, before_end,
                                           after_start)
                scores = change_scores(detected, labels)
                per_event = " ".join(f"{e.name} {scores['events'][i]:.3f}"
                                     for i, e in enumerate(CHANGE_EVENTS, start=1))
                print(f"{res:>4} {confidence:>10g} {scores['precision']:9.3f} "
                      f"{scores['recall']:7.3f} {100 * scores['false_rate']:8.3f} "
                      f"{scores['changed']:7d} {scores['unchanged']:9d} {seconds:7.1f}  "
                      f"{per_event}")
                if confidence == DEFAULT_CONFIDENCE:
                    verdicts.append((res, scores))
    for res, scores in verdicts:
        ok = (scores["recall"] >= CHANGE_GOALS["recall"]
              and scores["false_rate"] <= CHANGE_GOALS["false_rate"])
        print(f"{res} m at confidence {DEFAULT_CONFIDENCE:g}: recall {scores['recall']:.3f} "
              f"(goal >= {CHANGE_GOALS['recall']}), false-change rate "
              f"{100 * scores['false_rate']:.3f} % (goal <= {100 * CHANGE_GOALS['false_rate']:g} "
              f"%): {'PASS' if ok else 'FAIL'}")


def change_scores(detected: np.ndarray, labels: np.ndarray) -> dict:
    """Scores of a change mask (0, 1, 255 no value) against truth labels (0 unchanged, event
    number, 255 changed in part), on the pixels where both say something."""
    scored = (detected != 255) & (labels != 255)
    changed = scored & (labels > 0)
    unchanged = scored & (labels == 0)
    hit = detected == 1
    tp, fp = int((changed & hit).sum()), int((unchanged & hit).sum())
    return {
        "precision": tp / (tp + fp) if tp + fp else float("nan"),
        "recall": tp / changed.sum() if changed.any() else float("nan"),
        "false_rate": fp / unchanged.sum() if unchanged.any() else float("nan"),
        "changed": int(changed.sum()), "unchanged": int(unchanged.sum()),
        "events": {i: (float((hit & scored & (labels == i)).sum() / n)
                       if (n := (scored & (labels == i)).sum()) else float("nan"))
                   for i in range(1, len(CHANGE_EVENTS) + 1)},
    }


if __name__ == "__main__":
    main()
