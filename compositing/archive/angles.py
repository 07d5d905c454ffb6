"""Sun and viewing angle grids (5 km, MTD_TL.xml) onto an output chunk.

The grids come from an item's `angles` asset: the JSON sidecar that ingest writes for SAFE
products and the demo archive writes for its scenes (`safe.angles_document`). Node (i, j) of a
grid lies at (ulx + j * col_step, uly - i * row_step) in the tile's CRS, the first node on the
tile's upper-left corner, as in MTD_TL.xml.

Angles vary smoothly over kilometres, so bilinear interpolation is right here (unlike for
reflectance). Nodes without a value (beyond a detector's coverage) are left out and the weights
of the others renormalised. Azimuths are not interpolated as numbers (they wrap at 360°): the
sun's as a unit vector, the view's as the horizontal view vector tan(zenith) (sin, cos)(azimuth),
which stays smooth where the view azimuth flips by 180° across the nadir line.

A document's grids are parsed once (`angle_grids`); per chunk only the layers ordered are
interpolated, and the too-oblique mask of the validity rule (`too_oblique`) only where the
chunk straddles the threshold.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from affine import Affine
from pyproj import Transformer

from compositing.archive.network import read_bytes

# The validity rule of S2GM (ATBD 2.4.1): observations seen at a mean view zenith of this or
# more are swath-border artefacts and not valid.
MAX_VIEW_ZENITH_DEG = 11.0


# A granule's MTD_TL.xml is about 0.5 MB; anything far larger is not one.
_MAX_METADATA_BYTES = 16 * 2**20


@lru_cache(maxsize=512)
def load_angles(href: str) -> dict[str, Any]:
    """The parsed angles document (cached per process: the same for every chunk): the hub's
    JSON sidecar, or the granule's own MTD_TL.xml, which the catalogues of other archives
    list (read as ingest reads it from a SAFE, `safe.angles_document`)."""
    data = _fetch(href)
    if data.lstrip()[:1] == b"<":
        from compositing.archive import safe

        doc = safe.angles_document(safe.parse_tile(data))
    else:
        doc = json.loads(data)
    if "view_azimuth_mean" not in doc and doc.get("view_azimuth"):
        doc["view_azimuth_mean"] = circular_mean_grid(
            [g for b, g in sorted(doc["view_azimuth"].items()) if b != "B10" and g])
    return doc


def _fetch(href: str) -> bytes:
    """The bytes of a local file, or of a remote one read as the rasters are (GDAL's virtual
    file systems: the archive's options and credentials, retries)."""
    if "://" in href:
        return read_bytes(href, _MAX_METADATA_BYTES)
    with open(href, "rb") as f:
        return f.read()


def circular_mean_grid(grids: list[list[list[float | None]]]) -> list[list[float | None]] | None:
    """Cell-wise mean direction (degrees, 0-360) of azimuth grids; None where no grid has one."""
    if not grids:
        return None
    a = np.radians(np.array([[[np.nan if v is None else v for v in row] for row in g]
                             for g in grids], dtype=np.float64))
    with np.errstate(invalid="ignore"):
        s, c = np.nanmean(np.sin(a), axis=0), np.nanmean(np.cos(a), axis=0)
    mean = np.degrees(np.arctan2(s, c)) % 360
    return [[None if not np.isfinite(v) else round(float(v), 4) for v in row] for row in mean]


def _array(grid: list[list[float | None]] | None) -> np.ndarray | None:
    if not grid:
        return None
    return np.array([[np.nan if v is None else v for v in row] for row in grid], np.float64)


@dataclass(frozen=True, eq=False)
class AngleGrids:
    """The node grids of one angles document, parsed once: NaN where a node has no value, the
    azimuths already as the vector components that are interpolated."""

    crs: str
    ulx: float
    uly: float
    col_step: float
    row_step: float
    sun_zenith: np.ndarray | None
    sun_azimuth: tuple[np.ndarray, np.ndarray] | None  # (east, north) of the unit vector
    view_zenith: np.ndarray | None
    view_azimuth: tuple[np.ndarray, np.ndarray] | None  # tan(zenith) (sin, cos)(azimuth)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> AngleGrids | None:
        """The grids of a document; None when it does not place its grid."""
        col_step, row_step = doc.get("col_step"), doc.get("row_step")
        if not col_step or not row_step or doc.get("ulx") is None or doc.get("uly") is None:
            return None
        sun_zenith, sun_az = _array(doc.get("sun_zenith")), _array(doc.get("sun_azimuth"))
        view_zenith, view_az = _array(doc.get("view_zenith_mean")), _array(
            doc.get("view_azimuth_mean"))
        sun_vector = view_vector = None
        if sun_az is not None:
            a = np.radians(sun_az)
            sun_vector = (np.sin(a), np.cos(a))
        if view_zenith is not None and view_az is not None:
            a, r = np.radians(view_az), np.tan(np.radians(view_zenith))
            view_vector = (r * np.sin(a), r * np.cos(a))
        return cls(str(doc["crs"]), float(doc["ulx"]), float(doc["uly"]), float(col_step),
                   float(row_step), sun_zenith, sun_vector, view_zenith, view_vector)


@lru_cache(maxsize=512)
def angle_grids(href: str) -> AngleGrids | None:
    """The parsed grids of an angles document (cached per process: the same for every chunk)."""
    return AngleGrids.from_doc(load_angles(href))


def _grids(source: AngleGrids | dict[str, Any]) -> AngleGrids | None:
    return source if isinstance(source, AngleGrids) else AngleGrids.from_doc(source)


@lru_cache(maxsize=64)
def _tile_coords(chunk_transform: Affine, shape: tuple[int, int], chunk_epsg: int,
                 tile_crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Pixel centres of the chunk in the tile's CRS (cached: shared by all observations)."""
    h, w = shape
    cols, rows = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    t = chunk_transform
    x, y = t.a * cols + t.b * rows + t.c, t.d * cols + t.e * rows + t.f
    if tile_crs != f"EPSG:{chunk_epsg}":
        x, y = Transformer.from_crs(chunk_epsg, tile_crs, always_xy=True).transform(x, y)
    return np.asarray(x, np.float64), np.asarray(y, np.float64)


@lru_cache(maxsize=64)
def _tile_extent(chunk_transform: Affine, shape: tuple[int, int], chunk_epsg: int,
                 tile_crs: str) -> tuple[float, float, float, float]:
    """(min x, max x, min y, max y) of `_tile_coords`: the node cells a chunk can touch."""
    x, y = _tile_coords(chunk_transform, shape, chunk_epsg, tile_crs)
    return float(x.min()), float(x.max()), float(y.min()), float(y.max())


def _bilinear(nodes: np.ndarray, fi: np.ndarray, fj: np.ndarray) -> np.ndarray:
    """NaN-aware bilinear interpolation of nodes at fractional (row, col) indices."""
    i0, i1, di = _axis(fi, nodes.shape[0])
    j0, j1, dj = _axis(fj, nodes.shape[1])
    total = np.zeros(fi.shape)
    weight = np.zeros(fi.shape)
    for ii, jj, wgt in ((i0, j0, (1 - di) * (1 - dj)), (i0, j1, (1 - di) * dj),
                        (i1, j0, di * (1 - dj)), (i1, j1, di * dj)):
        v = nodes[ii, jj]
        ok = np.isfinite(v)
        total += np.where(ok, v, 0.0) * wgt
        weight += np.where(ok, wgt, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(weight > 1e-12, total / weight, np.nan)


class _Separable:
    """Chunk rows and columns that are lines of the grid: bilinear is separable, first along
    the grid's rows for each chunk row, then along its columns for each pixel."""

    def __init__(self, grids: AngleGrids, t: Affine, shape: tuple[int, int]) -> None:
        h, w = shape
        self.fi = (grids.uly - (t.f + t.e * (np.arange(h) + 0.5))) / grids.row_step
        self.fj = (t.c + t.a * (np.arange(w) + 0.5) - grids.ulx) / grids.col_step

    def interp(self, nodes: np.ndarray) -> np.ndarray:
        ok = np.isfinite(nodes)
        i0, i1, di = _axis(self.fi, nodes.shape[0])
        j0, j1, dj = _axis(self.fj, nodes.shape[1])
        out = []
        for v in (np.where(ok, nodes, 0.0), ok.astype(np.float64)):
            along = v[i0] * (1 - di)[:, None] + v[i1] * di[:, None]
            out.append(along[:, j0] * (1 - dj) + along[:, j1] * dj)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(out[1] > 1e-12, out[0] / out[1], np.nan)

    def window(self, n_i: int, n_j: int) -> tuple[slice, slice]:
        """The nodes that `interp` weighs for some pixel of the chunk."""
        return _span(self.fi, n_i), _span(self.fj, n_j)


class _Reprojected:
    """Any other chunk: each pixel centre in the tile's CRS, interpolated on its own."""

    def __init__(self, grids: AngleGrids, t: Affine, shape: tuple[int, int],
                 chunk_epsg: int) -> None:
        self.grids, self.key = grids, (t, shape, chunk_epsg, grids.crs)

    def interp(self, nodes: np.ndarray) -> np.ndarray:
        x, y = _tile_coords(*self.key)
        g = self.grids
        return _bilinear(nodes, (g.uly - y) / g.row_step, (x - g.ulx) / g.col_step)

    def window(self, n_i: int, n_j: int) -> tuple[slice, slice] | None:
        """The nodes that `interp` weighs for some pixel; None where a centre has no place.

        The fractional indices are monotonic in x and y (IEEE rounding is), so their extremes
        are those of the extremes of the coordinates, computed the same way."""
        x_min, x_max, y_min, y_max = _tile_extent(*self.key)
        g = self.grids
        fi = (g.uly - np.array([y_max, y_min])) / g.row_step
        fj = (np.array([x_min, x_max]) - g.ulx) / g.col_step
        if not (np.isfinite(fi).all() and np.isfinite(fj).all()):
            return None
        return _span(fi, n_i), _span(fj, n_j)


def _sampling(grids: AngleGrids, t: Affine, shape: tuple[int, int],
              chunk_epsg: int) -> _Separable | _Reprojected:
    if grids.crs == f"EPSG:{chunk_epsg}" and t.b == 0 and t.d == 0:
        return _Separable(grids, t, shape)
    return _Reprojected(grids, t, shape, chunk_epsg)


def angles_on_chunk(doc: AngleGrids | dict[str, Any], chunk_transform: Affine,
                    shape: tuple[int, int], chunk_epsg: int,
                    names: Collection[str] | None = None) -> dict[str, np.ndarray]:
    """Layer name -> (y, x) float32 degrees on the chunk; azimuths in [0, 360).

    Only the layers in `names` (all when None); layers the document has no grid for are absent.
    """
    grids = _grids(doc)
    if grids is None:
        return {}
    s = _sampling(grids, chunk_transform, shape, chunk_epsg)
    layers = {"sun_zenith": grids.sun_zenith, "sun_azimuth": grids.sun_azimuth,
              "view_zenith_mean": grids.view_zenith, "view_azimuth_mean": grids.view_azimuth}
    out: dict[str, np.ndarray] = {}
    for name, nodes in layers.items():
        if nodes is None or (names is not None and name not in names):
            continue
        out[name] = (_direction(*(s.interp(v) for v in nodes)) if isinstance(nodes, tuple)
                     else s.interp(nodes).astype(np.float32))
    return out


def too_oblique(doc: AngleGrids | dict[str, Any], chunk_transform: Affine,
                shape: tuple[int, int], chunk_epsg: int) -> np.ndarray | None:
    """Where the mean view zenith on the chunk is `MAX_VIEW_ZENITH_DEG` or more, exactly as
    thresholding `angles_on_chunk`'s layer gives it (a pixel without a value is not); None when
    no pixel is, or the document has no view zenith grid.

    Interpolated only for chunks that straddle the threshold: bilinear is a convex combination
    of the finite nodes around a pixel, so a chunk whose nodes are all below (all finite and at
    or above) the threshold is all False (all True) without it.
    """
    grids = _grids(doc)
    if grids is None or grids.view_zenith is None:
        return None
    s = _sampling(grids, chunk_transform, shape, chunk_epsg)
    nodes = grids.view_zenith
    window = s.window(*nodes.shape)
    if window is not None:
        block = nodes[window]
        finite = block[np.isfinite(block)]
        if not finite.size:
            return None  # no pixel has a value
        # More than the rounding of the weights in float64 and of the layer to float32 (half a
        # float32 step at 11° is 5e-7°): only chunks certainly on one side skip interpolation.
        slack = 1e-5 * max(1.0, float(np.abs(finite).max()))
        if finite.max() < MAX_VIEW_ZENITH_DEG - slack:
            return None
        if finite.size == block.size and finite.min() >= MAX_VIEW_ZENITH_DEG + slack:
            return np.ones(shape, bool)
    mask = s.interp(nodes).astype(np.float32) >= MAX_VIEW_ZENITH_DEG
    return mask if mask.any() else None


def _span(f: np.ndarray, n: int) -> slice:
    """The nodes along an axis that `_axis` takes for the positions f."""
    lower, upper, _ = _axis(f, n)
    return slice(int(lower.min()), int(upper.max()) + 1)


def _axis(f: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower node, upper node and weight of the upper one along an axis of n nodes, clamped to
    the grid and the last cell extended."""
    g = np.clip(f, 0, n - 1)
    i0 = np.minimum(np.floor(g).astype(np.intp), max(n - 2, 0))
    return i0, np.minimum(i0 + 1, n - 1), g - i0


def _direction(east: np.ndarray, north: np.ndarray) -> np.ndarray:
    """Azimuth in degrees [0, 360) clockwise from north of a horizontal vector."""
    with np.errstate(invalid="ignore"):
        return (np.degrees(np.arctan2(east, north)) % 360).astype(np.float32)


def signed_azimuth(degrees: np.ndarray) -> np.ndarray:
    """Azimuth moved into (-180, 180], so that 0.01° steps fit an int16 layer."""
    return np.where(degrees > 180, degrees - 360, degrees)


def node_grid(ulx: float, uly: float, step: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Tile-CRS coordinates (x, y) of an n x n grid of nodes from (ulx, uly), `step` apart."""
    steps = step * np.arange(n, dtype=np.float64)
    return np.meshgrid(ulx + steps, uly - steps)


def incidence_zenith(cross_track_m: np.ndarray, altitude_m: float = 786e3,
                     earth_radius_m: float = 6.371e6) -> np.ndarray:
    """View zenith (degrees) at a ground distance from the nadir line: off-nadir angle plus the
    Earth's central angle (a spherical Earth)."""
    d = np.abs(cross_track_m)
    return np.degrees(np.arctan(d / altitude_m) + d / earth_radius_m)

