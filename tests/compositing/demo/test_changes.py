"""Known changes in the demo archive: where and when they happen, how they render, their truth."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from pyproj import Transformer
from rasterio.features import rasterize
from shapely.geometry import box
from shapely.ops import unary_union

from compositing import l2a
from compositing.demo import archive as demo
from compositing.demo import changes as ch
from compositing.demo import scene as ds
from compositing.orders.mgrs import tile

JULY_2022, JULY_2023 = date(2022, 7, 7), date(2023, 7, 7)  # passes, 365 days apart
TO_UTM = Transformer.from_crs(4326, 32629, always_xy=True)


def _event(kind: str) -> ch.ChangeEvent:
    return next(e for e in ch.CHANGE_EVENTS if e.kind == kind)


def _grid_around(e: ch.ChangeEvent, size_m: int = 1200) -> ds.SceneGrid:
    """A zone-29 window on the tiles' 60 m lattice, centred on the event."""
    x, y = TO_UTM.transform(e.polygon.centroid.x, e.polygon.centroid.y)
    return ds.SceneGrid(32629, 60.0 * round((x - size_m / 2) / 60),
                        60.0 * round((y + size_m / 2) / 60), size_m)


def _render(grid: ds.SceneGrid, day: date) -> dict:
    """A cloudless scene of the window on a day, as the archive renders it."""
    acq = demo.Acquisition(day, "S2A", 1, 0.0)
    wx, wy = grid.node_world
    sky = demo._sky(0, acq, (float(wx.min()), float(wy.min()), float(wx.max()), float(wy.max())))
    static = demo._static(0, grid.epsg, grid.x0, grid.y0, grid.size_m, ch.events_by(day))
    return demo.render_scene(tile("29UPU"), grid, acq, sky, static, 0)


@pytest.fixture(scope="module")
def two_julys() -> dict[str, tuple[ds.SceneGrid, dict, dict]]:
    """Per event kind: a window around the event, rendered in July 2022 and July 2023."""
    out = {}
    for e in ch.CHANGE_EVENTS:
        grid = _grid_around(e)
        out[e.kind] = (grid, _render(grid, JULY_2022), _render(grid, JULY_2023))
    return out


def _changed20(grid: ds.SceneGrid, before: date, after: date) -> np.ndarray:
    """Truth labels on the window's own 20 m grid."""
    transform = Affine(20, 0, grid.x0, 0, -20, grid.y0)
    return ch.change_labels(32629, transform, (grid.n(20), grid.n(20)), before, after)


def _ndvi(t: np.ndarray) -> np.ndarray:
    return (t[7] - t[3]) / (t[7] + t[3])


# --- The registry --------------------------------------------------------------------------

def test_three_kinds_of_change_happen_on_one_day_between_two_julys():
    assert {e.kind for e in ch.CHANGE_EVENTS} == {"clearing", "water", "burn"}
    assert {e.day for e in ch.CHANGE_EVENTS} == {ch.CHANGE_DATE}
    assert JULY_2022 < ch.CHANGE_DATE <= JULY_2023
    assert len({e.name for e in ch.CHANGE_EVENTS}) == len(ch.CHANGE_EVENTS)


def test_events_are_disjoint_and_a_few_tens_of_hectares():
    shapes = [shapely.transform(e.polygon, TO_UTM.transform, interleaved=False)
              for e in ch.CHANGE_EVENTS]
    for a, b in zip(shapes, shapes[1:] + shapes[:1], strict=True):
        assert not a.intersects(b)
    for s in shapes:
        x0, y0, x1, y1 = s.bounds
        assert s.is_valid and 10e4 < s.area < 40e4
        assert 300 < max(x1 - x0, y1 - y0) < 800


def test_events_lie_north_of_the_test_windows_and_inside_the_full_ones():
    for size in (600, 1800, 2400):  # the sizes the test suite builds: no scene changes
        for w in demo.demo_windows(demo.FULL_TILES, size):
            static = demo._static(0, w.grid.epsg, w.grid.x0, w.grid.y0, size)
            assert ch.apply_events(static, w.grid, ch.CHANGE_EVENTS) is static, (size, w.key)
    full = unary_union([w.grid.outline()
                        for w in demo.demo_windows(demo.DEMO_TILES, demo.FULL_SIZE_M)])
    aoi = box(*demo.DEMO_AOI_BBOX)
    for e in ch.CHANGE_EVENTS:
        assert full.contains(e.polygon) and aoi.intersects(e.polygon), e.name
        assert box(*ch.CHANGE_AOI_BBOX).contains(e.polygon)
    change_windows = demo.demo_windows(demo.DEMO_TILES, ch.CHANGE_AOI_SIZE_M)
    assert unary_union([w.grid.outline() for w in change_windows]).contains(
        box(*ch.CHANGE_AOI_BBOX))


# --- Rendering -----------------------------------------------------------------------------

def test_the_new_land_cover_holds_from_the_event_day_on():
    e = _event("water")
    grid = _grid_around(e)
    args = (0, grid.epsg, grid.x0, grid.y0, grid.size_m)
    static = demo._static(*args)
    day_before = ch.CHANGE_DATE.fromordinal(ch.CHANGE_DATE.toordinal() - 1)
    assert demo._static(*args, ch.events_by(day_before)) is static
    on_the_day = demo._static(*args, ch.events_by(ch.CHANGE_DATE))["lc"]
    flooded = (on_the_day == ds.WATER) & (static["lc"] != ds.WATER)
    assert 0.1 < flooded.mean() < 0.2  # ~18 ha of a 144 ha window
    assert (on_the_day[~flooded] == static["lc"][~flooded]).all()


def test_the_clearing_and_the_burn_scar_lose_their_green(two_julys):
    for kind in ("clearing", "burn"):
        grid, before, after = two_julys[kind]
        changed = np.isin(_changed20(grid, JULY_2022, JULY_2023), [1, 2, 3])
        assert changed.sum() > 300
        drop = _ndvi(before["truth"])[changed] - _ndvi(after["truth"])[changed]
        assert np.median(drop) > 0.4, kind
    _, before, after = two_julys["burn"]
    t = after["truth"]
    nbr = (t[7] - t[11]) / (t[7] + t[11])
    burnt = np.isin(_changed20(two_julys["burn"][0], JULY_2022, JULY_2023), [1, 2, 3])
    assert np.median(nbr[burnt]) < -0.2 and np.median(t[7][burnt]) < 0.12


def test_the_new_reservoir_is_water_in_the_scl_after_the_day_only(two_julys):
    grid, before, after = two_julys["water"]
    flooded = _changed20(grid, JULY_2022, JULY_2023) == 2
    assert flooded.sum() > 300
    assert (before["scl"][flooded] != l2a.SCL_WATER).all()
    assert (after["scl"][flooded] == l2a.SCL_WATER).mean() > 0.95
    # dark in the observed NIR too, not only in the truth (DN 1000 is reflectance 0 at N04.00)
    assert np.median(after["bands"]["B08"][1::2, 1::2][flooded]) < 1300


def test_outside_the_events_a_year_later_is_the_same_surface(two_julys):
    for kind, (grid, before, after) in two_julys.items():
        labels = _changed20(grid, JULY_2022, JULY_2023)
        untouched = labels == ch.UNCHANGED
        assert untouched.mean() > 0.7
        np.testing.assert_array_equal(before["truth"][:, untouched],
                                      after["truth"][:, untouched], err_msg=kind)
        assert (before["truth"][:, ~untouched] != after["truth"][:, ~untouched]).any()


# --- Truth ---------------------------------------------------------------------------------

def _utm_grid(res: int) -> tuple[Affine, tuple[int, int]]:
    """A grid over the change AOI in EPSG:32629 that nests with the tiles' pixels."""
    west, south, east, north = ch.CHANGE_AOI_BBOX
    x0, y1 = TO_UTM.transform(west, south)
    x1, y0 = TO_UTM.transform(east, north)
    x0, y0 = 60 * round(x0 / 60), 60 * round(y0 / 60)
    return Affine(res, 0, x0, 0, -res, y0), (int((y0 - y1) // res), int((x1 - x0) // res))


def test_the_truth_is_the_rasterised_outlines_where_the_land_cover_changes():
    transform, shape = _utm_grid(10)
    labels = ch.change_labels(32629, transform, shape, JULY_2022, JULY_2023)
    assert set(np.unique(labels)) == {0, 1, 2, 3}  # 10 m nests: no partly changed pixel
    grid = ds.SceneGrid(32629, transform.c, transform.f, 60 * (max(shape) // 6 + 1))
    lc = ds.Landscape(0).classes(grid)["lc"][:shape[0], :shape[1]]
    for number, e in enumerate(ch.CHANGE_EVENTS, start=1):
        outline = shapely.transform(e.polygon, TO_UTM.transform, interleaved=False)
        inside = rasterize([outline], shape, transform=transform).astype(bool)
        expected = inside & np.isin(lc, list(e.from_classes))
        # pixel centres on an outline's edge may fall either way (world frame vs UTM)
        assert np.count_nonzero((labels == number) != expected) <= 5, e.name
        assert expected.sum() > 1000
    assert np.isin(lc[labels == 1], [ds.FOREST]).all()


def test_a_coarser_grid_counts_the_share_of_changed_surface():
    t10, shape10 = _utm_grid(10)
    fine = ch.change_labels(32629, t10, shape10, JULY_2022, JULY_2023)
    t20 = Affine(20, 0, t10.c, 0, -20, t10.f)
    shape20 = (shape10[0] // 2, shape10[1] // 2)
    coarse = ch.change_labels(32629, t20, shape20, JULY_2022, JULY_2023)
    blocks = fine[:2 * shape20[0], :2 * shape20[1]].reshape(shape20[0], 2, shape20[1], 2)
    for number in (1, 2, 3):
        count = (blocks == number).sum(axis=(1, 3))
        np.testing.assert_array_equal(coarse == number, count >= 2)
    touched = (blocks != ch.UNCHANGED).any(axis=(1, 3))
    np.testing.assert_array_equal(coarse == ch.UNCHANGED, ~touched)
    assert (coarse == ch.PARTLY_CHANGED).any()
    assert np.array_equal(ch.change_mask(32629, t20, shape20, JULY_2022, JULY_2023),
                          np.isin(coarse, [1, 2, 3]))
    assert np.array_equal(ch.unchanged_mask(32629, t20, shape20, JULY_2022, JULY_2023),
                          coarse == 0)


def test_the_truth_counts_the_events_between_the_two_dates_only():
    transform, shape = _utm_grid(20)
    day_before = ch.CHANGE_DATE.fromordinal(ch.CHANGE_DATE.toordinal() - 1)

    def changed(before: date, after: date) -> int:
        return int(ch.change_mask(32629, transform, shape, before, after).sum())

    assert changed(JULY_2022, day_before) == 0
    assert changed(ch.CHANGE_DATE, JULY_2023) == 0
    assert changed(day_before, ch.CHANGE_DATE) == changed(JULY_2022, JULY_2023) > 1000
    with pytest.raises(ValueError, match="before"):
        ch.change_mask(32629, transform, shape, JULY_2023, JULY_2022)


def test_the_truth_follows_a_grid_in_another_crs():
    """A lon/lat grid: the events land where their outlines are."""
    west, south, east, north = ch.CHANGE_AOI_BBOX
    step = 0.0002
    shape = (round((north - south) / step), round((east - west) / step))
    transform = Affine(step, 0, west, 0, -step, north)
    labels = ch.change_labels(4326, transform, shape, JULY_2022, JULY_2023)
    for number, e in enumerate(ch.CHANGE_EVENTS, start=1):
        touched = rasterize([e.polygon], shape, transform=transform, all_touched=True)
        inside = rasterize([e.polygon], shape, transform=transform)
        hit = labels == number
        assert hit.sum() > 100 and touched[hit].all(), e.name
        if e.kind == "water":  # no town or road inside: the whole outline changes
            assert abs(int(hit.sum()) - int(inside.sum())) < 0.05 * inside.sum()


def test_the_truth_is_written_as_a_geotiff_on_the_grid_of_a_product(tmp_path):
    transform, shape = _utm_grid(20)
    product = tmp_path / "product.tif"
    with rasterio.open(product, "w", driver="GTiff", width=shape[1], height=shape[0], count=1,
                       dtype="uint16", crs="EPSG:32629", transform=transform) as dst:
        dst.write(np.zeros(shape, np.uint16), 1)
    out = tmp_path / "truth.tif"
    ch.main([str(out), "--like", str(product), "--before", "2022-07-31",
             "--after", "2023-07-01"])
    with rasterio.open(out) as src:
        assert (src.crs.to_epsg(), src.transform, src.shape) == (32629, transform, shape)
        assert src.tags()["BEFORE"] == "2022-07-31" and "burn-scar" in src.tags()["LABELS"]
        written = src.read(1)
    np.testing.assert_array_equal(written, ch.change_labels(
        32629, transform, shape, date(2022, 7, 31), date(2023, 7, 1)))


# --- The archive ---------------------------------------------------------------------------

def test_two_julys_build_into_one_archive(tmp_path):
    kwargs = {"tiles": ["29UPU"], "size_m": 600}
    first = demo.build_demo_archive(tmp_path, start=date(2022, 7, 1), end=date(2022, 7, 7),
                                    **kwargs)
    kept = first[0].read_bytes()
    second = demo.build_demo_archive(tmp_path, start=date(2023, 7, 1), end=date(2023, 7, 7),
                                     **kwargs)
    found = sorted(p for p in tmp_path.glob("sentinel-2-l2a/*/*.json") if p.stem == p.parent.name)
    assert found == sorted(first + second) and len(found) == 4
    assert first[0].read_bytes() == kept
    days = {json.loads(p.read_text())["properties"]["datetime"][:10] for p in found}
    assert days == {"2022-07-02", "2022-07-07", "2023-07-02", "2023-07-07"}


def test_workers_do_not_change_a_byte_of_the_changed_scenes(tmp_path):
    kwargs = {"start": date(2023, 7, 1), "end": date(2023, 7, 7), "tiles": ["29UPU"],
              "size_m": demo.FULL_SIZE_M}
    serial = demo.build_demo_archive(tmp_path / "one", workers=1, **kwargs)
    parallel = demo.build_demo_archive(tmp_path / "two", workers=2, **kwargs)
    assert len(serial) == len(parallel) == 2
    water_seen = 0
    for a, b in zip(serial, parallel, strict=True):
        assert a.read_text() == b.read_text()
        for name in ("B08.tif", "SCL.tif", "truth/reflectance.tif"):
            with rasterio.open(a.parent / name) as sa, rasterio.open(b.parent / name) as sb:
                assert sa.read().tobytes() == sb.read().tobytes()
        with rasterio.open(a.parent / "SCL.tif") as src:
            scl, transform = src.read(1), src.transform
        with rasterio.open(a.parent / "truth" / "cloud.tif") as src:
            clear = (src.read(1) == 0) & (scl != l2a.SCL_NO_DATA)  # truth covers swath wedges
        flooded = ch.change_labels(32629, transform, scl.shape, JULY_2022, JULY_2023) == 2
        if (flooded & clear).sum() > 100:
            # a 20 m pixel half flooded may keep its old class in the SCL
            assert (scl[flooded & clear] == l2a.SCL_WATER).mean() > 0.9
            water_seen += 1
    assert water_seen  # the nearly clear date of the two
