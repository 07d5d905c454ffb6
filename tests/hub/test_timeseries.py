"""The time-series tool holds, per period, the values an ordered product holds at that pixel."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import rasterio
from pyproj import Transformer
from rasterio.transform import rowcol
from shapely.geometry import box

from compositing.archive.read import close_datasets, read_stack
from compositing.archive.scenes import group_acquisitions, search_scenes
from compositing.demo.archive import DEMO_END, DEMO_START, acquisitions
from compositing.grid import OutputGrid
from compositing.orders.spec import parse_spec
from compositing.pipeline import run_mosaic
from compositing.selection.composite import select, stack_bands
from compositing.selection.mask import stc_clear_px, valid_mask
from compositing.timeseries import (
    QUALITY_LAYERS,
    PointQuery,
    composite_columns,
    composite_series,
    observations,
    periods_between,
)
from hub.mosaics.services import mosaic_settings
from tests.compositing.test_timeseries import LAT, LON, POINT_32629

pytestmark = pytest.mark.django_db

BANDS = ("B02", "B04", "B08")
AUX = ["valid_obs", "total_obs", "method", "medoid_mos", "acquisition_date",
       "quality_scene_classification", "ndvi", "nbr"]


def product_layers(tmp_path: Path, resolution: int, bands: tuple[str, ...] = BANDS,
                   aux: list[str] = AUX) -> tuple[dict[str, np.ndarray], int, int]:
    """An ordered June product around the point: its layers and the point's row and column."""
    x, y = POINT_32629
    to_lonlat = Transformer.from_crs(32629, 4326, always_xy=True)
    west, south = to_lonlat.transform(x - 300, y - 300)
    east, north = to_lonlat.transform(x + 300, y + 300)
    spec = parse_spec({"aoi": [west, south, east, north], "start": "2023-06-01",
                       "period": "month", "resolution": resolution, "crs": "EPSG:32629",
                       "bands": list(bands), "aux": aux, "name": "ts"})
    result = run_mosaic(spec, mosaic_settings(), tmp_path, f"p{resolution}")
    layers: dict[str, np.ndarray] = {}
    with rasterio.open(next(result.folder.glob("bands_*.tif"))) as src:
        row, col = src.index(x, y)
        for i, band in enumerate(spec.bands):
            layers[band] = src.read(i + 1)
    for name in aux:
        with rasterio.open(next(result.folder.glob(f"{name}_*.tif"))) as src:
            # Quality layers decoded (masked nodata, scaled); the others as stored.
            layers[name] = (src.read(1, masked=True) * src.scales[0]
                            if name in QUALITY_LAYERS else src.read(1))
    return layers, row, col


def reflectance(stored: np.ndarray) -> np.ndarray:
    return np.where(stored == 65535, np.nan, stored * 1e-4)


def query(**changes) -> PointQuery:
    base = PointQuery(LON, LAT, date(2023, 6, 1), date(2023, 6, 30), "month", 20, 1, BANDS)
    return replace(base, **changes)


@pytest.mark.parametrize("resolution", [20, 60])
def test_a_period_equals_the_ordered_product_at_the_pixel(hub_dirs, tmp_path, resolution):
    layers, row, col = product_layers(tmp_path, resolution)
    settings = mosaic_settings()
    series = composite_series(query(resolution=resolution), settings.archives,
                              settings.medoid_min_obs)
    assert len(series.rows) == 1
    got = series.rows[0]
    assert got["period_start"] == date(2023, 6, 1) and got["period_end"] == date(2023, 6, 30)
    assert got["valid_obs"] == layers["valid_obs"][row, col] > 0
    assert got["total_obs"] == layers["total_obs"][row, col]
    assert got["method"] == {1: "medoid", 2: "stc", 0: "none"}[int(layers["method"][row, col])]
    for band in BANDS:
        assert got[band] == pytest.approx(float(reflectance(layers[band])[row, col]), abs=1e-9)
    # NDVI as the product's NDVI layer holds it: the index of the unrounded reflectance,
    # within the rounding of the stored bands of their index.
    assert got["NDVI"] == pytest.approx(layers["ndvi"][row, col] * 1e-4, abs=1e-9)
    b4, b8 = reflectance(layers["B04"])[row, col], reflectance(layers["B08"])[row, col]
    assert got["NDVI"] == pytest.approx((b8 - b4) / (b8 + b4), abs=1.5e-3)
    assert got["scl"] == layers["quality_scene_classification"][row, col]
    assert got["acquisition_date"] == date.fromordinal(
        date(1970, 1, 1).toordinal() + int(layers["acquisition_date"][row, col]))
    assert got["acquisition_date"].strftime("%Y%m%d") in got["scene_id"]
    if got["method"] == "medoid":
        assert got["medoid_mos"] == pytest.approx(layers["medoid_mos"][row, col] * 1e-4)
    else:
        assert got["medoid_mos"] is None


def test_a_3x3_window_is_the_mean_and_std_of_the_products_window(hub_dirs, tmp_path):
    layers, row, col = product_layers(tmp_path, 20)
    settings = mosaic_settings()
    got = composite_series(query(window=3), settings.archives).rows[0]
    window = (slice(row - 1, row + 2), slice(col - 1, col + 2))
    for band in BANDS:
        values = reflectance(layers[band][window])
        have = values[np.isfinite(values)]
        assert got[band] == pytest.approx(have.mean(), abs=1e-6)
        assert got[f"{band}_std"] == pytest.approx(have.std(), abs=1e-6)
    assert got["n_pixels"] == np.isfinite(reflectance(layers["B04"][window])).sum()
    b4, b8 = reflectance(layers["B04"][window]), reflectance(layers["B08"][window])
    assert got["NDVI"] == pytest.approx(np.nanmean((b8 - b4) / (b8 + b4)), abs=1e-6)
    assert got["valid_obs"] == layers["valid_obs"][row, col]  # the centre pixel's quality
    assert set(composite_columns(BANDS, 3)) == set(got)


def test_the_quality_columns_are_the_products_quality_layers_at_the_pixel(hub_dirs, tmp_path):
    layers, row, col = product_layers(tmp_path, 20, aux=[*AUX, *QUALITY_LAYERS])
    settings = mosaic_settings()
    got = composite_series(query(quality=True), settings.archives).rows[0]
    assert list(got)[-len(QUALITY_LAYERS):] == list(QUALITY_LAYERS)
    for name in QUALITY_LAYERS:
        want = layers[name][row, col]
        assert want is not np.ma.masked, name  # the demo archive has every quality input
        assert got[name] == pytest.approx(float(want), abs=1e-6), name
    # The observation the composite chose has the same values, unquantised.
    listed = observations(query(quality=True), settings.archives)
    chosen = next(r for r in listed.rows if r["scene_id"] == got["scene_id"])
    assert chosen["quality_aot"] == pytest.approx(got["quality_aot"], abs=1e-3)
    for name in ("quality_cloud_confidence", "quality_snow_confidence"):
        assert chosen[name] == got[name]
    for name in ("view_zenith_mean", "view_azimuth_mean", "sun_zenith", "sun_azimuth"):
        assert chosen[name] == pytest.approx(got[name], abs=0.006)
    assert all(n not in observations(query(), settings.archives).rows[0]
               for n in QUALITY_LAYERS)


def test_an_observation_list_may_cover_the_composites_whole_periods(hub_dirs):
    settings = mosaic_settings()
    asked = query(start=date(2023, 6, 10), end=date(2023, 6, 20))
    dates = {r["date"] for r in observations(asked, settings.archives).rows}
    whole = {r["date"] for r in observations(replace(asked, extent="periods"),
                                             settings.archives).rows}
    assert all(date(2023, 6, 10) <= d <= date(2023, 6, 20) for d in dates)
    assert dates < whole and all(d.month == 6 for d in whole)
    assert whole == {r["date"] for r in observations(query(), settings.archives).rows}


def test_other_indices_are_the_products_index_layers_and_each_observations_index(
        hub_dirs, tmp_path):
    layers, row, col = product_layers(tmp_path, 20, bands=("B02", "B04", "B08", "B12"))
    settings = mosaic_settings()
    asked = query(bands=("B02", "B04", "B08", "B12"), indices=("ndvi", "nbr"))
    got = composite_series(asked, settings.archives).rows[0]
    assert got["NBR"] == pytest.approx(layers["nbr"][row, col] * 1e-4, abs=1e-9)
    listed = observations(asked, settings.archives)
    assert listed.columns[8:10] == ["NDVI", "NBR"]
    for r in listed.rows:
        if r["B08"] is not None and r["B12"] is not None:
            assert r["NBR"] == pytest.approx((r["B08"] - r["B12"]) / (r["B08"] + r["B12"]),
                                             abs=2e-6)
    chosen = next(r for r in listed.rows if r["scene_id"] == got["scene_id"])
    assert chosen["NBR"] == pytest.approx(got["NBR"], abs=2e-4)


def test_periods_are_aligned_and_cover_the_range(hub_dirs):
    assert periods_between("tenday", date(2023, 6, 5), date(2023, 6, 25)) == [
        (date(2023, 6, 1), date(2023, 6, 10)), (date(2023, 6, 11), date(2023, 6, 20)),
        (date(2023, 6, 21), date(2023, 6, 30))]
    settings = mosaic_settings()
    series = composite_series(query(start=date(2023, 5, 20), end=date(2023, 7, 3),
                                    period_type="tenday"),
                              settings.archives)
    starts = [r["period_start"] for r in series.rows]
    assert starts[0] == date(2023, 5, 11) and starts[-1] == date(2023, 7, 1)
    assert len(starts) == 6
    june = [r for r in series.rows if r["period_start"].month == 6]
    passes = [a.day for a in acquisitions(DEMO_START, DEMO_END)]  # the generator's schedule
    assert [r["total_obs"] for r in june] == [
        sum(r["period_start"] <= day <= r["period_end"] for day in passes) for r in june]
    empty = [r for r in series.rows if r["period_start"].month != 6]  # the archive is June only
    for r in empty:
        assert r["method"] == "none" and r["valid_obs"] == 0 and r["total_obs"] == 0
        assert r["B04"] is None and r["scene_id"] is None and r["acquisition_date"] is None


def test_a_point_without_scenes_gives_empty_rows(hub_dirs):
    settings = mosaic_settings()
    series = composite_series(query(lon=10.0, lat=10.0, window=3), settings.archives)
    assert len(series.rows) == 1
    row = series.rows[0]
    assert row["method"] == "none" and row["B04"] is None and row["n_pixels"] == 0
    assert observations(query(lon=10.0, lat=10.0), settings.archives).rows == []


def test_observations_list_every_acquisition_once_with_the_pipelines_validity(hub_dirs):
    settings = mosaic_settings()
    got = observations(query(), settings.archives)
    # Independent: the acquisitions of the month, read on a product-sized chunk.
    x, y = POINT_32629
    to_lonlat = Transformer.from_crs(32629, 4326, always_xy=True)
    aoi = box(*to_lonlat.transform(x - 500, y - 500), *to_lonlat.transform(x + 500, y + 500))
    scenes = search_scenes(settings.archives, aoi, date(2023, 6, 1),
                           date(2023, 6, 30))
    acquisitions = group_acquisitions(scenes)
    grid = OutputGrid.for_aoi(aoi, 32629, 20)
    chunk = next(grid.chunks(10_000))
    stack = read_stack(acquisitions, stack_bands(BANDS), grid, chunk, 20)
    close_datasets()
    valid = valid_mask(stack.refl, stack.scl, stack.band_names)
    row, col = rowcol(grid.transform, x, y)
    expected = [(acquisitions[i].datetime.date(), bool(valid[t, row, col]),
                 int(stack.scl[t, row, col]))
                for t, i in enumerate(stack.obs_index) if stack.scl[t, row, col] > 0]
    assert [(r["date"], r["valid"], r["scl"]) for r in got.rows] == expected
    assert len({r["date"] for r in got.rows}) == len(got.rows)
    assert any(r["valid"] for r in got.rows) and not all(r["valid"] for r in got.rows)
    for r in got.rows:
        assert r["tile"] in {"29UNU", "29UPU"} and r["tile"] in r["scene_id"]
        assert r["scene_id"] in r["all_scene_ids"].split(";")
    # The composite's valid_obs counts exactly the valid observations.
    series = composite_series(query(), settings.archives)
    assert series.rows[0]["valid_obs"] == sum(r["valid"] for r in got.rows)
    assert series.rows[0]["total_obs"] == len(got.rows)
    chosen = [r for r in got.rows if r["scene_id"] == series.rows[0]["scene_id"]]
    assert len(chosen) == 1 and chosen[0]["valid"]
    assert chosen[0]["B04"] == pytest.approx(series.rows[0]["B04"], abs=6e-5)


def test_stc_pixels_where_the_clear_distance_matters_equal_the_product(hub_dirs, tmp_path):
    # Ten days hold two acquisitions, so every pixel is an STC pixel. Where the STC's preference
    # for observations away from detected clouds changes the choice, the series needs the same
    # halo and rule as the pipeline to give the product's value.
    x, y = POINT_32629
    to_lonlat = Transformer.from_crs(32629, 4326, always_xy=True)
    west, south = to_lonlat.transform(x - 600, y - 600)
    east, north = to_lonlat.transform(x + 600, y + 600)
    spec = parse_spec({"aoi": [west, south, east, north], "start": "2023-06-01",
                       "period": "tenday", "resolution": 20, "crs": "EPSG:32629",
                       "bands": ["B04"], "aux": ["method", "source_index"], "name": "stc"})
    result = run_mosaic(spec, mosaic_settings(), tmp_path, "stc")
    with rasterio.open(next(result.folder.glob("bands_*.tif"))) as src:
        b04, transform = src.read(1), src.transform
    with rasterio.open(next(result.folder.glob("source_index_*.tif"))) as src:
        chosen = src.read(1)
    # Independently: the same stack, selected without the preference.
    settings = mosaic_settings()
    grid = OutputGrid(32629, transform, b04.shape[1], b04.shape[0])
    acquisitions = group_acquisitions(search_scenes(
        settings.archives, box(west, south, east, north),
        date(2023, 6, 1), date(2023, 6, 10)))
    halo = stc_clear_px(20)
    stack = read_stack(acquisitions, stack_bands(["B04"]), grid, next(grid.chunks(10_000)), 20,
                       halo=halo)
    close_datasets()
    plain = select(stack, settings.medoid_min_obs)
    assert not (plain.method == 1).any()  # STC or, with nothing valid, none
    rows, cols = np.nonzero((chosen != plain.index) & (chosen >= 0))
    assert rows.size, "the preference changes no pixel of the demo's first ten days of June"
    pick = np.random.default_rng(0).choice(rows.size, size=min(5, rows.size), replace=False)
    for row, col in zip(rows[pick], cols[pick], strict=True):
        lon, lat = to_lonlat.transform(*(transform @ (col + 0.5, row + 0.5)))
        got = composite_series(query(lon=lon, lat=lat, end=date(2023, 6, 10),
                                     period_type="tenday", bands=("B04",)),
                               settings.archives).rows[0]
        assert got["method"] == "stc"
        assert got["acquisition_date"] == acquisitions[chosen[row, col]].datetime.date()
        assert got["B04"] == pytest.approx(float(reflectance(b04)[row, col]), abs=1e-9)
