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
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
from affine import Affine
from pyproj import Transformer

# The validity rule of S2GM (ATBD 2.4.1): observations seen at a mean view zenith of this or
# more are swath-border artefacts and not valid.
MAX_VIEW_ZENITH_DEG = 11.0


@lru_cache(maxsize=512)
def load_angles(href: str) -> dict[str, Any]:
    """The parsed angles document (cached per process: the same for every chunk)."""
    with open(href, encoding="utf-8") as f:
        doc = json.load(f)
    if "view_azimuth_mean" not in doc and doc.get("view_azimuth"):
        doc["view_azimuth_mean"] = circular_mean_grid(
            [g for b, g in sorted(doc["view_azimuth"].items()) if b != "B10" and g])
    return doc


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


def _bilinear(nodes: np.ndarray, fi: np.ndarray, fj: np.ndarray) -> np.ndarray:
    """NaN-aware bilinear interpolation of nodes at fractional (row, col) indices."""
    n_i, n_j = nodes.shape
    fi = np.clip(fi, 0, n_i - 1)
    fj = np.clip(fj, 0, n_j - 1)
    i0 = np.minimum(np.floor(fi).astype(np.intp), max(n_i - 2, 0))
    j0 = np.minimum(np.floor(fj).astype(np.intp), max(n_j - 2, 0))
    i1, j1 = np.minimum(i0 + 1, n_i - 1), np.minimum(j0 + 1, n_j - 1)
    di, dj = fi - i0, fj - j0
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


def angles_on_chunk(doc: dict[str, Any], chunk_transform: Affine, shape: tuple[int, int],
                    chunk_epsg: int) -> dict[str, np.ndarray]:
    """Layer name -> (y, x) float32 degrees on the chunk; azimuths in [0, 360).

    Layers the document has no grid for are absent.
    """
    col_step, row_step = doc.get("col_step"), doc.get("row_step")
    if not col_step or not row_step or doc.get("ulx") is None or doc.get("uly") is None:
        return {}
    ulx, uly = float(doc["ulx"]), float(doc["uly"])
    t = chunk_transform
    interp: Callable[[np.ndarray], np.ndarray]
    if str(doc["crs"]) == f"EPSG:{chunk_epsg}" and t.b == 0 and t.d == 0:
        # Rows and columns of the chunk are lines of the grid: bilinear is separable, first
        # along the grid's rows for each chunk row, then along its columns for each pixel.
        h, w = shape
        fi = (uly - (t.f + t.e * (np.arange(h) + 0.5))) / float(row_step)
        fj = (t.c + t.a * (np.arange(w) + 0.5) - ulx) / float(col_step)

        def interp(nodes: np.ndarray) -> np.ndarray:
            ok = np.isfinite(nodes)
            i0, i1, di = _axis(fi, nodes.shape[0])
            j0, j1, dj = _axis(fj, nodes.shape[1])
            out = []
            for v in (np.where(ok, nodes, 0.0), ok.astype(np.float64)):
                along = v[i0] * (1 - di)[:, None] + v[i1] * di[:, None]
                out.append(along[:, j0] * (1 - dj) + along[:, j1] * dj)
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(out[1] > 1e-12, out[0] / out[1], np.nan)
    else:
        x, y = _tile_coords(chunk_transform, shape, chunk_epsg, str(doc["crs"]))
        fj, fi = (x - ulx) / float(col_step), (uly - y) / float(row_step)

        def interp(nodes: np.ndarray) -> np.ndarray:
            return _bilinear(nodes, fi, fj)

    out: dict[str, np.ndarray] = {}
    sun_zenith = _array(doc.get("sun_zenith"))
    if sun_zenith is not None:
        out["sun_zenith"] = interp(sun_zenith).astype(np.float32)
    sun_azimuth = _array(doc.get("sun_azimuth"))
    if sun_azimuth is not None:
        a = np.radians(sun_azimuth)
        out["sun_azimuth"] = _direction(interp(np.sin(a)), interp(np.cos(a)))
    view_zenith = _array(doc.get("view_zenith_mean"))
    if view_zenith is not None:
        out["view_zenith_mean"] = interp(view_zenith).astype(np.float32)
        view_azimuth = _array(doc.get("view_azimuth_mean"))
        if view_azimuth is not None:
            a, r = np.radians(view_azimuth), np.tan(np.radians(view_zenith))
            out["view_azimuth_mean"] = _direction(interp(r * np.sin(a)), interp(r * np.cos(a)))
    return out


def _axis(f: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower node, upper node and weight of the upper one along an axis of n nodes, clamped to
    the grid and the last cell extended, as `_bilinear` takes them."""
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

