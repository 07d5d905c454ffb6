"""Change orders: two mosaics of one AOI on one grid, compared by Change Vector Analysis, in
every format, with their metadata; the change layers against an independent computation on
the product's own bands (the whole-array functions of `compositing.change`)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import rasterio
import zarr

from compositing.change import change_mask, change_vectors, classify, normalise
from compositing.orders.spec import parse_spec
from compositing.pipeline import MosaicSettings, run_mosaic
from compositing.products.layers import CHANGE_LAYERS
from compositing.products.netcdf import EPOCH
from hub.mosaics.services import mosaic_settings
from tests.compositing.products.test_inspire import load_iso_schema
from tests.conftest import TEST_AOI_BBOX
from tests.hub.on_demand import OnDemand
from tests.hub.test_stac_schema import errors as stac_errors

pytestmark = pytest.mark.django_db
BANDS = ("B02", "B03", "B04", "B08")
CODE = "T20_20230601"


def change_order(name: str, **extra: object):
    return parse_spec({"aoi": list(TEST_AOI_BBOX), "start": "2023-06-01", "period": "tenday",
                       "compare_start": "2023-06-21", "resolution": 20, "crs": "EPSG:32629",
                       "name": name, **extra})


@pytest.fixture
def products(hub_dirs, tmp_path: Path) -> OnDemand:
    """Change products by format (or 'per_layer', or 'chunked': GeoTIFF composed in 32-pixel
    chunks), composed when first read."""
    def make(key: str):
        settings = mosaic_settings()
        extra: dict[str, object] = {}
        if key == "per_layer":
            extra["layout"] = "per_layer"
        if key == "chunked":
            settings = MosaicSettings(settings.archives, chunk_size=32)
        fmt = key if key in ("GTiff", "JP2", "NetCDF", "Zarr") else "GTiff"
        return run_mosaic(change_order(f"c-{key.lower()}", format=fmt, **extra), settings,
                          tmp_path / key, key.lower())
    return OnDemand(make)


def _read(folder: Path, layer: str, name: str) -> np.ndarray:
    with rasterio.open(folder / f"{layer}_{CODE}_{name}.tif") as ds:
        return ds.read()


def _decoded(stored: np.ndarray, nodata: int, scale: float) -> np.ndarray:
    return np.where(stored == nodata, np.nan, stored * scale)


def test_change_layers_equal_an_independent_whole_array_computation(products):
    folder = products["GTiff"].folder
    before = _decoded(_read(folder, "before", "c-gtiff").astype(np.float64), 65535, 1e-4)
    after = _decoded(_read(folder, "after", "c-gtiff").astype(np.float64), 65535, 1e-4)
    assert before.shape[0] == after.shape[0] == 4

    norm = normalise(before, after)
    diff, magnitude, angle = change_vectors(before, norm.apply(after))
    mask = change_mask(diff, norm.weights)
    classes = classify(magnitude, angle, mask & np.isfinite(angle))
    valid = np.isfinite(diff).all(axis=0)
    assert valid.sum() > 1000 and 0 < mask.sum() < valid.sum()

    stored = {name: _read(folder, name, "c-gtiff")[0] for name in CHANGE_LAYERS}
    assert np.array_equal(stored["change_mask"] == 255, ~valid)
    assert np.array_equal(stored["change_mask"][valid] == 1, mask[valid])
    assert np.array_equal(stored["change_class"][valid], classes[valid])
    np.testing.assert_allclose(stored["cva_magnitude"][valid] * 1e-4, magnitude[valid],
                               atol=0.5e-4 + 1e-9)
    finite = valid & np.isfinite(angle)
    np.testing.assert_allclose(stored["cva_angle"][finite] * 0.01, angle[finite],
                               atol=0.005 + 1e-9)
    meta = json.loads((folder / "metadata.json").read_text())["change"]
    np.testing.assert_allclose(meta["normalisation"]["gain"], norm.gain, rtol=1e-6)
    assert meta["normalisation"]["sample_pixels"] == int(valid.sum())
    assert [c["class"] for c in meta["classes"]] == list(range(1, len(meta["classes"]) + 1))


def test_chunks_do_not_change_the_product(products):
    whole, chunked = products["GTiff"], products["chunked"]
    assert chunked.chunks > whole.chunks
    for layer in (*CHANGE_LAYERS, "before", "after", "after_source_index"):
        assert np.array_equal(_read(whole.folder, layer, "c-gtiff"),
                              _read(chunked.folder, layer, "c-chunked")), layer


def test_every_change_pixel_names_its_two_observations(products):
    folder = products["GTiff"].folder
    meta = json.loads((folder / "metadata.json").read_text())
    sources = meta["Source_product_list"]
    epoch = date(1970, 1, 1)
    for period, first, last in (("before", date(2023, 6, 1), date(2023, 6, 10)),
                                ("after", date(2023, 6, 21), date(2023, 6, 30))):
        index = _read(folder, f"{period}_source_index", "c-gtiff")[0]
        day = _read(folder, f"{period}_acquisition_date", "c-gtiff")[0]
        valid = index != -1
        assert valid.any()
        for value in np.unique(index[valid]):
            source = sources[str(value)]
            sensed = date.fromisoformat(source["datetime"][:10])
            assert first <= sensed <= last, (period, value, sensed)
            assert set(np.unique(day[index == value])) == {(sensed - epoch).days}
    assert meta["Comparison_period_start"] == "2023-06-21"
    assert meta["Comparison_period_end"] == "2023-06-30"


def test_product_files_metadata_and_quicklooks(products):
    result = products["GTiff"]
    names = {f.name for f in result.files}
    for layer in ("before", "after", *CHANGE_LAYERS, "before_source_index",
                  "after_source_index", "before_acquisition_date", "after_acquisition_date"):
        assert f"{layer}_{CODE}_c-gtiff.tif" in names
    for quicklook in ("quicklook", "quicklook_before", "quicklook_change"):
        assert f"{quicklook}_{CODE}_c-gtiff.png" in names
    with rasterio.open(result.folder / f"quicklook_change_{CODE}_c-gtiff.png") as ds:
        rgba = ds.read()
    assert (rgba[3] == 255).any()
    item = json.loads((result.folder / "stac_item.json").read_text())
    assert stac_errors("item", item) == []
    assert item["properties"]["start_datetime"].startswith("2023-06-01")
    assert item["properties"]["end_datetime"].startswith("2023-06-30")
    assert item["assets"]["before"]["eo:bands"][0]["name"] == "before_B02"
    assert item["assets"]["change_mask"]["raster:bands"][0]["data_type"] == "uint8"
    meta = json.loads((result.folder / "metadata.json").read_text())
    assert "change" in meta["Title"] and "Change Vector Analysis" not in meta["Title"]
    interpreted = {b["Name"] for b in meta["Band_interpretations"]}
    assert {"before_B04", "after_B04", *CHANGE_LAYERS} <= interpreted
    inspire = (result.folder / "inspire.xml").read_bytes()
    load_iso_schema().validate(inspire)
    assert b"Change Vector Analysis" in inspire and b"2023-06-30" in inspire


def test_per_layer_geotiff_netcdf_and_zarr_hold_every_layer(products):
    per_layer = {f.name for f in products["per_layer"].files}
    assert f"before_B08_{CODE}_c-per_layer.tif" in per_layer
    assert f"cva_angle_{CODE}_c-per_layer.tif" in per_layer
    reference = _read(products["GTiff"].folder, "change_class", "c-gtiff")[0]
    nc = next(products["NetCDF"].folder.glob("*.nc"))
    with netCDF4.Dataset(nc) as ds:
        ds.set_auto_maskandscale(False)
        assert np.array_equal(ds["change_class"][0].astype(np.int64), reference)  # (time, y, x)
        assert ds["change_mask"].flag_meanings == "no_change change"
        assert ds["before_B04"].central_wavelength_nm == 665
        assert len(ds["after_source_index"].flag_meanings.split()) == len(
            json.loads((nc.parent / "metadata.json").read_text())["Source_product_list"])
        # One time step whose bounds hold both periods: 1 to 30 June (days since 1970).
        first, after_last = (date(2023, 6, 1) - EPOCH).days, (date(2023, 7, 1) - EPOCH).days
        assert ds["time"][:].tolist() == [first]
        assert ds["time_bnds"][:].tolist() == [[first, after_last]]
        assert ds["time"].long_name == "start of the first compared period"
        assert ds.time_coverage_start == "2023-06-01T00:00:00Z"
        assert ds.time_coverage_end == "2023-06-30T23:59:59Z"
        assert ds.title.startswith("Sentinel-2 L2A change c-netcdf")
        assert "Change Vector Analysis" in ds.summary or "change vector" in ds.summary
    stored = next(f for f in products["Zarr"].files if f.name.endswith(".zarr.zip"))
    group = zarr.open_group(zarr.storage.ZipStore(products["Zarr"].folder / stored.name,
                                                  mode="r"), mode="r")
    assert group["time_bnds"][:].tolist() == [[first, after_last]]
    assert group.attrs["time_coverage_end"] == "2023-06-30T23:59:59Z"


@pytest.mark.parametrize(("options", "field"), [
    ({"compare_start": "2023-06-05"}, "compare_start"),  # inside the first period
    ({"compare_start": "2023-05-01"}, "compare_start"),  # before it
    ({"compare_start": (date.today() + timedelta(days=40)).isoformat()}, "compare_start"),
    ({"compare_start": "June"}, "compare_start"),
    ({"compare_start": "2023-06-21", "confidence": "1"}, "confidence"),
    ({"compare_start": "2023-06-21", "confidence": "nan"}, "confidence"),
    ({"compare_start": "2023-06-21", "confidence": True}, "confidence"),
    ({"compare_start": "2023-06-21", "change_classes": "0"}, "change_classes"),
    ({"compare_start": "2023-06-21", "change_classes": 11}, "change_classes"),
    ({"compare_start": "2023-06-21", "aux": "valid_obs"}, "aux"),
    # JPEG 2000 cannot hold the acquisition days (int32) a change order delivers
    ({"compare_start": "2023-06-21", "format": "JP2"}, "format"),
    ({"confidence": 0.99}, "confidence"),  # a mosaic takes no confidence
    ({"change_classes": 3}, "change_classes"),
])
def test_bad_change_options_are_refused_naming_the_field(options, field):
    from compositing.orders.spec import SpecError

    order = {"aoi": list(TEST_AOI_BBOX), "start": "2023-06-01", "period": "tenday",
             "resolution": 20, "crs": "EPSG:32629", "bands": "B04", **options}
    with pytest.raises(SpecError) as caught:
        parse_spec(order)
    assert caught.value.field == field


def test_a_change_order_defaults_to_the_visible_and_near_infrared_bands():
    spec = change_order("defaults")
    assert spec.bands == BANDS and spec.is_change
    assert (spec.compare_start, spec.compare_end) == (date(2023, 6, 21), date(2023, 6, 30))
    custom = parse_spec({"aoi": list(TEST_AOI_BBOX), "start": "2023-06-03", "end": "2023-06-09",
                         "compare_start": "2023-06-20", "resolution": 20, "crs": "UTM"})
    assert (custom.compare_start, custom.compare_end) == (date(2023, 6, 20), date(2023, 6, 26))


def test_a_change_order_through_the_api_runs_in_chunk_tasks_and_shows_both_periods(
        client, alice, alice_token, settings, hub_dirs, django_capture_on_commit_callbacks):
    from hub.mosaics import fanout
    from hub.mosaics.models import MosaicRequest, Status
    from hub.task_names import RUN_REQUEST
    from tests.hub.test_fanout import Recorder

    settings.HUB_CHUNK_SIZE = 32  # 2 km at 20 m: 101 x 100 px, 16 chunks
    settings.HUB_SMALL_ORDER_CHUNKS = 2
    order = {"name": "api-change", "aoi": list(TEST_AOI_BBOX), "start": "2023-06-01",
             "period": "tenday", "compare_start": "2023-06-21", "resolution": 20,
             "crs": "EPSG:32629", "confidence": 0.999, "change_classes": 3}
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post("/api/v1/mosaics", data=json.dumps(order),
                               content_type="application/json",
                               HTTP_AUTHORIZATION=f"Token {alice_token}")
    assert response.status_code == 201, response.content
    assert response.json()["options"]["compare_start"] == "2023-06-21"
    req = MosaicRequest.objects.get()
    sends = Recorder()
    pending = [fanout.Send(RUN_REQUEST, (str(req.pk),))]
    while pending:
        sends.run(pending.pop())  # newest first: chunks in no particular order
        pending += sends.take()
    req.refresh_from_db()
    assert req.status == Status.DONE, req.error
    assert req.chunks_total > 4
    folder = hub_dirs["media"] / req.product_folder
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["change"]["confidence"] == 0.999 and len(meta["change"]["classes"]) <= 3

    client.force_login(alice)
    page = client.get(f"/requests/{req.pk}/").content.decode()
    assert "Classes of change" in page and "Compared with" in page
    assert page.count("/quicklook") >= 3 and "class 1" in page


def test_a_change_order_delivered_as_mgrs_tiles_holds_every_layer_in_each_tile(
        hub_dirs, tmp_path):
    """Large orders are delivered as tiles (`size.fit_to_limit`); so are large change orders:
    one change model for the whole order, its layers cropped into each tile's folder."""
    from tests.hub.test_product_layouts import _tile_crossing_bbox

    west, south, east, north = _tile_crossing_bbox()
    spec = change_order("c-tiles", tiling="mgrs", aoi=[west, south, east, north])
    whole = run_mosaic(change_order("c-whole", aoi=[west, south, east, north]),
                       mosaic_settings(), tmp_path / "whole", "whole")
    tiled = run_mosaic(spec, mosaic_settings(), tmp_path / "tiles", "tiles")
    names = {f.name for f in tiled.files}
    assert {name.split("/")[0] for name in names if "/" in name} == {"29UNU", "29UPU"}
    with rasterio.open(next(whole.folder.glob("change_class_*.tif"))) as src:
        reference, transform = src.read(1), src.transform
    for tile in ("29UNU", "29UPU"):
        (path,) = (tiled.folder / tile).glob("change_class_*.tif")
        with rasterio.open(path) as src:
            part = src.read(1)
            col, row = ~transform * (src.transform.c, src.transform.f)
        window = reference[round(row):round(row) + part.shape[0],
                           round(col):round(col) + part.shape[1]]
        # The same model over the whole order: each tile's classes are the whole product's.
        assert np.array_equal(part, window), tile
        assert any((tiled.folder / tile).glob("after_acquisition_date_*.tif"))
    item = json.loads((tiled.folder / "stac_item.json").read_text())
    assert stac_errors("item", item) == []
