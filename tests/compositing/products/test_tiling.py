"""Tile geometry of any MGRS square, and a product grid cut into tile parts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import Transformer
from shapely.geometry import box

from compositing.grid import OutputGrid
from compositing.orders import mgrs
from compositing.orders.spec import parse_spec
from compositing.products.intermediate import GeoTiffWriter
from compositing.products.layers import AUX_LAYERS, reflectance_layer
from compositing.products.tiling import crop_intermediates, product_parts


@pytest.mark.parametrize("known", list(mgrs.TILES.values()), ids=list(mgrs.TILES))
def test_computed_tiles_match_the_tiles_read_from_real_products(known: mgrs.Tile) -> None:
    column, row = round(known.ulx / 1e5), round(known.uly / 1e5) - 1
    computed = mgrs.square_tile(known.epsg, column, row)
    assert computed == mgrs.Tile(known.id, known.epsg, float(known.ulx), float(known.uly))


def test_southern_tiles_are_lettered_from_the_false_northing() -> None:
    # 07HFE (New Zealand's east, a real tile): column F of set 1, row E, band H (32-24 S).
    assert mgrs.square_tile(32707, 6, 64).id == "07HFE"


@pytest.mark.parametrize("tile_id", ["07HFE", "01KAB", "29UNU", "29RKH", "06VVN"])
def test_square_tiles_and_tile_ids_give_the_same_corner(tile_id: str) -> None:
    # Real corners (07HFE ULY 6500020, 01KAB ULY 8200000) are checked in test_mgrs_ids.py.
    named = mgrs.tile_from_id(tile_id)
    column, row = round(named.ulx / 1e5), round(named.uly / 1e5) - 1
    assert mgrs.square_tile(named.epsg, column, row) == named


def test_tiles_over_an_area_crossing_the_edge_of_two_tiles() -> None:
    across = box(595_000, 5_830_000, 606_000, 5_840_000)
    assert [t.id for t in mgrs.tiles_over(32629, across)] == ["29UNU", "29UPU"]
    west = box(550_000, 5_830_000, 560_000, 5_840_000)
    assert [t.id for t in mgrs.tiles_over(32629, west)] == ["29UNU"]
    assert mgrs.uncovered(32629, across).is_empty


def test_an_area_beyond_the_zone_is_uncovered() -> None:
    far_east = box(905_000, 5_830_000, 910_000, 5_840_000)  # E 900-1000 km: no MGRS column
    assert mgrs.tiles_over(32629, far_east) == []
    assert mgrs.uncovered(32629, far_east).area == far_east.area


def _spec(west: float, east: float, resolution: int = 20):
    to_lonlat = Transformer.from_crs(32629, 4326, always_xy=True)
    lon0, lat0 = to_lonlat.transform(west, 5_835_000)
    lon1, lat1 = to_lonlat.transform(east, 5_837_000)
    return parse_spec({"aoi": [lon0, lat0, lon1, lat1], "start": "2023-06-01",
                       "resolution": resolution, "crs": "EPSG:32629", "bands": ["B04"],
                       "tiling": "mgrs"})


def test_parts_are_windows_of_the_grid_on_its_pixel_lattice() -> None:
    spec = _spec(595_000, 606_000)
    grid = OutputGrid.for_aoi(spec.aoi, spec.crs, spec.resolution)
    parts = {p.label: p for p in product_parts(spec, grid)}
    assert list(parts) == ["29UNU", "29UPU"]
    unu, upu = parts["29UNU"], parts["29UPU"]
    assert (unu.col_off, unu.row_off, unu.grid.width, unu.grid.height) == (
        0, 0, grid.width, grid.height)
    assert upu.grid.transform.c == 600_000 and upu.row_off == 0
    assert upu.col_off == (600_000 - grid.transform.c) / 20
    assert upu.col_off + upu.grid.width == grid.width
    assert upu.grid.transform == grid.transform @ Affine.translation(upu.col_off, 0)


def test_a_single_product_has_no_parts() -> None:
    spec = parse_spec({**_spec(595_000, 606_000).to_json(), "tiling": "single"})
    assert product_parts(spec, OutputGrid.for_aoi(spec.aoi, spec.crs, 20)) == []


def test_cropped_intermediates_hold_the_window_with_its_band_metadata(tmp_path: Path) -> None:
    spec = _spec(595_000, 606_000)
    grid = OutputGrid.for_aoi(spec.aoi, spec.crs, spec.resolution)
    rng = np.random.default_rng(1)
    layers = [reflectance_layer("B04"), reflectance_layer("B08")]
    data = rng.integers(0, 10_000, (2, grid.height, grid.width), dtype=np.uint16)
    source = tmp_path / "bands.tif"
    with GeoTiffWriter(source, grid, layers) as writer:
        for chunk in grid.chunks(100):
            window = data[:, chunk.row_off:chunk.row_off + chunk.height,
                          chunk.col_off:chunk.col_off + chunk.width]
            writer.write(chunk, list(window))
    aux = tmp_path / "valid_obs.tif"
    counts = rng.integers(0, 30, (1, grid.height, grid.width), dtype=np.uint8)
    with GeoTiffWriter(aux, grid, [AUX_LAYERS["valid_obs"]]) as writer:
        writer.write(next(grid.chunks(10_000)), list(counts))
    part = next(p for p in product_parts(spec, grid) if p.label == "29UPU")
    cropped = crop_intermediates(
        {"bands": (source, layers), "valid_obs": (aux, [AUX_LAYERS["valid_obs"]])},
        part, tmp_path / "29UPU")
    for name, full in (("bands", data), ("valid_obs", counts)):
        path, _ = cropped[name]
        with rasterio.open(path) as src, rasterio.open(tmp_path / f"{name}.tif") as whole:
            assert src.transform == part.grid.transform
            np.testing.assert_array_equal(
                src.read(), full[:, :, part.col_off:part.col_off + part.grid.width])
            assert [src.tags(i) for i in src.indexes] == [whole.tags(i) for i in whole.indexes]
            assert (src.descriptions, src.scales, src.nodata) == (
                whole.descriptions, whole.scales, whole.nodata)
