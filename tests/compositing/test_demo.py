"""The demo archive generator: layout, grids, offsets, clouds, tile overlaps, determinism."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import numpy as np
import pystac
import pytest
import rasterio
import shapely
from pyproj import Transformer
from rasterio.windows import from_bounds
from shapely.geometry import box, shape
from shapely.ops import unary_union

from compositing import demo, l2a
from compositing.mgrs import tile

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
            expected = {"SCL": ("uint8", 1), "AOT": ("uint16", 1), "truth_cloud": ("uint8", 1),
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


def test_the_demo_aoi_is_covered_on_every_date_of_a_year():
    aoi = box(*demo.DEMO_AOI_BBOX)
    grids = {tid: demo.scene_grid(tile(tid), 6000) for tid in demo.DEMO_TILES}
    extents = demo._groups(grids)
    wedges = 0
    for acq in demo.acquisitions(date(2023, 1, 1), date(2023, 12, 31)):
        footprints = []
        for tid, grid in grids.items():
            sky = demo._sky(0, acq, extents[tid])
            wedges += sky.wedge is not None
            footprints.append(demo.footprint(tile(tid), grid, sky))
        assert unary_union(footprints).contains(aoi), acq.day
        assert not all(f.contains(aoi) for f in footprints)  # the AOI needs both tiles
    assert wedges > 0


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
