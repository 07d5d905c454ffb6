"""Known surface changes in the demo landscape, and their truth on any grid (no web, no archive).

The static demo landscape (`scene.Landscape`) gains a few *change events*: on its day, the land
cover inside a polygon turns into another class (forest felled to bare soil, fields flooded
into a reservoir, vegetation burnt). Every acquisition on or after the day renders the new land
cover, in every band, the SCL and the truth rasters; every acquisition before renders the old.

The events lie in the midlands, in the 600 m strip north of the windows the test suite builds
(2400 m and less: those scenes are as without events), inside the default 3600 m windows of the
full demo archive, and partly inside `archive.DEMO_AOI_BBOX` (its northern 300 m).
`CHANGE_AOI_BBOX` frames them with unchanged land around.

What the truth counts: land cover changed by an event between two dates, nothing else. The demo
surface has no other change between years: its phenology, soil wetness and water turbidity
depend on the day of year only, so two periods of the same season a year apart see the same
surface outside the events (less the clouds, shadows and per-date noise of each acquisition);
periods of different seasons differ everywhere by phenology, which the truth does not count.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from pyproj import CRS, Transformer
from rasterio.warp import transform_bounds
from shapely import contains_xy
from shapely.geometry import Polygon, box

from compositing.demo import scene as ds

# One day for every event: after July 2022, before July 2023, so mosaics of the two Julys
# differ by all of them.
CHANGE_DATE = date(2023, 3, 15)
# What each kind of event turns into, and from which classes: towns and roads neither burn nor
# get flooded or felled; a clearing fells forest only (fields in its outline stay fields).
_KINDS: dict[str, tuple[int, frozenset[int]]] = {
    "clearing": (ds.SOIL, frozenset({ds.FOREST})),
    "water": (ds.WATER, frozenset({ds.SOIL, ds.GRASS, ds.CROP, ds.LATE_CROP, ds.FOREST})),
    "burn": (ds.BURNT, frozenset({ds.GRASS, ds.CROP, ds.LATE_CROP, ds.FOREST})),
}
UNCHANGED, PARTLY_CHANGED = 0, 255  # truth labels besides the events' own (1-based) numbers
_SOURCE_M = 10  # the land cover's own pixel size


@dataclass(frozen=True)
class ChangeEvent:
    """A change of land cover inside a lon/lat polygon, from its day on."""

    name: str
    kind: str  # a key of _KINDS: "clearing", "water" or "burn"
    day: date
    lonlat: tuple[tuple[float, float], ...]  # outer ring, unclosed

    @property
    def to_class(self) -> int:
        return _KINDS[self.kind][0]

    @property
    def from_classes(self) -> frozenset[int]:
        return _KINDS[self.kind][1]

    @cached_property
    def polygon(self) -> Polygon:
        """The outline in lon/lat."""
        return Polygon(self.lonlat)

    @cached_property
    def world_polygon(self) -> Polygon:
        """The outline in the demo's world frame (`scene.world_xy` is affine: edges stay
        straight)."""
        lon, lat = np.array(self.lonlat).T
        return Polygon(zip(*ds.world_xy(lon, lat), strict=True))


# Irregular outlines of 18-24 ha drawn on the seed-0 landscape (over forest, fields, fields
# and hedges). With another seed the same outlines hold other land cover: the truth follows.
CHANGE_EVENTS: tuple[ChangeEvent, ...] = (
    ChangeEvent("forest-clearing", "clearing", CHANGE_DATE, (
        (-7.41805, 52.75896), (-7.4183, 52.76029), (-7.41974, 52.76046), (-7.42274, 52.76094),
        (-7.42391, 52.76056), (-7.42585, 52.76005), (-7.42618, 52.75889), (-7.42583, 52.7582),
        (-7.42465, 52.75716), (-7.42287, 52.75721), (-7.41979, 52.75735), (-7.41772, 52.75781))),
    ChangeEvent("new-reservoir", "water", CHANGE_DATE, (
        (-7.43923, 52.75911), (-7.43929, 52.76009), (-7.44153, 52.76085), (-7.44266, 52.76115),
        (-7.44575, 52.76111), (-7.4472, 52.76018), (-7.44722, 52.7595), (-7.44669, 52.75873),
        (-7.44549, 52.75791), (-7.44313, 52.75748), (-7.44088, 52.7575), (-7.43961, 52.75808))),
    ChangeEvent("burn-scar", "burn", CHANGE_DATE, (
        (-7.46432, 52.7594), (-7.46446, 52.76057), (-7.46681, 52.76172), (-7.46924, 52.76212),
        (-7.47094, 52.76149), (-7.47368, 52.7609), (-7.47457, 52.7598), (-7.47346, 52.75899),
        (-7.47104, 52.75821), (-7.46995, 52.75732), (-7.46704, 52.758), (-7.46513, 52.75871))),
)
# The events and ~300 m of unchanged land around them (4.4 km x 1.15 km): an AOI for change
# orders. The midlands windows cover it from a size of 4320 m (the burn scar's north tip
# reaches 30 m short of the 3600 m windows' top edge, which a lon/lat bbox cannot follow).
CHANGE_AOI_BBOX: tuple[float, float, float, float] = (-7.4790, 52.7545, -7.4133, 52.7648)
CHANGE_AOI_SIZE_M = 4320


def events_by(day: date, events: Sequence[ChangeEvent] = CHANGE_EVENTS
              ) -> tuple[ChangeEvent, ...]:
    """The events whose new land cover an acquisition on `day` sees."""
    return tuple(e for e in events if e.day <= day)


def events_between(before: date, after: date, events: Sequence[ChangeEvent] = CHANGE_EVENTS
                   ) -> tuple[ChangeEvent, ...]:
    """The events that change the surface seen on `before` into the one seen on `after`."""
    if after < before:
        raise ValueError("after is before before")
    return tuple(e for e in events if before < e.day <= after)


def apply_events(static: dict[str, np.ndarray], grid: ds.SceneGrid,
                 events: Sequence[ChangeEvent]) -> dict[str, np.ndarray]:
    """The window's static layers with the land cover the events leave.

    The very same dict when no event reaches the window, so scenes away from the events (and
    every scene before their day) are what they were without events. A pixel changes where its
    10 m centre lies inside the event's outline, judged in the world frame as the rest of the
    landscape, so overlapping tiles of a zone change the same pixels.
    """
    wx, wy = grid.node_world
    frame = box(float(wx.min()), float(wy.min()), float(wx.max()), float(wy.max()))
    reaching = [e for e in events if frame.intersects(e.world_polygon)]
    if not reaching:
        return static
    lc = static["lc"].copy()  # the static layers are cached for every pass: never in place
    px, py = grid.world(_SOURCE_M)
    for e in reaching:
        hit = contains_xy(e.world_polygon, px, py) & np.isin(lc, list(e.from_classes))
        lc[hit] = e.to_class
    return {**static, "lc": lc, "bright_roof": static["bright_roof"] & (lc == ds.URBAN)}


def change_labels(crs: Any, transform: Affine, shape: tuple[int, int], before: date,
                  after: date, seed: int = 0) -> np.ndarray:
    """Truth of change between two dates on a grid (uint8): `UNCHANGED` (0) where no event
    touched the pixel, the event's number (its place in `CHANGE_EVENTS`, from 1) where at least
    half of the pixel's area changed by it, `PARTLY_CHANGED` (255) at the events' edges.

    A pixel's share is sampled at (2 * ceil(pixel size / 10 m))^2 points over it against the
    10 m land cover of the event's UTM zone (what the archive's tiles render): exact on grids
    that nest with the tiles' 10 m pixels, within 5 m of an edge on others.
    """
    labels = np.zeros(shape, np.uint8)
    shares = np.zeros(shape, np.float32)
    for e in events_between(before, after):
        number = CHANGE_EVENTS.index(e) + 1
        share, rows, cols = _changed_share(e, crs, transform, shape, before, after, seed)
        shares[rows, cols] += share
        labels[rows, cols] = np.where(share >= 0.5, number, labels[rows, cols])
    labels[(shares > 0) & (labels == UNCHANGED)] = PARTLY_CHANGED
    return labels


def change_mask(crs: Any, transform: Affine, shape: tuple[int, int], before: date, after: date,
                seed: int = 0) -> np.ndarray:
    """True where an event changed at least half of the pixel between the two dates."""
    labels = change_labels(crs, transform, shape, before, after, seed)
    return (labels != UNCHANGED) & (labels != PARTLY_CHANGED)


def unchanged_mask(crs: Any, transform: Affine, shape: tuple[int, int], before: date,
                   after: date, seed: int = 0) -> np.ndarray:
    """True where no event changed any of the pixel between the two dates: where a detected
    change is a false one (for periods of the same season, see the module's docstring)."""
    return change_labels(crs, transform, shape, before, after, seed) == UNCHANGED


def write_change_truth(path: Path, crs: Any, transform: Affine, shape: tuple[int, int],
                       before: date, after: date, seed: int = 0) -> np.ndarray:
    """Write `change_labels` on the grid as a one-band uint8 GeoTIFF; return the labels."""
    labels = change_labels(crs, transform, shape, before, after, seed)
    profile = {"driver": "GTiff", "width": shape[1], "height": shape[0], "count": 1,
               "dtype": "uint8", "crs": CRS.from_user_input(crs), "transform": transform,
               "compress": "DEFLATE"}
    legend = "; ".join([f"{UNCHANGED} unchanged"]
                       + [f"{i} {e.name} ({e.kind}, {e.day})"
                          for i, e in enumerate(CHANGE_EVENTS, start=1)]
                       + [f"{PARTLY_CHANGED} partly changed (edge: score neither way)"])
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(labels, 1)
        dst.set_band_description(1, "change")
        dst.update_tags(BEFORE=before.isoformat(), AFTER=after.isoformat(), SEED=str(seed),
                        LABELS=legend)
    return labels


def _changed_share(e: ChangeEvent, crs: Any, transform: Affine, shape: tuple[int, int],
                   before: date, after: date, seed: int
                   ) -> tuple[np.ndarray, slice, slice]:
    """Share of each pixel near the event that the event changed, and where those pixels are."""
    grid = _event_grid(e)
    static = ds.Landscape(seed).classes(grid)
    old = apply_events(static, grid, events_by(before))["lc"]
    new = apply_events(static, grid, events_by(after))["lc"]
    px, py = grid.world(_SOURCE_M)
    changed = (old != new) & contains_xy(e.world_polygon, px, py)
    rows, cols = _pixels_near(grid, crs, transform, shape)
    h, w = rows.stop - rows.start, cols.stop - cols.start
    if h == 0 or w == 0:
        return np.zeros((h, w), np.float32), rows, cols
    k = 2 * math.ceil(max(abs(transform.a), abs(transform.e)) / _SOURCE_M)
    f = (np.arange(k) + 0.5) / k
    r = (rows.start + np.arange(h)[:, None] + f[None, :]).ravel()
    c = (cols.start + np.arange(w)[:, None] + f[None, :]).ravel()
    xs, ys = transform @ np.meshgrid(c, r)
    gx, gy = Transformer.from_crs(CRS.from_user_input(crs), grid.epsg,
                                  always_xy=True).transform(xs, ys)
    j = np.floor((gx - grid.x0) / _SOURCE_M).astype(np.int64)
    i = np.floor((grid.y0 - gy) / _SOURCE_M).astype(np.int64)
    n = grid.n(_SOURCE_M)
    inside = (i >= 0) & (i < n) & (j >= 0) & (j < n)
    hit = np.zeros(i.shape, bool)
    hit[inside] = changed[i[inside], j[inside]]
    return hit.reshape(h, k, w, k).mean(axis=(1, 3), dtype=np.float32), rows, cols


def _event_grid(e: ChangeEvent) -> ds.SceneGrid:
    """A 10 m window on the 60 m lattice of the event's UTM zone, around the event."""
    lon, lat = e.polygon.centroid.x, e.polygon.centroid.y
    epsg = (32600 if lat >= 0 else 32700) + int((lon + 180) // 6) + 1
    to_utm = Transformer.from_crs(4326, epsg, always_xy=True)
    x, y = to_utm.transform(*np.array(e.lonlat).T)
    step = ds.LATTICE_M
    x0, y0 = step * (math.floor(x.min() / step) - 1), step * (math.ceil(y.max() / step) + 1)
    side = step * (math.ceil(max(x.max() - x0, y0 - y.min()) / step) + 1)
    return ds.SceneGrid(epsg, float(x0), float(y0), int(side))


def _pixels_near(grid: ds.SceneGrid, crs: Any, transform: Affine, shape: tuple[int, int]
                 ) -> tuple[slice, slice]:
    """Rows and columns of the target grid that the event grid's square overlaps (clipped)."""
    bounds = transform_bounds(grid.epsg, CRS.from_user_input(crs), grid.x0,
                              grid.y0 - grid.size_m, grid.x0 + grid.size_m, grid.y0,
                              densify_pts=21)
    inverse = ~transform
    corners = [inverse @ (x, y) for x in bounds[0::2] for y in bounds[1::2]]
    cols = [c for c, _ in corners]
    rows = [r for _, r in corners]
    r0, r1 = max(math.floor(min(rows)), 0), min(math.ceil(max(rows)), shape[0])
    c0, c1 = max(math.floor(min(cols)), 0), min(math.ceil(max(cols)), shape[1])
    return slice(r0, max(r1, r0)), slice(c0, max(c1, c0))


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: python -m compositing.demo.changes OUT.tif --like PRODUCT.tif --before D
    --after D: the change truth on the grid of an existing raster."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--like", type=Path, required=True,
                        help="a raster (a product's GeoTIFF) whose grid the truth takes")
    parser.add_argument("--before", type=date.fromisoformat, required=True)
    parser.add_argument("--after", type=date.fromisoformat, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with rasterio.open(args.like) as src:
        crs, transform, shape = src.crs, src.transform, (src.height, src.width)
    try:
        labels = write_change_truth(args.out, crs, transform, shape, args.before, args.after,
                                    args.seed)
    except ValueError as exc:
        parser.error(str(exc))
    changed = int(np.count_nonzero((labels != UNCHANGED) & (labels != PARTLY_CHANGED)))
    print(f"wrote {args.out}: {changed} changed pixels of {labels.size}")


if __name__ == "__main__":
    main()
