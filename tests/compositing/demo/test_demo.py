"""The demo archive generator: layout, grids, offsets, clouds, tile overlaps, determinism."""

from __future__ import annotations

import json
import re
from dataclasses import replace as dataclass_replace
from datetime import date
from pathlib import Path

import numpy as np
import pystac
import pytest
import rasterio
import shapely
from pyproj import Geod, Transformer
from rasterio.windows import from_bounds
from shapely.geometry import box, shape
from shapely.ops import unary_union

from compositing import l2a
from compositing.demo import archive as demo
from compositing.demo import scene as ds
from compositing.orders.mgrs import tile

SIZE_M = 1800
FILES = [f"{b}.tif" for b in l2a.BAND_NAMES] + ["SCL.tif", "AOT.tif", "truth/reflectance.tif",
                                               "truth/cloud.tif"]


def _items(paths: list[Path]) -> list[dict]:
    return [json.loads(p.read_text()) for p in paths]


@pytest.fixture(scope="module")
def june(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The default month and tiles at a small window size."""
    return demo.build_demo_archive(tmp_path_factory.mktemp("june"), size_m=SIZE_M)


@pytest.fixture(scope="module")
def before_2022(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two dates of 2021, before processing baseline 04.00."""
    return demo.build_demo_archive(tmp_path_factory.mktemp("y2021"), start=date(2021, 6, 1),
                                   end=date(2021, 6, 10), size_m=SIZE_M)


def test_it_writes_the_documented_layout(june):
    assert len(june) == 12  # 6 passes x 2 tiles
    assert june == sorted(june)
    for path in june:
        item_id = path.stem
        assert re.fullmatch(r"S2[AB]_29U(NU|PU)_202306\d\d_0_L2A", item_id)
        assert path.parent.name == item_id and path.parent.parent.name == "sentinel-2-l2a"
        for name in FILES:
            assert (path.parent / name).is_file(), name


def test_passes_alternate_s2a_and_s2b_every_5_days_on_relative_orbit_23():
    passes = demo.acquisitions(date(2023, 6, 1), date(2023, 6, 30))
    assert [(a.day.day, a.platform) for a in passes] == [
        (2, "S2A"), (7, "S2B"), (12, "S2A"), (17, "S2B"), (22, "S2A"), (27, "S2B")]
    for a in passes:
        relative = (a.absolute_orbit + (2 if a.platform == "S2A" else -27)) % 143 + 1
        assert relative == 23
        assert re.fullmatch(rf"G{a.platform}_{a.day:%Y%m%d}T115411_\d{{6}}_N04\.00",
                            a.datatake_id)


def test_every_cog_is_on_its_tile_grid_at_native_resolution(june):
    for path in june[:2]:
        item = json.loads(path.read_text())
        t = tile(item["properties"]["grid:code"].removeprefix("MGRS-"))
        for name, asset in item["assets"].items():
            if asset["type"] == "application/json":  # the angle grids, not a raster
                continue
            with rasterio.open(path.parent / asset["href"]) as src:
                res = asset["gsd"]
                assert src.crs.to_epsg() == t.epsg
                assert src.res == (res, res)
                assert src.width * res == src.height * res == SIZE_M
                assert list(src.transform)[:6] == asset["proj:transform"]
                assert [src.height, src.width] == asset["proj:shape"]
                # the window sits on the tile's 60 m grid, so all resolutions nest
                assert (src.transform.c - t.ulx) % 60 == 0 and (t.uly - src.transform.f) % 60 == 0
                assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
                assert src.compression.name == "deflate"
                if name in l2a.BAND_BY_NAME:
                    assert res == l2a.BAND_BY_NAME[name].native_m
                    assert (src.dtypes[0], src.nodata, src.descriptions) == ("uint16", 0, (name,))
            expected = {"SCL": ("uint8", 1), "AOT": ("uint16", 1), "CLD": ("uint8", 1),
                        "SNW": ("uint8", 1), "truth_cloud": ("uint8", 1),
                        "truth_reflectance": ("float32", 12)}.get(name)
            if expected:
                with rasterio.open(path.parent / asset["href"]) as src:
                    assert (src.dtypes[0], src.count, src.res) == (*expected, (20, 20))
    with rasterio.open(june[0].parent / "truth" / "reflectance.tif") as src:
        assert src.descriptions == l2a.BAND_NAMES


def _reflectance(path: Path, band: str) -> np.ndarray:
    item = json.loads(path.read_text())
    raster = item["assets"][band]["raster:bands"][0]
    with rasterio.open(path.parent / f"{band}.tif") as src:
        dn = src.read(1).astype(np.float64)
    return np.where(dn == 0, np.nan, dn * raster["scale"] + raster["offset"])


@pytest.mark.parametrize("build, baseline, offset", [
    ("june", "04.00", -1000), ("before_2022", "02.14", 0)])
def test_dn_offset_follows_the_processing_baseline(request, build, baseline, offset):
    for path in request.getfixturevalue(build):
        item = json.loads(path.read_text())
        props = item["properties"]
        assert props["s2:processing_baseline"] == baseline
        assert props["s2:boa_add_offset"] == offset
        assert props["s2:datatake_id"].endswith(f"_N{baseline}")
        assert item["assets"]["B05"]["raster:bands"][0]["offset"] == offset / 10000
        # decoded with the item's own offset, clear pixels give back the true reflectance
        refl = _reflectance(path, "B05")
        with rasterio.open(path.parent / "truth" / "reflectance.tif") as src:
            truth = src.read(l2a.BAND_NAMES.index("B05") + 1)
        with rasterio.open(path.parent / "truth" / "cloud.tif") as src:
            clear = (src.read(1) == 0) & np.isfinite(refl)
        if clear.sum() > 100:
            assert np.median(np.abs(refl[clear] - truth[clear])) < 0.005


def test_scl_has_valid_codes_and_clouds_on_some_dates(june):
    cloudy_dates = 0
    for path in june:
        with rasterio.open(path.parent / "SCL.tif") as src:
            scl = src.read(1)
        assert set(np.unique(scl)) <= set(range(12))
        assert np.isin(scl, [4, 5, 6]).any()
        cloudy_dates += np.isin(scl, [8, 9]).mean() > 0.05
    assert cloudy_dates >= 2
    covers = sorted(item["properties"]["eo:cloud_cover"] for item in _items(june))
    assert covers[0] < 2 and covers[-1] > 40


def test_scl_flags_mostly_true_clouds_and_cloud_cover_is_the_true_share(june):
    for path in june:
        with rasterio.open(path.parent / "SCL.tif") as src:
            scl = src.read(1)
        with rasterio.open(path.parent / "truth" / "cloud.tif") as src:
            cloud = src.read(1)
        flagged = np.isin(scl, [8, 9, 10])
        if flagged.sum() > 200:
            assert (cloud[flagged] == 1).mean() > 0.9
        valid = scl > 0
        share = 100 * (cloud[valid] == 1).mean()
        assert json.loads(path.read_text())["properties"]["eo:cloud_cover"] == pytest.approx(
            share, abs=1e-3)


def test_the_same_acquisition_agrees_in_the_tile_overlap(june):
    by_datatake: dict[str, list[Path]] = {}
    for path, item in zip(june, _items(june), strict=True):
        by_datatake.setdefault(item["properties"]["s2:datatake_id"], []).append(path)
    assert len(by_datatake) == 6 and all(len(v) == 2 for v in by_datatake.values())
    for a, b in by_datatake.values():
        with rasterio.open(a.parent / "SCL.tif") as sa, rasterio.open(b.parent / "SCL.tif") as sb:
            left, right = max(sa.bounds.left, sb.bounds.left), min(sa.bounds.right, sb.bounds.right)
            overlap = (left, sa.bounds.bottom, right, sa.bounds.top)
            assert right - left >= SIZE_M / 3 - 60
            scl_a = sa.read(1, window=from_bounds(*overlap, sa.transform))
            scl_b = sb.read(1, window=from_bounds(*overlap, sb.transform))
        np.testing.assert_array_equal(scl_a, scl_b)
        for band in ("B02", "B04", "B08", "B11"):
            with rasterio.open(a.parent / f"{band}.tif") as sa, \
                    rasterio.open(b.parent / f"{band}.tif") as sb:
                dn_a = sa.read(1, window=from_bounds(*overlap, sa.transform)).astype(float)
                dn_b = sb.read(1, window=from_bounds(*overlap, sb.transform)).astype(float)
            np.testing.assert_array_equal(dn_a == 0, dn_b == 0)
            # Each granule has its own AOT retrieval: nearly, not exactly, equal.
            np.testing.assert_allclose(dn_a, dn_b, rtol=0.02, atol=2)


def test_items_load_with_pystac_and_carry_the_stac_fields(june):
    item = pystac.Item.from_file(str(june[0]))
    assert item.collection_id == "sentinel-2-l2a"
    assert Path(item.assets["B04"].get_absolute_href()).is_file()
    assert item.assets["truth_cloud"].roles == ["truth"]
    raw = json.loads(june[0].read_text())
    props = raw["properties"]
    assert props["proj:code"] == "EPSG:32629" and props["proj:epsg"] == 32629
    assert props["grid:code"] in ("MGRS-29UNU", "MGRS-29UPU")
    assert props["platform"] in ("sentinel-2a", "sentinel-2b")
    assert props["datetime"].startswith(f"{june[0].stem.split('_')[2][:4]}-06-")
    assert 140 < props["view:sun_azimuth"] < 180 and 50 < props["view:sun_elevation"] < 65
    assert props["s2:product_uri"].endswith(".SAFE")
    assert {a["href"] for a in raw["assets"].values()} >= {"./B04.tif", "./SCL.tif"}
    assert raw["assets"]["B04"]["eo:bands"][0]["center_wavelength"] == 0.665
    assert shape(raw["geometry"]).is_valid and len(raw["stac_extensions"]) == 6


def test_footprints_leave_out_the_swath_wedge(june):
    to_utm = Transformer.from_crs(4326, 32629, always_xy=True).transform
    wedged = 0
    for path, item in zip(june, _items(june), strict=True):
        with rasterio.open(path.parent / "SCL.tif") as src:
            nodata_share = (src.read(1) == 0).mean()
        utm = shapely.transform(shape(item["geometry"]), to_utm, interleaved=False)
        area_share = utm.area / SIZE_M**2
        assert area_share == pytest.approx(1 - nodata_share, abs=0.02)
        assert item["properties"]["s2:nodata_pixel_percentage"] == pytest.approx(
            100 * nodata_share, abs=1e-3)
        wedged += nodata_share > 0
    assert wedged > 0


@pytest.mark.heavy
def test_the_demo_aoi_is_covered_on_every_date_of_a_year():
    aoi = box(*demo.DEMO_AOI_BBOX)
    windows = demo.demo_windows(demo.DEMO_TILES, 6000)
    extents = demo._groups({w.key: w.grid for w in windows})
    wedges = 0
    for acq in demo.acquisitions(date(2023, 1, 1), date(2023, 12, 31)):
        footprints = []
        for w in windows:
            sky = demo._sky(0, acq, extents[w.key])
            wedges += sky.wedge is not None
            footprints.append(ds.footprint(w.grid, sky))
        assert unary_union(footprints).contains(aoi), acq.day
        assert not all(f.contains(aoi) for f in footprints)  # the AOI needs both tiles
    assert wedges > 0


@pytest.mark.heavy
def test_the_written_footprints_cover_the_demo_aoi(tmp_path):
    paths = demo.build_demo_archive(tmp_path, end=date(2023, 6, 3))
    items = _items(paths)
    aoi = box(*demo.DEMO_AOI_BBOX)
    for day in {i["properties"]["datetime"][:10] for i in items}:
        union = unary_union([shape(i["geometry"]) for i in items
                             if i["properties"]["datetime"].startswith(day)])
        assert union.contains(aoi)


def test_the_same_seed_gives_the_same_bytes(tmp_path):
    kwargs = {"end": date(2023, 6, 3), "tiles": ["29UPU"], "size_m": 600}
    first = demo.build_demo_archive(tmp_path / "a", seed=7, **kwargs)
    again = demo.build_demo_archive(tmp_path / "b", seed=7, **kwargs)
    other = demo.build_demo_archive(tmp_path / "c", seed=8, **kwargs)

    def pixels(item_path: Path) -> bytes:
        with rasterio.open(item_path.parent / "B04.tif") as src:
            return src.read(1).tobytes()

    assert pixels(first[0]) == pixels(again[0]) != pixels(other[0])
    assert first[0].read_text() == again[0].read_text()


def test_windows_stay_inside_their_tile_and_on_its_grid():
    for tid in ("29UNU", "29UPU", "30UUD", "29RKH"):
        t = tile(tid)
        grid = demo.scene_grid(t, 1200)
        left, bottom, right, top = t.bounds
        assert left <= grid.x0 and grid.x0 + 1200 <= right
        assert bottom <= grid.y0 - 1200 and grid.y0 <= top
        assert (grid.x0 - t.ulx) % 60 == 0 and (t.uly - grid.y0) % 60 == 0


def test_it_rejects_a_window_size_off_the_60m_grid(tmp_path):
    with pytest.raises(ValueError, match="multiple of 60"):
        demo.build_demo_archive(tmp_path, size_m=1000)


# --- An extent to cover instead of a window size ----------------------------------------------

def test_an_extent_is_centred_on_each_area_and_as_large_as_asked():
    geod = Geod(ellps="WGS84")
    for area in demo.DEMO_AREAS.values():
        lon, lat = Transformer.from_crs(area.centre_epsg, 4326,
                                        always_xy=True).transform(*area.centre)
        west, south, east, north = demo.extent_bbox(area, 4000, 2500)
        assert (west + east) / 2 == pytest.approx(lon, abs=1e-9)
        assert (south + north) / 2 == pytest.approx(lat, abs=1e-9)
        assert geod.inv(west, lat, east, lat)[2] == pytest.approx(4000, rel=0.01)
        assert geod.inv(lon, south, lon, north)[2] == pytest.approx(2500, rel=0.01)


@pytest.mark.parametrize("tiles, width, height", [
    (demo.DEMO_TILES, 2000, 2000), (demo.DEMO_TILES, 6000, 1500), (demo.FULL_TILES, 3000, 3000),
])
def test_an_extent_gives_the_smallest_windows_that_cover_it(tiles, width, height):
    size = demo.size_for_extent(tiles, width, height)
    assert size % 60 == 0

    def covered(size_m: int) -> bool:
        windows = demo.demo_windows(tiles, size_m)
        return all(unary_union([_window_shape(w) for w in windows if w.area == name])
                   .contains(box(*demo.extent_bbox(demo.DEMO_AREAS[name], width, height)))
                   for name in {w.area for w in windows})

    assert covered(size) and not covered(size - 60)


def test_an_archive_built_for_an_extent_covers_it(tmp_path):
    paths = demo.build_demo_archive(tmp_path, end=date(2023, 6, 3), extent_m=(1500, 1200))
    size = demo.size_for_extent(demo.DEMO_TILES, 1500, 1200)
    items = _items(paths)
    assert len(items) == 2  # one pass (2 June, no swath wedge), both midlands tiles
    assert all(i["assets"]["B02"]["proj:shape"] == [size // 10] * 2 for i in items)
    union = unary_union([shape(i["geometry"]) for i in items])
    assert union.contains(box(*demo.extent_bbox(demo.DEMO_AREAS["midlands"], 1500, 1200)))


def test_it_rejects_an_extent_it_cannot_cover_or_given_with_a_size(tmp_path):
    with pytest.raises(ValueError, match="positive"):
        demo.build_demo_archive(tmp_path, extent_m=(0, 1000))
    with pytest.raises(ValueError, match="no demo window"):  # 29UNU ends 4.9 km east of it
        demo.build_demo_archive(tmp_path, tiles=["29UNU"], extent_m=(12000, 3000))
    with pytest.raises(ValueError, match="not both"):
        demo.build_demo_archive(tmp_path, size_m=1200, extent_m=(1000, 1000))
    assert not any(tmp_path.iterdir())


# --- Demo areas: the midlands (zone 29) and the zone 29/30 border ---------------------------

def _window_shape(w: demo.Window) -> shapely.Polygon:
    """A window's lon/lat outline (no swath wedge)."""
    to_lonlat = Transformer.from_crs(w.grid.epsg, 4326, always_xy=True).transform
    square = box(w.grid.x0, w.grid.y0 - w.grid.size_m, w.grid.x0 + w.grid.size_m, w.grid.y0)
    return shapely.transform(shapely.segmentize(square, 60), to_lonlat, interleaved=False)


def test_tiles_choose_their_areas():
    def keys(tiles: tuple[str, ...]) -> list[tuple[str, int]]:
        return [(w.key, w.seq) for w in demo.demo_windows(tiles, 1200)]

    assert keys(demo.DEMO_TILES) == [("midlands/29UNU", 0), ("midlands/29UPU", 0)]
    assert keys(("29UPU", "30UUD")) == [("zone-border/29UPU", 1), ("zone-border/30UUD", 0)]
    assert keys(demo.FULL_TILES) == [("midlands/29UNU", 0), ("midlands/29UPU", 0),
                                     ("zone-border/29UPU", 1), ("zone-border/30UUD", 0)]
    assert keys(("29UPU",)) == [("midlands/29UPU", 0)]  # a lone tile stays in its home area
    assert keys(("t30uud",)) == [("zone-border/30UUD", 0)]


def test_the_midlands_windows_keep_their_place():
    for size in (1800, 2400, 6000):
        for w in demo.demo_windows(demo.FULL_TILES, size)[:2]:
            assert (w.grid.x0, w.grid.y0) == (demo.scene_grid(w.tile, size).x0,
                                              demo.scene_grid(w.tile, size).y0)
    unu, upu = demo.demo_windows(demo.DEMO_TILES, 6000)
    assert (unu.grid.x0, upu.grid.x0, unu.grid.y0) == (599880, 603900, 5848140)


@pytest.mark.parametrize("size_m", [2400, demo.FULL_SIZE_M, 6000])
def test_the_zone_border_windows_overlap_across_the_utm_zones(size_m):
    upu, uud = (w for w in demo.demo_windows(demo.FULL_TILES, size_m) if w.area == "zone-border")
    # each on its own tile's real grid: 30UUD in EPSG:32630, from its west edge
    assert (upu.grid.epsg, uud.grid.epsg) == (32629, 32630)
    assert uud.grid.x0 == tile("30UUD").ulx == 300000
    for w in (upu, uud):
        assert (w.grid.x0 - w.tile.ulx) % 60 == 0 and (w.tile.uly - w.grid.y0) % 60 == 0
    a, b = _window_shape(upu), _window_shape(uud)
    overlap = a.intersection(b)
    assert overlap.area > 0.3 * b.area
    aoi = box(*demo.DEMO_ZONE_BORDER_AOI_BBOX)
    west, _, east, _ = demo.DEMO_ZONE_BORDER_AOI_BBOX
    assert west < -6.0 < east  # across the zone border (6 W) ...
    assert a.contains(aoi) and a.union(b).contains(aoi)
    assert 0.4 < aoi.intersection(overlap).area / aoi.area < 0.7  # ... and the tile overlap
    assert box(-6.0, 0, -5.0, 90).contains(overlap)  # 30UUD stays east of 6 W
    # the AOI is ~2 km x 2 km, around the area's centre
    to_utm = Transformer.from_crs(4326, 32630, always_xy=True).transform
    x0, y0, x1, y1 = shapely.transform(aoi, to_utm, interleaved=False).bounds
    assert 1950 < x1 - x0 < 2100 and 1950 < y1 - y0 < 2100
    assert aoi.centroid.distance(shapely.Point(demo.DEMO_ZONE_BORDER_CENTER)) < 1e-3


@pytest.mark.heavy
def test_the_zone_border_aoi_is_covered_on_most_dates_of_a_year():
    aoi = box(*demo.DEMO_ZONE_BORDER_AOI_BBOX)
    windows = demo.demo_windows(("29UPU", "30UUD"), demo.FULL_SIZE_M)
    extents = demo._groups({w.key: w.grid for w in windows})
    assert len(set(extents.values())) == 1  # one group, one sky: clouds agree across the zones
    passes = demo.acquisitions(demo.FULL_START, demo.FULL_END)
    cut = sum(not unary_union([ds.footprint(w.grid, demo._sky(0, acq, extents[w.key]))
                               for w in windows]).contains(aoi) for acq in passes)
    assert len(passes) == 73 and cut <= 3  # a swath wedge may clip a corner now and then


@pytest.fixture(scope="module")
def both_areas(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two passes of all three tiles (both areas), built by two processes."""
    return demo.build_demo_archive(tmp_path_factory.mktemp("both"), end=date(2023, 6, 7),
                                   tiles=demo.FULL_TILES, size_m=SIZE_M, workers=2)


@pytest.mark.heavy
def test_both_areas_give_four_scenes_per_pass_with_one_datatake(both_areas):
    items = _items(both_areas)
    assert [p.stem for p in both_areas] == sorted(
        f"{sat}_{t}_{day}_{n}_L2A" for sat, day in (("S2A", "20230602"), ("S2B", "20230607"))
        for t, n in (("29UNU", 0), ("29UPU", 0), ("29UPU", 1), ("30UUD", 0)))
    by_day: dict[str, set[str]] = {}
    for item in items:
        by_day.setdefault(item["properties"]["datetime"], set()).add(
            item["properties"]["s2:datatake_id"])
    assert len(by_day) == 2 and all(len(ids) == 1 for ids in by_day.values())
    uud = next(i for i in items if "_30UUD_" in i["id"])["properties"]
    assert (uud["proj:epsg"], uud["mgrs:utm_zone"], uud["grid:code"]) == (32630, 30, "MGRS-30UUD")
    assert "_T30UUD_" in uud["s2:product_uri"] and "_T30UUD_" in uud["s2:granule_id"]
    upu = [i for i in items if "_29UPU_" in i["id"]]
    # two windows of one granule: same product, different footprints far apart
    assert len({i["properties"]["s2:product_uri"] for i in upu}) == 2  # one per pass
    first = [i for i in upu if i["properties"]["datetime"].startswith("2023-06-02")]
    assert not shape(first[0]["geometry"]).intersects(shape(first[1]["geometry"]))


@pytest.mark.heavy
def test_the_same_acquisition_agrees_across_the_zone_border(both_areas):
    from rasterio.warp import Resampling, reproject

    for day in ("20230602", "20230607"):
        upu = next(p for p in both_areas if f"_29UPU_{day}_1_" in p.name)
        uud = next(p for p in both_areas if f"_30UUD_{day}_0_" in p.name)
        with rasterio.open(uud.parent / "SCL.tif") as dst:
            target, profile = dst.read(1), dst.profile
        with rasterio.open(upu.parent / "SCL.tif") as src:
            moved = np.zeros_like(target)
            reproject(src.read(1), moved, src_transform=src.transform, src_crs=src.crs,
                      dst_transform=profile["transform"], dst_crs=profile["crs"],
                      resampling=Resampling.nearest, src_nodata=0, dst_nodata=0)
        both = (moved > 0) & (target > 0)
        assert both.sum() > 0.3 * both.size
        # the same surface and sky, sampled on grids that do not nest across the zones
        assert (moved[both] == target[both]).mean() > 0.9


@pytest.mark.heavy
def test_workers_do_not_change_a_byte(both_areas, tmp_path):
    serial = demo.build_demo_archive(tmp_path, end=date(2023, 6, 7), tiles=demo.FULL_TILES,
                                     size_m=SIZE_M)
    assert [p.relative_to(tmp_path) for p in serial] == [
        p.relative_to(both_areas[0].parents[2]) for p in both_areas]
    for a, b in zip(serial, both_areas, strict=True):
        assert a.read_text() == b.read_text()
        for name in ("B04.tif", "SCL.tif", "truth/reflectance.tif"):
            with rasterio.open(a.parent / name) as sa, rasterio.open(b.parent / name) as sb:
                assert sa.read().tobytes() == sb.read().tobytes()


def test_vegetation_greens_up_in_summer():
    w = demo.demo_windows(demo.DEMO_TILES, 1200)[0]
    static = demo._static(0, w.grid.epsg, w.grid.x0, w.grid.y0, w.grid.size_m)
    plants = np.isin(static["lc"], [ds.GRASS, ds.CROP, ds.FOREST])

    def ndvi(doy: int) -> float:
        refl = ds.surface_reflectance(static, doy, False, None)
        red, nir = refl[3][plants], refl[7][plants]
        return float(np.median((nir - red) / (nir + red)))

    assert ndvi(170) > ndvi(15) + 0.1 and ndvi(170) > ndvi(300)


@pytest.mark.heavy
def test_winter_brings_snow_that_the_scl_mostly_calls_snow():
    windows = demo.demo_windows(demo.FULL_TILES, 1200)
    extents = demo._groups({w.key: w.grid for w in windows})
    passes = demo.acquisitions(demo.FULL_START, demo.FULL_END)
    snowy = {acq.day for acq in passes for w in windows
             if demo._sky(0, acq, extents[w.key]).snow is not None}
    assert len(snowy) >= 3 and all(d.month in (11, 12, 1, 2, 3) for d in snowy)
    seen_snow, cloud_called_snow = 0, 0
    for acq in passes:
        for w in windows[1:3]:  # one window of each area
            sky = demo._sky(0, acq, extents[w.key])
            if sky.snow is None and not (sky.snow_error and acq.cover > 0.3):
                continue
            static = demo._static(0, w.grid.epsg, w.grid.x0, w.grid.y0, w.grid.size_m)
            r = demo.render_scene(w.tile, w.grid, acq, sky, static, 0)
            green, swir = r["truth"][2], r["truth"][10]
            snow = ((green - swir) / (green + swir) > 0.4) & (green > 0.3) & (r["cloud"] == 0)
            if sky.snow is not None and snow.sum() > 50:
                seen_snow += 1
                assert (r["scl"][snow] == l2a.SCL_SNOW).mean() > 0.8, acq.day
            cloud_called_snow += int(((r["scl"] == l2a.SCL_SNOW) & (r["cloud"] == 1)).any())
    assert seen_snow >= 2 and cloud_called_snow >= 1


def test_items_carry_probabilities_that_follow_the_clouds(june):
    """CLD/SNW assets: uint8 %, 255 outside the swath; high cloud probability where the SCL
    (and the truth) says cloud, low where the SCL says clear."""
    checked = 0
    for path in june:
        item = json.loads(path.read_text())
        for key in ("CLD", "SNW"):
            band = item["assets"][key]["raster:bands"][0]
            assert (band["nodata"], band["data_type"], band["unit"]) == (255, "uint8", "%")
        with rasterio.open(path.parent / "CLD.tif") as src:
            cld = src.read(1)
        with rasterio.open(path.parent / "SCL.tif") as src:
            scl = src.read(1)
        with rasterio.open(path.parent / "truth" / "cloud.tif") as src:
            truth = src.read(1)
        assert ((cld == 255) == (scl == 0)).all()
        assert (cld[cld != 255] <= 100).all()
        if (scl == l2a.SCL_CLOUD_HIGH).sum() > 50:
            assert np.median(cld[scl == l2a.SCL_CLOUD_HIGH]) > 65
            assert np.median(cld[np.isin(scl, (4, 5, 6)) & (truth == 0)]) < 10
            checked += 1
    assert checked, "the demo month has scenes with high-probability clouds"


def test_snow_probability_is_high_over_snow_and_over_clouds_called_snow():
    n = 8
    static = {"lc": np.full((2 * n, 2 * n), ds.GRASS, np.uint8),
              "bright_roof": np.zeros((2 * n, 2 * n), bool)}
    alpha = np.zeros((n, n), np.float32)
    alpha[:, n // 2:] = 0.9  # thick cloud on the right half
    atm = {"alpha": alpha, "pattern": np.full((n, n), 2.0, np.float32),
           "snow": np.ones((2 * n, 2 * n), np.float32)}
    scl = np.full((n, n), l2a.SCL_SNOW, np.uint8)
    scl[0, 0] = l2a.SCL_NO_DATA
    noise = np.full((n, n), 0.5, np.float32)
    sky = ds.make_sky(0, 1, 0.5, (0, 0, 1000, 1000), (160.0, 40.0), 15, 52.0)
    for snow_error in (False, True):
        sky = dataclass_replace(sky, snow_error=snow_error)
        cld, snw = ds.probabilities(static, atm, sky, scl, noise)
        assert cld[0, 0] == snw[0, 0] == 255
        assert (snw[1:, : n // 2] == 100).all() and (cld[1:, : n // 2] == 0).all()
        if snow_error:  # the cloud core Sen2Cor calls snow: low cloud, high snow probability
            assert (cld[:, n // 2:] < 20).all() and (snw[:, n // 2:] >= 75).all()
        else:
            assert (cld[:, n // 2:] > 85).all() and (snw[:, n // 2:] < 15).all()


def test_items_carry_plausible_angle_grids(june):
    item = json.loads(june[0].read_text())
    asset = item["assets"]["angles"]
    assert (asset["href"], asset["type"]) == ("./angles.json", "application/json")
    doc = json.loads((june[0].parent / "angles.json").read_text())
    t = tile(item["properties"]["grid:code"].removeprefix("MGRS-"))
    assert (doc["crs"], doc["ulx"], doc["uly"], doc["col_step"]) == (t.crs, t.ulx, t.uly, 5000)
    sun_zenith = np.array(doc["sun_zenith"])
    assert sun_zenith.shape == (23, 23)
    # June noon at 52.7 N: the sun ~31 degrees from the zenith, in the south.
    assert 90 - item["properties"]["view:sun_elevation"] == pytest.approx(
        sun_zenith.mean(), abs=1.0)
    assert 25 < sun_zenith.min() and sun_zenith.max() < 40
    assert (np.abs(np.array(doc["sun_azimuth"]) - 165) < 10).all()
    view = np.array(doc["view_zenith_mean"])
    assert view.min() >= 0 and view.max() < 15
    assert set(np.unique(doc["view_azimuth_mean"])) <= {103.0, 283.0}
