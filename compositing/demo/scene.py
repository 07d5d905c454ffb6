"""Synthetic surface, clouds, scene classification and footprints for the demo archive (no I/O).

Everything is a function of position in a *world frame* (metres on a plane tied to longitude and
latitude, see `world_xy`), never of a scene's own pixel indices, so two MGRS tiles that overlap
see the same fields, even across a UTM zone border. Smooth fields are sums of random plane waves
evaluated on the 60 m lattice that Sentinel-2 shares between all tiles of a zone, then
interpolated bilinearly onto the 10/20/60 m pixels: cheap, and bit-identical in tile overlaps.
Per-pixel detail (texture, noise) comes from integer hashes of the pixels' zone-wide indices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from statistics import NormalDist
from typing import Any, TypeVar

import numpy as np
from pyproj import Transformer
from shapely.geometry import Polygon
from shapely.geometry.polygon import orient

from compositing import l2a

# Classes of the synthetic landscape (not SCL codes). BURNT only arises from a change event
# (`compositing.demo.changes`): the static landscape has none.
WATER, URBAN, SOIL, GRASS, CROP, LATE_CROP, FOREST, BURNT = range(8)

# BOA reflectance spectra in l2a.BANDS order: B01 B02 B03 B04 B05 B06 B07 B08 B8A B09 B11 B12.
# Rough library shapes (green leaves: red well, NIR plateau; soil: rising to SWIR; water: dark
# beyond red; snow: bright VNIR, dark SWIR; cloud: bright and flat, lower in SWIR; fresh burn
# scar: char and ash, dark through the NIR, SWIR higher than NIR as the leaf water is gone, so
# NDVI ~0.2 and NBR ~-0.4).
_S = {
    "green": (0.025, 0.030, 0.065, 0.030, 0.110, 0.300, 0.380, 0.420, 0.440, 0.440, 0.200, 0.090),
    "dry": (0.045, 0.055, 0.080, 0.090, 0.130, 0.190, 0.220, 0.250, 0.265, 0.265, 0.300, 0.190),
    "soil": (0.060, 0.075, 0.110, 0.150, 0.180, 0.205, 0.225, 0.240, 0.255, 0.260, 0.330, 0.270),
    "forest": (0.020, 0.022, 0.045, 0.022, 0.070, 0.200, 0.250, 0.280, 0.295, 0.295, 0.140, 0.060),
    "water": (0.060, 0.050, 0.045, 0.025, 0.020, 0.012, 0.010, 0.008, 0.007, 0.005, 0.003, 0.002),
    "urban": (0.100, 0.105, 0.115, 0.125, 0.135, 0.145, 0.150, 0.160, 0.165, 0.165, 0.185, 0.165),
    "snow": (0.850, 0.870, 0.860, 0.840, 0.820, 0.790, 0.770, 0.740, 0.720, 0.600, 0.080, 0.050),
    "cloud": (0.600, 0.610, 0.620, 0.630, 0.630, 0.630, 0.630, 0.630, 0.630, 0.550, 0.420, 0.290),
    "burnt": (0.040, 0.038, 0.045, 0.052, 0.062, 0.075, 0.082, 0.088, 0.095, 0.095, 0.215, 0.195),
    "turbid": (0.010, 0.015, 0.025, 0.020, 0.012, 0.004, 0.002, 0.001, 0.001, 0.0, 0.0, 0.0),
}
SPECTRA = {k: np.array(v, np.float32) for k, v in _S.items()}
# Per class: spectrum at full greenness and at none (mixed by the seasonal greenness).
_GREEN_END = np.stack([SPECTRA[k] for k in ("water", "urban", "soil", "green", "green", "green",
                                            "forest", "burnt")])
_BARE_END = np.stack([SPECTRA["water"], SPECTRA["urban"], SPECTRA["soil"], SPECTRA["dry"],
                      0.5 * (SPECTRA["soil"] + SPECTRA["dry"]), SPECTRA["soil"],
                      0.8 * SPECTRA["forest"] + 0.2 * SPECTRA["dry"], SPECTRA["burnt"]])
# Seasonal greenness per class: (minimum, maximum, peak day of year, width in days).
_PHENOLOGY = {GRASS: (0.45, 0.92, 165, 85), CROP: (0.05, 0.95, 150, 40),
              LATE_CROP: (0.0, 0.9, 215, 35), FOREST: (0.55, 1.0, 185, 90)}
# How much of a class snow covers: none on water, patchy in towns, half seen through forest.
_SNOW_CATCH = np.array([0.0, 0.7, 1.0, 1.0, 1.0, 1.0, 0.5, 1.0], np.float32)
# Fraction of direct light per band: how much a cloud shadow darkens (blue is mostly diffuse).
_SHADOW_DEPTH = np.array([0.45, 0.5, 0.55, 0.6, 0.62, 0.65, 0.65, 0.66, 0.66, 0.66, 0.68, 0.68],
                         np.float32)[:, None, None]

# Cloud opacity (0..1) and shadow strength thresholds. Truth counts any visible cloud; the SCL
# misses the faintest ring (TRUE..SEEN) and the penumbra of shadows, as Sen2Cor does.
_TRUE_CLOUD, _SEEN_CLOUD, _THIN_CLOUD, _THICK_CLOUD = 0.02, 0.08, 0.25, 0.6
_TRUE_SHADOW, _SEEN_SHADOW = 0.25, 0.45

WORLD_ORIGIN = (-7.5, 52.7)  # lon, lat of the world frame's origin (the demo area)
_M_PER_DEG_LAT = 111_132.0
_M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(WORLD_ORIGIN[1]))
LATTICE_M = 60
Coord = TypeVar("Coord", float, np.ndarray)


def world_xy(lon: Coord, lat: Coord) -> tuple[Coord, Coord]:
    """World-frame metres (x east, y north) from lon/lat: affine, so true to scale near 52.7 N."""
    return ((lon - WORLD_ORIGIN[0]) * _M_PER_DEG_LON, (lat - WORLD_ORIGIN[1]) * _M_PER_DEG_LAT)


def lonlat_from_world(wx: Coord, wy: Coord) -> tuple[Coord, Coord]:
    """Inverse of `world_xy`."""
    return (wx / _M_PER_DEG_LON + WORLD_ORIGIN[0], wy / _M_PER_DEG_LAT + WORLD_ORIGIN[1])


def quantile_z(p: float) -> float:
    """Threshold of a unit-variance Gaussian field exceeded on a fraction 1 - p of the area."""
    return NormalDist().inv_cdf(min(max(p, 1e-6), 1 - 1e-6))


@dataclass(frozen=True)
class Field:
    """A smooth random field: a sum of plane waves with unit variance (near Gaussian)."""

    kx: np.ndarray
    ky: np.ndarray
    phase: np.ndarray
    amp: np.ndarray

    def __call__(self, wx: np.ndarray, wy: np.ndarray) -> np.ndarray:
        """Field values at world coordinates (float64)."""
        out = np.zeros(np.shape(wx))
        for kx, ky, ph, a in zip(self.kx, self.ky, self.phase, self.amp, strict=True):
            out += a * np.cos(kx * wx + ky * wy + ph)
        return out


def random_field(rng: np.random.Generator, wavelengths_m: tuple[float, float],
                 n_waves: int = 32) -> Field:
    """Waves with log-uniform wavelengths in the range, amplitude ~ wavelength (red noise)."""
    lo, hi = math.log(wavelengths_m[0]), math.log(wavelengths_m[1])
    lam = np.exp(rng.uniform(lo, hi, n_waves))
    theta = rng.uniform(0, np.pi, n_waves)
    k = 2 * np.pi / lam
    amp = lam / np.sqrt(np.sum(lam**2) / 2)  # unit variance: sum(a^2)/2 == 1
    return Field(k * np.cos(theta), k * np.sin(theta), rng.uniform(0, 2 * np.pi, n_waves), amp)


def hash64(*keys: np.ndarray | int) -> np.ndarray:
    """SplitMix64 over a sequence of integer keys (arrays broadcast); uint64 result."""
    h = np.zeros(np.broadcast_shapes(*(np.shape(k) for k in keys)), np.uint64)
    with np.errstate(over="ignore"):  # wrapping arithmetic is the point
        for key in keys:
            k = np.asarray(key)
            h = h ^ (k.astype(np.int64).view(np.uint64) if k.dtype != np.uint64 else k)
            h = h + np.uint64(0x9E3779B97F4A7C15)
            h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            h = h ^ (h >> np.uint64(31))
    return h


def unit(h: np.ndarray, slot: int = 0) -> np.ndarray:
    """The slot-th 16-bit slice of a hash as float32 in [0, 1]."""
    return ((h >> np.uint64(16 * slot)) & np.uint64(0xFFFF)).astype(np.float32) / np.float32(65535)


@dataclass
class SceneGrid:
    """A scene window of a tile: its pixels at 10/20/60 m and its 60 m node lattice."""

    epsg: int
    x0: float  # left, on the tile's 60 m lattice
    y0: float  # top
    size_m: int
    _cache: dict = field(default_factory=dict, repr=False)

    def n(self, res: int) -> int:
        """Pixels per side at a resolution."""
        return self.size_m // res

    @cached_property
    def node_world(self) -> tuple[np.ndarray, np.ndarray]:
        """World coordinates of the lattice nodes x0 + 60 j, y0 - 60 i (i, j = 0..size/60)."""
        m = self.size_m // LATTICE_M + 1
        steps = LATTICE_M * np.arange(m, dtype=np.float64)
        xx, yy = np.meshgrid(self.x0 + steps, self.y0 - steps)
        to_lonlat = Transformer.from_crs(self.epsg, 4326, always_xy=True)
        return world_xy(*to_lonlat.transform(xx, yy))

    def upsample(self, nodes: np.ndarray, res: int) -> np.ndarray:
        """Bilinear interpolation from the lattice nodes to pixel centres at `res`.

        Weights depend only on the pixel's place in its 60 m cell, which is the same in every
        tile of a zone, so overlapping tiles get bit-identical values.
        """
        f = LATTICE_M // res
        i = np.arange(self.n(res))
        j, w = i // f, ((i % f) + 0.5) / f
        g = nodes[:, j] * (1 - w) + nodes[:, j + 1] * w
        return g[j] * (1 - w)[:, None] + g[j + 1] * w[:, None]

    def world(self, res: int) -> tuple[np.ndarray, np.ndarray]:
        """World coordinates of the pixel centres at `res` (cached)."""
        if ("world", res) not in self._cache:
            wx, wy = self.node_world
            self._cache[("world", res)] = (self.upsample(wx, res), self.upsample(wy, res))
        return self._cache[("world", res)]

    def outline(self) -> Polygon:
        """The window's edges in lon/lat, densified (6 segments a side) to follow the curve."""
        s = np.linspace(0, self.size_m, 7)
        xs = np.concatenate([self.x0 + s, np.full(7, self.x0 + self.size_m), self.x0 + s[::-1],
                             np.full(7, self.x0)])
        ys = np.concatenate([np.full(7, self.y0), self.y0 - s, np.full(7, self.y0 - self.size_m),
                             self.y0 - s[::-1]])
        lon, lat = Transformer.from_crs(self.epsg, 4326, always_xy=True).transform(xs, ys)
        return Polygon(zip(lon, lat, strict=True))

    def pixel_hash(self, res: int) -> np.ndarray:
        """A hash of each pixel's zone-wide index at `res` (same pixel, same hash in any tile)."""
        if ("hash", res) not in self._cache:
            i = np.arange(self.n(res), dtype=np.int64)
            col, row = (int(self.x0) // res + i)[None, :], (int(self.y0) // res - i)[:, None]
            self._cache[("hash", res)] = hash64(self.epsg, res, col, row)
        return self._cache[("hash", res)]


@dataclass(frozen=True)
class Landscape:
    """The static land cover of the whole world frame for one seed."""

    seed: int

    @cached_property
    def fields(self) -> dict[str, Field]:
        """The land-cover fields, drawn in a fixed order from the seed."""
        rng = np.random.default_rng([self.seed, 0x1A2D])
        spec = {"lake": (1500, 6000), "river": (3000, 9000), "river_gate": (4000, 12000),
                "town": (1500, 5000), "road": (2500, 7000), "forest": (900, 4000),
                "bog": (2000, 6000), "turbidity": (800, 3000), "brightness": (2000, 8000)}
        return {name: random_field(rng, wl) for name, wl in spec.items()}

    def classes(self, grid: SceneGrid) -> dict[str, np.ndarray]:
        """Land-cover class, parcel phenology shift/gain and other static layers at 10 m."""
        nodes = {k: f(*grid.node_world) for k, f in self.fields.items()}
        at10 = {k: grid.upsample(v, 10) for k, v in nodes.items()}
        wx, wy = grid.world(10)
        parcel, hedge, block = self._parcels(wx, wy)
        kind = unit(parcel, 0)
        lc = np.where(kind < 0.62, GRASS, np.where(kind < 0.82, CROP,
                      np.where(kind < 0.94, LATE_CROP, SOIL))).astype(np.uint8)
        lc[hedge] = FOREST
        lc[at10["bog"] > quantile_z(0.94)] = SOIL
        lc[at10["forest"] > quantile_z(0.86)] = FOREST
        town = at10["town"] > quantile_z(0.94)
        lc[town | (np.abs(at10["road"]) < 0.008)] = URBAN
        river = (np.abs(at10["river"]) < 0.03) & (at10["river_gate"] > 0.3)
        lc[river | (at10["lake"] > quantile_z(0.95))] = WATER
        texture = 1 + 0.06 * (unit(hash64(grid.pixel_hash(10), self.seed)) - 0.5)
        gain = (0.92 + 0.16 * unit(parcel, 1)) * (1 + 0.04 * at10["brightness"]) * texture
        urban_gain = 0.75 + 0.7 * unit(block, 0)
        gain = np.where(lc == URBAN, urban_gain * texture, gain).astype(np.float32)
        return {"lc": lc, "phase": (unit(parcel, 2) - 0.5) * 30, "gain": gain,
                "turbidity": np.clip(0.5 + 0.5 * at10["turbidity"], 0, 1).astype(np.float32),
                "bright_roof": (lc == URBAN) & (urban_gain > 1.42)}

    def _parcels(self, wx: np.ndarray, wy: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Field parcels (~260 x 170 m, a rotated brick pattern) with hedgerows at borders."""
        c, s = math.cos(0.3), math.sin(0.3)
        u, v = wx * c + wy * s, -wx * s + wy * c
        row = np.floor(v / 170.0)
        shift = unit(hash64(self.seed, 7, row.astype(np.int64))) * 260.0
        col = np.floor((u + shift) / 260.0)
        parcel = hash64(self.seed, 11, row.astype(np.int64), col.astype(np.int64))
        fu, fv = (u + shift) / 260.0 - col, v / 170.0 - row
        hedge = (np.minimum(fu, 1 - fu) * 260.0 < 5.0) | (np.minimum(fv, 1 - fv) * 170.0 < 5.0)
        block = hash64(self.seed, 13, np.floor(u / 30).astype(np.int64),
                       np.floor(v / 30).astype(np.int64))
        return parcel, hedge & (unit(parcel, 3) < 0.8), block


def _bump(doy: np.ndarray | float, peak: float, width: float) -> np.ndarray:
    """Seasonal bell curve over the circular year."""
    d = (np.asarray(doy) - peak + 182.5) % 365.0 - 182.5
    return np.exp(-0.5 * (d / width) ** 2)


def surface_reflectance(static: dict[str, np.ndarray], doy: int, southern: bool,
                        snow: np.ndarray | None) -> np.ndarray:
    """True clear-sky reflectance (12, n, n) float32 of the static landscape on a day of year."""
    lc = static["lc"]
    day = doy + static["phase"] + (182 if southern else 0)
    green = np.zeros(lc.shape, np.float32)
    for cls, (lo, hi, peak, width) in _PHENOLOGY.items():
        sel = lc == cls
        green[sel] = lo + (hi - lo) * _bump(day[sel], peak, width)
    refl = _GREEN_END.T[:, lc] * green + _BARE_END.T[:, lc] * (1 - green)
    refl *= static["gain"]
    water = lc == WATER
    refl[:, water] += SPECTRA["turbid"][:, None] * static["turbidity"][water]
    soil_wetness = np.float32(0.85 + 0.15 * float(_bump(doy + (182 if southern else 0), 200, 90)))
    refl[:, lc == SOIL] *= soil_wetness
    if snow is not None:
        refl += (SPECTRA["snow"][:, None, None] - refl) * (snow * _SNOW_CATCH[lc])
    return refl.astype(np.float32)


def observation_noise(grid: SceneGrid, seed: int, key: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-date residual atmospheric-correction error: relative (12, n, n) and additive parts."""
    base = grid.pixel_hash(10)
    salts = hash64(seed, key, np.arange(4))
    hashes = [hash64(base ^ salt) for salt in salts]
    band = np.stack([unit(hashes[b // 4], b % 4) for b in range(12)]) - np.float32(0.5)
    common = unit(hashes[3], 0) - np.float32(0.5)
    return 1 + np.float32(0.024) * common + np.float32(0.016) * band, np.float32(0.003) * band


@dataclass(frozen=True)
class Sky:
    """Clouds, shadows, aerosol, snow and swath edge of one acquisition over a group of scenes."""

    key: int  # acquisition key (date ordinal) for per-pixel hashes
    cloud: Field
    threshold: float
    edge: float  # field units over which cloud opacity rises from 0 to 1: thin cloud edges
    brightness: float
    toward_sun: tuple[float, float]  # world metres from a ground point to the cloud shading it
    cirrus: Field
    snow_error: bool  # Sen2Cor calls some cloud cores snow on this date
    pattern: Field
    snow: Field | None
    snow_threshold: float
    aot_base: float
    aot: Field
    wedge: tuple[float, float, float] | None  # no data where nx * wx + ny * wy < c

    def opacity(self, values: np.ndarray) -> np.ndarray:
        """Cloud opacity 0..1 from cloud-field values."""
        return np.clip((values - self.threshold) / self.edge, 0.0, 1.0)

    def layers(self, grid: SceneGrid) -> dict[str, Any]:
        """Per-pixel atmosphere of one scene: 20 m cloud/shadow/aerosol, 10 m snow, no-data."""
        wx, wy = grid.node_world
        dx, dy = self.toward_sun
        out: dict[str, Any] = {
            "alpha": self.opacity(self.cloud(wx, wy)),
            "shadow": self.opacity(self.cloud(wx + dx, wy + dy)),
            "cirrus": self.cirrus(wx, wy),
            "pattern": self.pattern(wx, wy),
            "aot": np.maximum(self.aot_base + 0.04 * self.aot(wx, wy), 0.05),
        }
        out = {k: grid.upsample(v, 20).astype(np.float32) for k, v in out.items()}
        out["snow"] = None
        if self.snow is not None:
            snow = np.clip((self.snow(wx, wy) - self.snow_threshold) / 0.3, 0, 1)
            out["snow"] = grid.upsample(snow, 10).astype(np.float32)
        for res in (10, 20, 60):
            out[f"nodata{res}"] = self.no_data(*grid.world(res))
        return out

    def no_data(self, wx: np.ndarray, wy: np.ndarray) -> np.ndarray:
        """True beyond the swath edge."""
        if self.wedge is None:
            return np.zeros(wx.shape, bool)
        nx, ny, c = self.wedge
        return nx * wx + ny * wy < c


def make_sky(seed: int, key: int, cover: float, extent: tuple[float, float, float, float],
             sun: tuple[float, float], doy: int, lat: float) -> Sky:
    """The sky of one acquisition; cloud cover is `cover` over the world-frame `extent`."""
    rng = np.random.default_rng([seed, 0x5C1, key])
    cloud = random_field(rng, (1200, 9000))
    x0, y0, x1, y1 = extent
    sx, sy = np.meshgrid(np.linspace(x0, x1, 101), np.linspace(y0, y1, 101))
    edge = 0.5
    # The quantile over the whole group, not per scene, so overlapping tiles agree.
    threshold = float(np.quantile(cloud(sx, sy), 1 - cover)) if cover > 0.001 else 1e9
    brightness, height = rng.uniform(0.85, 1.2), rng.uniform(800, 2000)
    azimuth, elevation = (math.radians(a) for a in sun)
    reach = min(height / math.tan(max(elevation, math.radians(5))), 2500.0)
    cirrus, pattern = random_field(rng, (500, 3000)), random_field(rng, (400, 2000))
    snow_error = bool(rng.random() < 0.35)
    # Snow in mid-winter, and only away from the subtropics (none at 29RKH, 25 N).
    winter = float(_bump(doy + (182 if lat < 0 else 0), 15, 35))
    winter *= min(max((abs(lat) - 38) / 10, 0.0), 1.0)
    snow_field, snow_draw, snow_cover = random_field(rng, (2000, 8000)), rng.random(), rng.random()
    aot_base, aot = rng.uniform(0.08, 0.25), random_field(rng, (3000, 15000))
    wedge_draw, corner, tilt, leg = rng.random(), rng.integers(4), rng.uniform(9, 15), rng.random()
    wedge = None
    if wedge_draw < 0.3:
        # A swath edge a dozen degrees off north-south cuts one corner of the group.
        sgx, sgy = (1.0, -1.0)[corner % 2], (1.0, -1.0)[corner // 2]
        cx, cy = (x0, x1)[corner % 2], (y0, y1)[corner // 2]
        a = (0.08 + 0.12 * leg) * (x1 - x0)
        t = math.tan(math.radians(tilt))
        wedge = (sgx, sgy * t, a + sgx * cx + sgy * t * cy)
    snowy = snow_draw < 0.5 * winter
    return Sky(
        key=key, cloud=cloud, threshold=threshold, edge=edge, brightness=float(brightness),
        toward_sun=(reach * math.sin(azimuth), reach * math.cos(azimuth)), cirrus=cirrus,
        snow_error=snow_error, pattern=pattern, snow=snow_field if snowy else None,
        snow_threshold=quantile_z(1 - (0.2 + 0.7 * snow_cover) * winter),
        aot_base=float(aot_base), aot=aot, wedge=wedge,
    )


def footprint(grid: SceneGrid, sky: Sky) -> Polygon:
    """The scene's data footprint in lon/lat: its window (densified) less any swath wedge."""
    shape = grid.outline().buffer(0)
    if sky.wedge is not None:
        shape = shape.difference(_wedge_polygon(sky.wedge, grid))
    return orient(shape if isinstance(shape, Polygon) else max(shape.geoms, key=lambda g: g.area))


def _wedge_polygon(wedge: tuple[float, float, float], grid: SceneGrid) -> Polygon:
    """The no-data half-plane nx*wx + ny*wy < c, clipped to a box around the scene, in lon/lat."""
    wx, wy = grid.node_world
    pad = 4.0 * grid.size_m
    box = [(wx.min() - pad, wy.min() - pad), (wx.max() + pad, wy.min() - pad),
           (wx.max() + pad, wy.max() + pad), (wx.min() - pad, wy.max() + pad)]
    nx, ny, c = wedge
    inside = [nx * x + ny * y < c for x, y in box]
    ring = []
    for i, (p, p_in) in enumerate(zip(box, inside, strict=True)):
        q, q_in = box[(i + 1) % 4], inside[(i + 1) % 4]
        if p_in:
            ring.append(p)
        if p_in != q_in:  # the edge crosses the line: add the crossing (Sutherland-Hodgman)
            fp, fq = nx * p[0] + ny * p[1] - c, nx * q[0] + ny * q[1] - c
            k = fp / (fp - fq)
            ring.append((p[0] + k * (q[0] - p[0]), p[1] + k * (q[1] - p[1])))
    lon, lat = lonlat_from_world(np.array([p[0] for p in ring]), np.array([p[1] for p in ring]))
    return Polygon(zip(lon, lat, strict=True))


def observe(truth: np.ndarray, atmosphere: dict[str, Any], sky: Sky,
            noise: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """What the sensor sees at 10 m: truth with residual noise, shadows and clouds."""
    alpha = np.repeat(np.repeat(atmosphere["alpha"], 2, 0), 2, 1)
    shadow = np.repeat(np.repeat(atmosphere["shadow"], 2, 0), 2, 1) * (1 - alpha)
    obs = truth * noise[0] + noise[1]
    obs *= 1 - _SHADOW_DEPTH * shadow
    cloud = SPECTRA["cloud"][:, None, None] * np.float32(sky.brightness) * (0.8 + 0.2 * alpha)
    obs += (cloud - obs) * alpha
    return obs


def aggregate(a: np.ndarray, f: int) -> np.ndarray:
    """Mean of f x f blocks over the last two axes (explicit order for f == 2: reproducible)."""
    if f == 1:
        return a
    if f == 2:
        return ((a[..., 0::2, 0::2] + a[..., 0::2, 1::2]) +
                (a[..., 1::2, 0::2] + a[..., 1::2, 1::2])) * np.float32(0.25)
    *lead, h, w = a.shape
    return a.reshape(*lead, h // f, f, w // f, f).mean(axis=(-3, -1), dtype=np.float32)


def sun_angles(when: datetime, lon: float, lat: float) -> tuple[float, float]:
    """Solar azimuth (degrees clockwise from north) and elevation (NOAA low-precision formulas)."""
    doy = when.timetuple().tm_yday
    hours = when.hour + when.minute / 60 + when.second / 3600
    g = 2 * math.pi / 365 * (doy - 1 + (hours - 12) / 24)
    decl = (0.006918 - 0.399912 * math.cos(g) + 0.070257 * math.sin(g)
            - 0.006758 * math.cos(2 * g) + 0.000907 * math.sin(2 * g)
            - 0.002697 * math.cos(3 * g) + 0.00148 * math.sin(3 * g))
    eqtime = 229.18 * (0.000075 + 0.001868 * math.cos(g) - 0.032077 * math.sin(g)
                       - 0.014615 * math.cos(2 * g) - 0.040849 * math.sin(2 * g))
    hour_angle = math.radians((hours * 60 + eqtime + 4 * lon) / 4 - 180)
    phi = math.radians(lat)
    cos_zenith = (math.sin(phi) * math.sin(decl)
                  + math.cos(phi) * math.cos(decl) * math.cos(hour_angle))
    elevation = 90 - math.degrees(math.acos(max(-1.0, min(1.0, cos_zenith))))
    azimuth = math.degrees(math.atan2(math.sin(hour_angle), math.cos(hour_angle) * math.sin(phi)
                                      - math.tan(decl) * math.cos(phi))) + 180
    return azimuth % 360, elevation


def scene_classification(static: dict[str, np.ndarray], truth20: np.ndarray,
                         atm: dict[str, Any], sky: Sky, scl_noise: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Sen2Cor-like SCL and the true cloud mask (0 clear, 1 cloud, 2 shadow), both at 20 m.

    Deliberate Sen2Cor errors: the thinnest cloud edge and the penumbra of shadows pass as
    clear, urban lands mostly in 'unclassified', bright roofs are called cloud, and on some dates
    thick cloud cores are called snow.
    """
    lc = static["lc"][0::2, 0::2]
    alpha, shadow = atm["alpha"], atm["shadow"]
    seen, thin, thick = _SEEN_CLOUD, _THIN_CLOUD, _THICK_CLOUD
    red, nir = truth20[3], truth20[7]
    ndvi = (nir - red) / np.maximum(nir + red, np.float32(1e-6))
    scl = np.full(lc.shape, l2a.SCL_VEGETATION, np.uint8)
    scl[(ndvi < 0.35) | (lc == SOIL)] = l2a.SCL_BARE_SOIL
    scl[lc == WATER] = l2a.SCL_WATER
    scl[(lc == URBAN) & (scl_noise < 0.65)] = l2a.SCL_UNCLASSIFIED
    scl[static["bright_roof"][0::2, 0::2]] = l2a.SCL_CLOUD_MEDIUM
    if atm["snow"] is not None:
        scl[atm["snow"][0::2, 0::2] * (lc != WATER) >= 0.5] = l2a.SCL_SNOW
    scl[(shadow >= _SEEN_SHADOW) & (alpha < seen)] = l2a.SCL_CLOUD_SHADOW
    scl[alpha >= seen] = l2a.SCL_CLOUD_MEDIUM
    scl[(alpha >= seen) & (alpha < thin) & (atm["cirrus"] > 0.3)] = l2a.SCL_CIRRUS
    scl[alpha >= thick] = l2a.SCL_CLOUD_HIGH
    if sky.snow_error:
        scl[(alpha >= thick) & (atm["pattern"] > 1.2)] = l2a.SCL_SNOW
    scl[atm["nodata20"]] = l2a.SCL_NO_DATA
    truth = np.zeros(lc.shape, np.uint8)
    truth[(shadow >= _TRUE_SHADOW) & (alpha < _TRUE_CLOUD)] = 2
    truth[alpha >= _TRUE_CLOUD] = 1
    return scl, truth


def probabilities(static: dict[str, np.ndarray], atm: dict[str, Any], sky: Sky,
                  scl: np.ndarray, noise: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sen2Cor-like cloud and snow probabilities (uint8 %, 255 no data) at 20 m.

    Consistent with `scene_classification` and as imperfect: the cloud probability rises with
    opacity through Sen2Cor's class limits (medium 35-65 %, high above 65 %), so the faint cloud
    ring it misses scores under 35 %; bright roofs score as medium clouds; cloud cores Sen2Cor
    calls snow score low on cloud and high on snow.
    """
    lc = static["lc"][0::2, 0::2]
    jitter = (noise - np.float32(0.5)) * np.float32(10)
    cloud = np.interp(atm["alpha"], [0.0, _SEEN_CLOUD, _THICK_CLOUD, 1.0], [0, 35, 65, 100])
    cloud = np.where(static["bright_roof"][0::2, 0::2], 50.0, cloud) + jitter
    snow = np.zeros(lc.shape, np.float32)
    if atm["snow"] is not None:
        snow = 100 * atm["snow"][0::2, 0::2] * _SNOW_CATCH[lc] * (1 - atm["alpha"])
    snow = snow + jitter
    if sky.snow_error:
        core = (atm["alpha"] >= _THICK_CLOUD) & (atm["pattern"] > 1.2)
        cloud = np.where(core, 8.0 + jitter, cloud)
        snow = np.where(core, 80.0 + jitter, snow)
    nodata = scl == l2a.SCL_NO_DATA
    out = []
    for values in (cloud, snow):
        stored = np.clip(np.rint(values), 0, 100).astype(np.uint8)
        stored[nodata] = 255
        out.append(stored)
    return out[0], out[1]
