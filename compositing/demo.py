"""Demo Sentinel-2 L2A archive: synthetic scenes in the real on-disk shape, with their truth.

Layout (read by `compositing.catalog` and the rest of the hub)::

    {archive}/sentinel-2-l2a/{item_id}/{item_id}.json     STAC Item 1.0.0, hrefs relative
    {archive}/sentinel-2-l2a/{item_id}/B01.tif ... B12.tif, B8A.tif   uint16 COG, native 10/20/60 m
    {archive}/sentinel-2-l2a/{item_id}/SCL.tif, AOT.tif   uint8 / uint16 COG at 20 m
    {archive}/sentinel-2-l2a/{item_id}/truth/reflectance.tif   float32, 12 bands at 20 m
    {archive}/sentinel-2-l2a/{item_id}/truth/cloud.tif         uint8: 0 clear, 1 cloud, 2 shadow

Each scene is a `size_m` square window of a real MGRS tile, on the tile's real grid. Acquisitions
follow the real 5-day revisit of relative orbit 23 (S2A and S2B alternating), so the same
acquisition appears in every requested tile with the same datatake id. The surface physics and
clouds live in `compositing.demo_scene`. The truth rasters cover the whole window, also where a
swath wedge leaves the product without data (DN 0 in every band, SCL 0).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from pyproj import Transformer
from shapely.geometry import Polygon, mapping
from shapely.geometry.polygon import orient

from compositing import demo_scene as ds
from compositing import l2a
from compositing.mgrs import TILE_LATTICE_M, TILE_SIZE_M, Tile, tile

COLLECTION = "sentinel-2-l2a"
DEMO_START = date(2023, 6, 1)
DEMO_END = date(2023, 6, 30)
DEMO_TILES: tuple[str, ...] = ("29UNU", "29UPU")
# Middle of the 29UNU/29UPU overlap strip (E 600000-609780) in EPSG:32629, mid-tile northing.
DEMO_CENTER_32629 = (604890.0, 5845140.0)
# A ~3 km x 3 km square around the centre, as a lon/lat bbox. It crosses the edges of both
# default scene windows, so a composite needs both tiles, and it is clear of any swath wedge.
DEMO_AOI_BBOX: tuple[float, float, float, float] = (-7.4688, 52.7321, -7.4234, 52.7597)

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
    f"https://stac-extensions.github.io/{name}/schema.json"
    for name in ("eo/v1.1.0", "projection/v1.1.0", "raster/v1.1.0", "mgrs/v1.0.0",
                 "grid/v1.1.0", "view/v1.0.0")
]
_TRUTH_STEPS = 2.0**14
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


def scene_grid(t: Tile, size_m: int) -> ds.SceneGrid:
    """The demo window of a tile: near the demo centre, pushed toward the tile's interior.

    Windows of tiles on either side of the centre overlap by a third of their size, so an
    AOI around the centre needs both; the window is clamped into the tile and snapped to the
    tile's 60 m grid so that pixels of all resolutions (and of overlapping tiles) nest.
    """
    to_tile = Transformer.from_crs(32629, t.epsg, always_xy=True)
    cx, cy = to_tile.transform(*DEMO_CENTER_32629)
    left, bottom, right, top = t.bounds
    side = 1.0 if (left + right) / 2 >= cx else -1.0
    x0 = cx + side * (size_m / 3) - size_m / 2
    y0 = cy + size_m / 2

    def snap(v: float, lo: float, hi: float, origin: float) -> float:
        return min(max(origin + TILE_LATTICE_M * round((v - origin) / TILE_LATTICE_M), lo), hi)

    return ds.SceneGrid(t.epsg, snap(x0, left, right - size_m, t.ulx),
                        snap(y0, bottom + size_m, top, t.uly), size_m)


def _groups(grids: dict[str, ds.SceneGrid]) -> dict[str, tuple[float, float, float, float]]:
    """World-frame extent of the group of overlapping windows that each tile belongs to."""
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


def build_demo_archive(archive_dir: Path, *, start: date = DEMO_START, end: date = DEMO_END,
                       tiles: Sequence[str] = DEMO_TILES, size_m: int = 6000,
                       seed: int = 0) -> list[Path]:
    """Write demo L2A scenes of `tiles` from start to end; return the STAC Item paths.

    Serial on purpose: writing COGs holds the GIL in rasterio, so threads gain nothing, and
    the default build takes a few seconds.
    """
    if size_m <= 0 or size_m % TILE_LATTICE_M or size_m > TILE_SIZE_M:
        raise ValueError(f"size_m must be a multiple of {TILE_LATTICE_M} m up to {TILE_SIZE_M}")
    if end < start:
        raise ValueError("end is before start")
    chosen = {t.id: t for t in (tile(tid) for tid in tiles)}
    grids = {tid: scene_grid(t, size_m) for tid, t in chosen.items()}
    extents = _groups(grids)
    landscape = ds.Landscape(seed)
    statics = {tid: landscape.classes(grid) for tid, grid in grids.items()}
    paths = []
    for acq in acquisitions(start, end, seed):
        skies: dict[tuple[float, ...], ds.Sky] = {}
        for tid, t in chosen.items():
            if extents[tid] not in skies:  # one sky per group of overlapping windows
                skies[extents[tid]] = _sky(seed, acq, extents[tid])
            sky = skies[extents[tid]]
            paths.append(_write_scene(Path(archive_dir), t, grids[tid], acq, sky, statics[tid],
                                      seed))
    return sorted(paths)


def _sky(seed: int, acq: Acquisition, extent: tuple[float, float, float, float]) -> ds.Sky:
    """The acquisition's sky over one group, sun taken at the group's centre."""
    lon, lat = ds.lonlat_from_world((extent[0] + extent[2]) / 2, (extent[1] + extent[3]) / 2)
    sun = ds.sun_angles(acq.sensing, float(lon), float(lat))
    return ds.make_sky(seed, acq.day.toordinal(), acq.cover, extent, sun,
                       acq.day.timetuple().tm_yday, float(lat))


def item_id(t: Tile, acq: Acquisition) -> str:
    """Earth Search style item id, e.g. S2A_29UNU_20230602_0_L2A."""
    return f"{acq.platform}_{t.id}_{acq.day:%Y%m%d}_0_L2A"


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
    return {"bands": bands, "scl": scl, "cloud": cloud, "truth": truth,
            "aot": np.where(atm["nodata20"], 0, aot).astype(np.uint16),
            "valid": ~atm["nodata20"]}


def _tile_key(t: Tile) -> int:
    return int.from_bytes(t.id.encode(), "big")


def _write_scene(archive: Path, t: Tile, grid: ds.SceneGrid, acq: Acquisition, sky: ds.Sky,
                 static: dict[str, np.ndarray], seed: int) -> Path:
    """Render one scene and write its COGs and STAC Item; return the Item path."""
    r = render_scene(t, grid, acq, sky, static, seed)
    iid = item_id(t, acq)
    folder = archive / COLLECTION / iid
    (folder / "truth").mkdir(parents=True, exist_ok=True)
    for band in l2a.BANDS:
        write_cog(folder / f"{band.name}.tif", r["bands"][band.name], grid, band.native_m,
                  [band.name], nodata=0)
    write_cog(folder / "SCL.tif", r["scl"], grid, 20, ["SCL"], nodata=0, categorical=True)
    write_cog(folder / "AOT.tif", r["aot"], grid, 20, ["AOT"], nodata=0)
    write_cog(folder / "truth" / "reflectance.tif", r["truth"], grid, 20, list(l2a.BAND_NAMES))
    write_cog(folder / "truth" / "cloud.tif", r["cloud"], grid, 20, ["cloud"], categorical=True)
    item = stac_item(t, grid, acq, sky, r)
    path = folder / f"{iid}.json"
    path.write_text(json.dumps(item, indent=1) + "\n")
    return path


def write_cog(path: Path, data: np.ndarray, grid: ds.SceneGrid, res: int,
              descriptions: list[str], *, nodata: float | None = None,
              categorical: bool = False) -> None:
    """One Cloud-Optimized GeoTIFF (DEFLATE, band descriptions) on the tile's grid at `res`."""
    data = data if data.ndim == 3 else data[None]
    floating = data.dtype.kind == "f"
    profile = {
        "driver": "COG", "width": data.shape[2], "height": data.shape[1], "count": data.shape[0],
        "dtype": data.dtype.name, "crs": f"EPSG:{grid.epsg}", "nodata": nodata,
        "transform": Affine(res, 0, grid.x0, 0, -res, grid.y0), "compress": "DEFLATE",
        "predictor": 3 if floating else 2, "blocksize": 512,
        "resampling": "NEAREST" if categorical else "AVERAGE",
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        for i, text in enumerate(descriptions, start=1):
            dst.set_band_description(i, text)


def footprint(t: Tile, grid: ds.SceneGrid, sky: ds.Sky) -> Polygon:
    """The scene's data footprint in lon/lat: its window (densified) less any swath wedge."""
    s = np.linspace(0, grid.size_m, 7)
    xs = np.concatenate([grid.x0 + s, np.full(7, grid.x0 + grid.size_m), grid.x0 + s[::-1],
                         np.full(7, grid.x0)])
    ys = np.concatenate([np.full(7, grid.y0), grid.y0 - s, np.full(7, grid.y0 - grid.size_m),
                         grid.y0 - s[::-1]])
    lon, lat = Transformer.from_crs(t.epsg, 4326, always_xy=True).transform(xs, ys)
    shape = Polygon(zip(lon, lat, strict=True)).buffer(0)
    if sky.wedge is not None:
        shape = shape.difference(_wedge_polygon(sky.wedge, grid))
    return orient(shape if isinstance(shape, Polygon) else max(shape.geoms, key=lambda g: g.area))


def _wedge_polygon(wedge: tuple[float, float, float], grid: ds.SceneGrid) -> Polygon:
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
    lon, lat = ds.lonlat_from_world(np.array([p[0] for p in ring]), np.array([p[1] for p in ring]))
    return Polygon(zip(lon, lat, strict=True))


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
              rendered: dict[str, Any]) -> dict[str, Any]:
    """The scene's STAC Item (Earth Search style, band-named assets, relative hrefs)."""
    shape = footprint(t, grid, sky)
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
        "type": "Feature", "stac_version": "1.0.0", "stac_extensions": _EXTENSIONS,
        "id": item_id(t, acq), "collection": COLLECTION,
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
    assets["truth_reflectance"] = _raster_asset(
        grid, 20, "./truth/reflectance.tif", "True clear-sky reflectance (synthetic truth)",
        ["truth"], [{"data_type": "float32", "spatial_resolution": 20} for _ in l2a.BANDS],
        **{"eo:bands": [_eo_band(b) for b in l2a.BANDS]})
    assets["truth_cloud"] = _raster_asset(
        grid, 20, "./truth/cloud.tif", "True cloud mask: 0 clear, 1 cloud, 2 cloud shadow",
        ["truth"], [{"data_type": "uint8", "spatial_resolution": 20}])
    return assets


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: python -m compositing.demo ARCHIVE_DIR [--start --end --tiles ...]."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archive_dir", type=Path)
    parser.add_argument("--start", type=date.fromisoformat, default=DEMO_START)
    parser.add_argument("--end", type=date.fromisoformat, default=DEMO_END)
    parser.add_argument("--tiles", default=",".join(DEMO_TILES))
    parser.add_argument("--size-m", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    paths = build_demo_archive(args.archive_dir, start=args.start, end=args.end,
                               tiles=[t for t in args.tiles.split(",") if t],
                               size_m=args.size_m, seed=args.seed)
    print(f"wrote {len(paths)} items under {args.archive_dir / COLLECTION}")


if __name__ == "__main__":
    main()
