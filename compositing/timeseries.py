"""The time-series tool: per-period composite values, or every raw observation, at one pixel.

A time series is a tiny output grid (1x1 or 3x3 pixels) in the point's UTM zone, snapped to
multiples of the pixel size exactly as `OutputGrid.for_aoi` snaps an ordered product, so its
centre pixel is the product pixel containing the point (the pixel whose centre is nearest to
it). The archive is searched once for the whole range, every observation is read once, and each
period is then composed as the pipeline composes a chunk of a product of that period
(`pipeline.read_chunk`, `pipeline.composite_chunk`): the values are those an ordered product of
that period holds at that pixel, including the product's 1e-4 quantisation of reflectance and
`medoid_mos`.

Periods are the aligned S2GM periods (`periods.period_bounds`) overlapping the requested
dates, whole: the first starts on or before `start`, the last ends on or after `end`.
For a 3x3 window, band values are the mean and population standard deviation (ddof 0) over
the pixels with a value, `n_pixels` counts them, spectral indices (NDVI, and those asked for)
are those of the product's index layers, the mean of the per-pixel index for 3x3, and
the quality columns (valid_obs, total_obs, method, medoid_mos, scl, acquisition date, scene)
are those of the centre pixel.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from affine import Affine
from pyproj import Transformer
from rasterio.enums import Resampling
from rasterio.warp import transform_bounds
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from compositing import l2a
from compositing.archive.archives import Archive
from compositing.archive.read import Stack, read_asset, read_stack
from compositing.archive.scenes import (
    MissingBandsError,
    Observation,
    Scene,
    group_acquisitions,
    resolve_bands,
    search_scenes,
)
from compositing.grid import Chunk, OutputGrid, utm_epsg
from compositing.orders.periods import ALIGNED_PERIOD_TYPES, period_bounds
from compositing.orders.spec import SpecError, check_era, parse_date, parse_resolution
from compositing.pipeline import Recipe, chunk_halo, composite_chunk, read_chunk
from compositing.products.indices import INDICES, index_inputs
from compositing.products.layers import (
    AUX_LAYERS,
    INDEX_NODATA,
    INDEX_SCALE,
    REFLECTANCE_NODATA,
    REFLECTANCE_SCALE,
    Source,
)
from compositing.selection.composite import stack_bands
from compositing.selection.mask import valid_mask
from compositing.selection.methods import NONE, SELECTION_METHODS

# Period types the tool offers (no 'custom': every period is an aligned S2GM period).
TIMESERIES_PERIODS: tuple[str, ...] = ALIGNED_PERIOD_TYPES
WINDOWS: tuple[int, ...] = (1, 3)
# Longest date range of one request (three years, counting leap days).
MAX_RANGE_DAYS = 3 * 366
# UTM is defined from 80 S to 84 N; Sentinel-2 does not observe beyond it either.
MIN_LAT, MAX_LAT = -80.0, 84.0
# Spectral indices every series has (`indices` adds others of `products.indices.INDICES`).
DEFAULT_INDICES: tuple[str, ...] = ("ndvi",)
# Auxiliary layers every period row needs from `chunk_layers`.
ROW_AUX: tuple[str, ...] = ("source_index", "valid_obs", "total_obs", "method", "medoid_mos",
                            "acquisition_date", "quality_scene_classification")
# S2GM's quality information of an observation, read per observation where asked
# (`quality=true`): aerosol optical thickness, cloud and snow probabilities, sun and view angles.
QUALITY_LAYERS: tuple[str, ...] = tuple(
    name for name, layer in AUX_LAYERS.items()
    if layer.source in (Source.AOT, Source.CONFIDENCE, Source.ANGLES))
# What range an observation list covers: the dates asked, or the whole periods of the
# composite series over those dates (so that every composite can be traced to its observations).
EXTENTS: tuple[str, ...] = ("dates", "periods")
_FLAGS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
# Threads reading observations (rasterio releases the GIL while it opens and reads files).
READ_THREADS = 4
DECIMALS = 6  # rounding of means, standard deviations, NDVI and raw reflectances
_TILE_IN_ID = re.compile(r"(?:^|_)T?(\d{1,2}[C-HJ-NP-X][A-HJ-NP-Z]{2})(?=_|$)")
_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class PointQuery:
    """A validated time-series request."""

    lon: float
    lat: float
    start: date
    end: date
    period_type: str = "month"
    resolution: int = 20
    window: int = 1
    bands: tuple[str, ...] = l2a.SURFACE_BAND_NAMES
    cloud_buffer: int = 0
    quality: bool = False  # the QUALITY_LAYERS columns too
    indices: tuple[str, ...] = DEFAULT_INDICES  # names in `INDICES`; columns `index_column`
    extent: str = "dates"  # of an observation list: one of EXTENTS

    def span(self) -> tuple[date, date]:
        """The days an observation list covers (`extent`)."""
        if self.extent == "periods":
            periods = periods_between(self.period_type, self.start, self.end)
            return periods[0][0], periods[-1][1]
        return self.start, self.end


@dataclass(frozen=True)
class PixelGrid:
    """The tiny output grid of a query and where its centre pixel lies."""

    grid: OutputGrid
    chunk: Chunk  # the window plus a halo (cloud buffer, STC clear distance)
    halo: int

    @property
    def centre(self) -> tuple[float, float]:
        """Map coordinates (x, y) of the centre pixel's centre."""
        left, _, _, top = self.grid.bounds
        half = self.grid.width / 2
        return left + half * self.grid.resolution, top - half * self.grid.resolution

    @property
    def centre_lonlat(self) -> tuple[float, float]:
        """Longitude and latitude of the centre pixel's centre."""
        to_lonlat = Transformer.from_crs(self.grid.epsg, 4326, always_xy=True)
        lon, lat = to_lonlat.transform(*self.centre)
        return float(lon), float(lat)

    def footprint(self) -> BaseGeometry:
        """The chunk (with halo) in lon/lat, as `read_stack` computes it."""
        t = self.chunk.transform
        left, top = t.c, t.f
        right, bottom = left + self.chunk.width * t.a, top + self.chunk.height * t.e
        return box(*transform_bounds(self.grid.crs, "EPSG:4326", left, bottom, right, top))


@dataclass
class TimeSeries:
    """Rows (one dict per period or observation, keyed by `columns`) at one pixel."""

    query: PointQuery
    pixel: PixelGrid
    kind: str
    columns: list[str]
    rows: list[dict[str, Any]]

    def pixel_info(self) -> dict[str, Any]:
        """The centre pixel: EPSG, map and lon/lat coordinates, resolution and window."""
        x, y = self.pixel.centre
        lon, lat = self.pixel.centre_lonlat
        return {"epsg": self.pixel.grid.epsg, "x": x, "y": y, "lon": lon, "lat": lat,
                "resolution": self.query.resolution, "window": self.query.window}


def pixel_grid(lon: float, lat: float, resolution: int, window: int = 1,
               halo: int = 0) -> PixelGrid:
    """A window x window grid in the point's UTM zone centred on the pixel containing it."""
    epsg = utm_epsg(lon, lat)
    x, y = Transformer.from_crs(4326, epsg, always_xy=True).transform(lon, lat)
    res = float(resolution)
    col, row = math.floor(x / res), math.floor(y / res)  # the pixel holding the point
    half = window // 2
    transform = Affine(res, 0.0, (col - half) * res, 0.0, -res, (row + 1 + half) * res)
    grid = OutputGrid(epsg, transform, window, window)
    chunk = next(grid.chunks(window)).expanded(halo)
    return PixelGrid(grid, chunk, halo)


def periods_between(period_type: str, start: date, end: date) -> list[tuple[date, date]]:
    """The aligned periods of the type overlapping start..end, in order."""
    out: list[tuple[date, date]] = []
    day = start
    while day <= end:
        first, last = period_bounds(period_type, day)
        out.append((first, last))
        day = last + timedelta(days=1)
    return out


def index_column(name: str) -> str:
    """The column of a spectral index: its name in capitals (NDVI)."""
    return name.upper()


def composite_columns(bands: Sequence[str], window: int, quality: bool = False,
                      indices: Sequence[str] = DEFAULT_INDICES) -> list[str]:
    """CSV/JSON column names of a composite series."""
    values: list[str] = []
    for name in [*bands, *map(index_column, indices)]:
        values.append(name)
        if window > 1:
            values.append(f"{name}_std")
    extra = ["n_pixels"] if window > 1 else []
    return ["period_start", "period_end", *values, *extra, "valid_obs", "total_obs", "method",
            "medoid_mos", "scl", "acquisition_date", "scene_id",
            *(QUALITY_LAYERS if quality else ())]


_UNIT_TEXT = {"1": "", "%": " (%)", "degree": " (degrees)"}
# What each CSV/JSON column holds ("<band>" stands for every ordered band, e.g. B04).
COLUMN_DOCS: dict[str, str] = {
    "period_start": "first day of the compositing period (ISO 8601 date)",
    "period_end": "last day of the compositing period (ISO 8601 date)",
    "<band>": "surface reflectance (0-1, L2A offset removed) of the chosen observation; for a "
              "3x3 window the mean over the window's composited pixels",
    "<band>_std": "3x3 only: standard deviation of the band over the window's composited pixels",
    "<INDEX>": "a spectral index (NDVI always; others with indices=evi,nbr,...) of the chosen "
               "observation, as the product's index layer holds it; in an observation list, "
               "of that observation's reflectance; for 3x3 the mean of the pixels' index. "
               + "; ".join(f"{index_column(n)}: {i.formula}" for n, i in INDICES.items()),
    "<INDEX>_std": "3x3 only: standard deviation of the pixels' index",
    "n_pixels": "3x3 only: how many of the 9 pixels have a composite value",
    "valid_obs": "valid observations of the period at the (centre) pixel",
    "total_obs": "observations of the period at the (centre) pixel, valid or not",
    "method": "; ".join(f"{m.name}: {m.description}" for m in SELECTION_METHODS.values()),
    "medoid_mos": "medoid pixels: mean spectral distance of the other valid observations to "
                  "the chosen one (reflectance); empty otherwise",
    "scl": "Sen2Cor scene class of the chosen (or listed) observation",
    "acquisition_date": "day of the chosen observation (ISO 8601 date)",
    "scene_id": "L2A scene the value comes from",
    "date": "acquisition day (ISO 8601 date, UTC)",
    "datetime": "acquisition time (ISO 8601, UTC)",
    "tile": "MGRS tile of the scene",
    "valid": "true where the observation may be composited (SCL class, snow test, view "
             "zenith, cloud buffer), false otherwise",
    "all_scene_ids": "every scene of the acquisition covering the pixel, ';'-separated; in "
                     "tile overlaps scene_id names the one whose values are used (smaller AOT)",
    **{name: f"with quality=true: {AUX_LAYERS[name].description}"
             f"{_UNIT_TEXT[AUX_LAYERS[name].units]}; "
             "in an observation list, of that observation; empty where the scene has none"
       for name in QUALITY_LAYERS},
}


def column_doc(name: str) -> str:
    """What a CSV/JSON column holds (KeyError for a name that is not a column)."""
    if name in COLUMN_DOCS:
        return COLUMN_DOCS[name]
    if name.endswith("_std") and name[:-4] in l2a.BAND_NAMES:
        return COLUMN_DOCS["<band>_std"]
    if name.lower() in INDICES and name == index_column(name.lower()):
        return COLUMN_DOCS["<INDEX>"]
    if name.endswith("_std") and name[:-4].lower() in INDICES:
        return COLUMN_DOCS["<INDEX>_std"]
    if name in l2a.BAND_NAMES:
        return COLUMN_DOCS["<band>"]
    raise KeyError(name)


def observation_columns(bands: Sequence[str], quality: bool = False,
                        indices: Sequence[str] = DEFAULT_INDICES) -> list[str]:
    """CSV/JSON column names of an observation list."""
    return ["date", "datetime", "scene_id", "tile", *bands, *map(index_column, indices), "scl",
            "valid", "all_scene_ids", *(QUALITY_LAYERS if quality else ())]


def composite_series(query: PointQuery, archives: Sequence[Archive],
                     medoid_min_obs: int = l2a.MEDOID_MIN_OBSERVATIONS) -> TimeSeries:
    """Per aligned period: the composite values an ordered product holds at the pixel."""
    pixel = pixel_grid(query.lon, query.lat, query.resolution, query.window,
                       chunk_halo(query.resolution, query.cloud_buffer))
    periods = periods_between(query.period_type, query.start, query.end)
    bands = query.bands
    scenes = _search(pixel, archives, periods[0][0], periods[-1][1])
    aux = (*ROW_AUX, *query.indices, *(QUALITY_LAYERS if query.quality else ()))
    # Each period is its own product: bands are resolved and acquisitions grouped from that
    # period's scenes only. Periods partition the scenes, so every observation is read once.
    recipes: list[Recipe] = []
    for first, last in periods:
        members = [s for s in scenes if first <= _utc_day(s) <= last]
        try:
            resolved = (resolve_bands(members, stack_bands((*bands, *index_inputs(aux))),
                                      query.bands)[0] if members else [])
        except MissingBandsError:
            resolved = []  # the product of this period could not be made either
        recipes.append(Recipe(pixel.grid, tuple(group_acquisitions(resolved)), bands, aux,
                              query.resolution, query.cloud_buffer, medoid_min_obs))
    window = next(pixel.grid.chunks(query.window))
    stacks = _read_periods(recipes, window)
    rows = [_period_row(query, pixel, first, last, recipe.observations,
                        composite_chunk(recipe, window, stack))
            for (first, last), recipe, stack in zip(periods, recipes, stacks, strict=True)]
    return TimeSeries(query, pixel, "composite",
                      composite_columns(query.bands, query.window, query.quality, query.indices),
                      rows)


def observations(query: PointQuery, archives: Sequence[Archive]) -> TimeSeries:
    """Every L2A acquisition with data at the centre pixel from start to end (inclusive).

    Reflectances are the L2A values resampled onto the pixel as the pipeline reads them;
    `valid` is `mask.valid_mask` over the bands a product of `query.bands` reads. The days are
    `query.span()`. Raises MissingBandsError when an asked band is in no scene.
    """
    pixel = pixel_grid(query.lon, query.lat, query.resolution, 1, query.cloud_buffer)
    read_bands = stack_bands([*query.bands, *index_inputs(query.indices)])
    scenes = _search(pixel, archives, *query.span())
    rows: list[dict[str, Any]] = []
    if scenes:
        scenes, _ = resolve_bands(scenes, read_bands, query.bands)
    obs = group_acquisitions(scenes)
    extras = QUALITY_LAYERS if query.quality else ()
    stack = read_stack(obs, read_bands, pixel.grid, pixel.chunk, query.resolution, extras)
    valid = valid_mask(stack.refl, stack.scl, stack.band_names, query.cloud_buffer,
                       stack.oblique)
    reflectance = stack.reflectance()
    r = c = pixel.halo
    for t, i in enumerate(stack.obs_index):
        scl = int(stack.scl[t, r, c])
        if scl == 0:
            continue
        refl = {b: _float(reflectance[t, stack.band_names.index(b), r, c])
                for b in read_bands}
        scene = _pixel_scene(obs[i], pixel)
        covering = _covering_scenes(obs[i], pixel)
        rows.append({
            "date": obs[i].datetime.astimezone(UTC).date(),
            "datetime": obs[i].datetime.astimezone(UTC),
            "scene_id": scene.id if scene else None,
            "tile": scene_tile(scene.id) if scene else None,
            **{b: _round(refl[b]) for b in query.bands},
            **{index_column(n): _round(_index(n, refl)) for n in query.indices},
            "scl": scl,
            "valid": bool(valid[t, r, c]),
            "all_scene_ids": ";".join(s.id for s in covering),
            **{name: _round(stack.aot[t, r, c] if AUX_LAYERS[name].source is Source.AOT
                            else stack.extra[name][t, r, c], 4) for name in extras},
        })
    return TimeSeries(query, pixel, "observations",
                      observation_columns(query.bands, query.quality, query.indices), rows)


def scene_tile(scene_id: str) -> str | None:
    """The MGRS tile named in a scene id (Earth Search, Planetary Computer, ESA styles)."""
    match = _TILE_IN_ID.search(scene_id)
    return match.group(1) if match else None


def parse_query(params: Mapping[str, Any]) -> PointQuery:
    """Validate request parameters into a PointQuery; SpecError names the bad parameter."""
    lon = _parse_float(params, "lon", -180.0, 180.0)
    lat = _parse_float(params, "lat", MIN_LAT, MAX_LAT)
    start = parse_date("start", _required(params, "start"))
    end = parse_date("end", _required(params, "end"))
    if end < start:
        raise SpecError("end", "the end date is before the start date")
    check_era(start, end)
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise SpecError("end", f"the range is longer than {MAX_RANGE_DAYS} days")
    period = str(params.get("period") or "month").strip().lower()
    if period not in TIMESERIES_PERIODS:
        raise SpecError("period", f"unknown period {period!r}; one of "
                                  f"{', '.join(TIMESERIES_PERIODS)}")
    resolution = parse_resolution(params.get("resolution") or 20)
    window_raw = str(params.get("window") or "1").strip()
    if window_raw not in {str(w) for w in WINDOWS}:
        raise SpecError("window", f"{window_raw!r} is not a window; use 1 (one pixel) or 3 "
                                  "(3x3 pixels)")
    bands_raw = params.get("bands") or ",".join(l2a.SURFACE_BAND_NAMES)
    try:
        bands = tuple(l2a.parse_bands(bands_raw))
    except ValueError as exc:
        raise SpecError("bands", str(exc)) from None
    extent = str(params.get("extent") or EXTENTS[0]).strip().lower()
    if extent not in EXTENTS:
        raise SpecError("extent", f"unknown extent {extent!r}; one of {', '.join(EXTENTS)}")
    asked = [n.strip().lower() for n in str(params.get("indices") or "").split(",") if n.strip()]
    unknown = [n for n in asked if n not in INDICES]
    if unknown:
        raise SpecError("indices", f"unknown index {unknown[0]!r}; one of {', '.join(INDICES)}")
    return PointQuery(lon, lat, start, end, period, resolution, int(window_raw), bands,
                      quality=_flag(params, "quality"), extent=extent,
                      indices=tuple(dict.fromkeys([*DEFAULT_INDICES, *asked])))


def _flag(params: Mapping[str, Any], name: str) -> bool:
    raw = str(params.get(name) or "false").strip().lower()
    if raw not in _FLAGS:
        raise SpecError(name, f"{name} must be true or false, not {raw!r}")
    return _FLAGS[raw]


# --- internals -------------------------------------------------------------------------------


def _search(pixel: PixelGrid, archives: Sequence[Archive], start: date,
            end: date) -> list[Scene]:
    return search_scenes(archives, pixel.footprint(), start, end)


def _read_periods(recipes: Sequence[Recipe], window: Chunk) -> list[Stack]:
    """`read_chunk` of every period, READ_THREADS periods at a time (their reads go to the
    file threads, which keep the files open for the next request). The selection stays in
    the calling thread, as numba's threading layer may not be threadsafe."""
    with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
        return list(pool.map(lambda recipe: read_chunk(recipe, window), recipes))


def _utc_day(scene: Scene) -> date:
    return scene.datetime.astimezone(UTC).date()


def _period_row(query: PointQuery, pixel: PixelGrid, first: date, last: date,
                obs: Sequence[Observation], layers: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """One period's row from the layers its composite holds at the window."""
    refl = {b: _decoded(layers[b], REFLECTANCE_NODATA, REFLECTANCE_SCALE) for b in query.bands}
    indices = {index_column(n): _decoded(layers[n], INDEX_NODATA, INDEX_SCALE)
               for n in query.indices}
    c = query.window // 2
    row: dict[str, Any] = {"period_start": first, "period_end": last}
    for name, values in [*refl.items(), *indices.items()]:
        if query.window == 1:
            row[name] = _round(values[c, c])
            continue
        have = values[np.isfinite(values)]
        row[name] = _round(float(have.mean())) if have.size else None
        row[f"{name}_std"] = _round(float(have.std())) if have.size else None
    if query.window > 1:
        row["n_pixels"] = int(np.isfinite(refl[query.bands[0]]).sum())
    aux = {name: _decode_aux(name, layers[name][c, c]) for name in ROW_AUX}
    method = int(layers["method"][c, c])
    source = aux["source_index"]
    scene = _pixel_scene(obs[int(source)], pixel) if source is not None else None
    row.update({
        "valid_obs": int(aux["valid_obs"] or 0),
        "total_obs": int(aux["total_obs"] or 0),
        "method": SELECTION_METHODS.get(method, NONE).name,
        "medoid_mos": _round(aux["medoid_mos"], 4),
        "scl": int(aux["quality_scene_classification"])
        if aux["quality_scene_classification"] is not None else None,
        "acquisition_date": (_EPOCH + timedelta(days=int(aux["acquisition_date"])))
        if aux["acquisition_date"] is not None else None,
        "scene_id": scene.id if scene else None,
    })
    if query.quality:
        row.update({name: _round(_decode_aux(name, layers[name][c, c]), 4)
                    for name in QUALITY_LAYERS})
    return row


def _decoded(stored: np.ndarray, nodata: int, scale: float) -> np.ndarray:
    """A stored product layer to float, NaN for nodata."""
    return np.where(stored == nodata, np.nan, stored * scale)


def _index(name: str, refl: Mapping[str, float | None]) -> float | None:
    """An index of one observation's reflectances (None where a band or the index is)."""
    values = {b: np.array([np.nan if refl[b] is None else refl[b]], np.float64)
              for b in INDICES[name].inputs}
    return _float(INDICES[name].evaluate(values)[0])


def _decode_aux(name: str, stored: Any) -> float | None:
    layer = AUX_LAYERS[name]
    if int(stored) == layer.nodata:
        return None
    return float(stored) * layer.scale


def _covering_scenes(obs: Observation, pixel: PixelGrid) -> list[Scene]:
    footprint = pixel.footprint()
    return [s for s in obs.scenes if s.footprint.intersects(footprint)]


def _pixel_scene(obs: Observation, pixel: PixelGrid) -> Scene | None:
    """The granule whose values `read_stack` keeps at the centre pixel (smallest AOT)."""
    candidates = _covering_scenes(obs, pixel)
    if len(candidates) == 1:
        return candidates[0]
    r = c = pixel.halo + pixel.grid.height // 2
    chosen, chosen_aot = None, math.nan
    for scene in candidates:
        if "SCL" not in scene.assets:
            continue
        scl = read_asset(scene.assets["SCL"], pixel.grid, pixel.chunk, Resampling.nearest)[r, c]
        if not (np.isfinite(scl) and scl > 0):
            continue
        aot = (float(read_asset(scene.assets["AOT"], pixel.grid, pixel.chunk,
                                Resampling.nearest)[r, c])
               if "AOT" in scene.assets else math.nan)
        clearer = math.isfinite(aot) and not (chosen_aot <= aot)
        if chosen is None or clearer:
            chosen, chosen_aot = scene, aot
    return chosen


def _float(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _round(value: Any, decimals: int = DECIMALS) -> float | None:
    if value is None:
        return None
    value = float(value)
    return round(value, decimals) if math.isfinite(value) else None


def _parse_float(params: Mapping[str, Any], name: str, low: float, high: float) -> float:
    raw = _required(params, name)
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise SpecError(name, f"{raw!r} is not a number") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise SpecError(name, f"{name} must be between {low:g} and {high:g} degrees")
    return value


def _required(params: Mapping[str, Any], name: str) -> Any:
    value = params.get(name)
    if value is None or str(value).strip() == "":
        raise SpecError(name, "this parameter is required")
    return value


def serialise(value: Any) -> Any:
    """A row value for JSON or CSV: dates as ISO 8601, everything else unchanged."""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value
