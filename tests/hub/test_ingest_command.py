"""`manage.py ingest`: real products registered, searched back through the hub's STAC API,
composited at 60 m with their own offset; failures reported and exit non-zero."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import rasterio
from django.core.management import CommandError, call_command
from pyproj import Transformer
from shapely.geometry import box

from compositing.archive.ingest import ingest_path
from compositing.archive.read import read_stack
from compositing.archive.scenes import group_acquisitions, search_scenes
from compositing.grid import OutputGrid
from compositing.orders.spec import parse_spec
from compositing.pipeline import run_mosaic
from compositing.selection.composite import stack_bands
from hub.mosaics.operator import archives
from hub.mosaics.services import mosaic_settings

pytestmark = pytest.mark.django_db

SAFE_NAME = "S2A_MSIL2A_20221005T115411_N0400_R023_T29UNU_20221005T164454"
R60 = "GRANULE/L2A_T29UNU_A038058_20221005T115407/IMG_DATA/R60m"
ES_ITEM = "earthsearch_S2A_29RKH_20200219_L2A/S2A_29RKH_20200219_0_L2A.json"
# A 3 km square in the clear north-west corner of 29UNU on 2022-10-05 (vegetation and water,
# inside the swath): E 510000-513000, N 5894000-5897000 in EPSG:32629.
CLEAR_SQUARE_32629 = (510000.0, 5894000.0, 513000.0, 5897000.0)
BANDS_AT_60M = ["B02", "B03", "B04", "B8A", "B11", "B12"]


@pytest.fixture
def archive(settings, tmp_path: Path) -> Path:
    folder = tmp_path / "archive"
    settings.HUB_ARCHIVE_DIR = folder
    settings.HUB_STAC_URL = ""
    settings.HUB_MEDIA_ROOT = tmp_path / "media"
    return folder


def _run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("ingest", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _aoi_bbox() -> list[float]:
    """The clear square as a lon/lat bbox lying inside it."""
    to_lonlat = Transformer.from_crs(32629, 4326, always_xy=True)
    x0, y0, x1, y1 = CLEAR_SQUARE_32629
    lons, lats = to_lonlat.transform([x0, x1, x0, x1], [y0, y0, y1, y1])
    return [max(lons[0], lons[2]), max(lats[0], lats[1]), min(lons[1], lons[3]),
            min(lats[2], lats[3])]


def test_command_registers_the_real_safe_and_lists_what_is_missing(archive, shared_data):
    safe_dir = shared_data / "real" / f"{SAFE_NAME}.SAFE"
    out, err = _run(str(safe_dir))
    assert f"registered: {SAFE_NAME}" in out and err == ""
    assert "B08: no file at any resolution (not registered)" in out
    assert "10 m files listed in MTD_MSIL2A.xml but absent: B02, B03, B04, B08" in out
    assert "B04 60 m" in out and "SCL 20 m" in out
    assert "1 path(s): 1 registered" in out
    item_path = archive / "sentinel-2-l2a" / SAFE_NAME / f"{SAFE_NAME}.json"
    first = item_path.read_bytes()
    out, _ = _run(str(safe_dir))
    assert f"already registered: {SAFE_NAME}" in out and "1 already registered" in out
    assert item_path.read_bytes() == first


def test_failures_are_reported_after_the_other_paths(archive, shared_data, tmp_path):
    junk = tmp_path / "junk.txt"
    junk.write_text("not a product\n")
    missing = tmp_path / "missing.SAFE.zip"
    item = shared_data / "real" / ES_ITEM
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="2 of 3 path"):
        call_command("ingest", str(junk), str(item), str(missing), stdout=out, stderr=err)
    assert f"FAILED {junk}: not a SAFE folder" in err.getvalue()
    assert f"FAILED {missing}: no such file" in err.getvalue()
    assert "registered: S2A_29RKH_20200219_0_L2A" in out.getvalue()
    assert "3 path(s): 1 registered, 2 failed" in out.getvalue()
    assert sorted(p.name for p in (archive / "sentinel-2-l2a").iterdir()) == [
        "S2A_29RKH_20200219_0_L2A"]


def test_earth_search_item_is_found_through_the_stac_api(archive, shared_data):
    out, _ = _run(str(shared_data / "real" / ES_ITEM))
    assert "dropped): granule_metadata, thumbnail" in out
    item = json.loads((shared_data / "real" / ES_ITEM).read_text())
    aoi = box(*item["bbox"]).centroid.buffer(0.05)
    scenes = search_scenes(archives(), aoi, date(2020, 2, 19), date(2020, 2, 19))
    assert [s.id for s in scenes] == ["S2A_29RKH_20200219_0_L2A"]
    scene = scenes[0]
    assert {"B02", "B03", "B04", "B08", "B8A", "B11", "B12", "SCL", "AOT"} <= set(scene.assets)
    local_data = str(shared_data.resolve())
    for band, asset in scene.assets.items():
        assert Path(asset.href).is_file() and asset.href.startswith(local_data), band
        with rasterio.open(asset.href) as src:
            assert src.crs.to_epsg() == 32629
            assert src.read(1, window=rasterio.windows.Window(0, 0, 4, 4)).shape == (4, 4)


def _clear_pixels_and_expected(shared_data: Path, grid: OutputGrid, chunk_shape: tuple[int, int]
                               ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Where the product's SCL is clear on the output grid, and (DN - 1000) per 60 m band."""
    safe_dir = shared_data / "real" / f"{SAFE_NAME}.SAFE"
    left, top = grid.transform.c, grid.transform.f
    col0, row0 = int((left - 499980) / 60), int((5900040 - top) / 60)
    h, w = chunk_shape
    window = rasterio.windows.Window(col0, row0, w, h)
    scl20 = safe_dir / R60.replace("R60m", "R20m") / "T29UNU_20221005T115411_SCL_20m.jp2"
    with rasterio.open(scl20) as src:  # the 20 m pixel holding each 60 m centre (nearest)
        scl = src.read(1, window=rasterio.windows.Window(3 * col0, 3 * row0, 3 * w, 3 * h))
    clear = np.isin(scl[1::3, 1::3], [4, 5, 6])
    expected = {}
    for band in BANDS_AT_60M:
        with rasterio.open(safe_dir / R60 / f"T29UNU_20221005T115411_{band}_60m.jp2") as src:
            dn = src.read(1, window=window).astype(np.int64)
        expected[band] = dn - 1000  # BOA_ADD_OFFSET of this product, DN on the 1e-4 scale
    return clear, expected


def _spec(name: str):  # noqa: ANN202 - MosaicSpec
    return parse_spec({"aoi": _aoi_bbox(), "start": "2022-10-05", "period": "day",
                       "resolution": 60, "crs": "EPSG:32629", "bands": BANDS_AT_60M,
                       "aux": ["valid_obs", "total_obs"], "name": name})


def test_60m_read_applies_the_products_own_offset(archive, shared_data):
    ingest_path(shared_data / "real" / f"{SAFE_NAME}.SAFE", archive, "sentinel-2-l2a")
    spec = _spec("read60")
    settings = mosaic_settings()
    observations = group_acquisitions(search_scenes(
        settings.archives, spec.aoi, spec.start, spec.end))
    assert len(observations) == 1
    grid = OutputGrid.for_aoi(spec.aoi, spec.crs, spec.resolution)
    chunk = next(grid.chunks(100_000))
    stack = read_stack(observations, stack_bands(spec.bands), grid, chunk, spec.resolution)
    clear, expected = _clear_pixels_and_expected(shared_data, grid, chunk.shape)
    assert clear.mean() > 0.8, "the test square must be mostly clear"
    assert set(np.unique(stack.scl[0][clear])) <= {4, 5, 6}
    for band in BANDS_AT_60M:
        refl = stack.reflectance()[0, stack.band_names.index(band)]
        np.testing.assert_allclose(refl[clear], expected[band][clear] / 1e4, atol=1e-6)
    # B08 has no file in this product (no 60 m B08 exists in L2A): read as missing.
    assert (stack.refl[0, stack.band_names.index("B08")] == 0).all()


def test_60m_request_over_the_real_safe(archive, shared_data, tmp_path):
    ingest_path(shared_data / "real" / f"{SAFE_NAME}.SAFE", archive, "sentinel-2-l2a")
    spec = _spec("real60")
    result = run_mosaic(spec, mosaic_settings(), tmp_path / "out", "real60")
    meta = json.loads((result.folder / "metadata.json").read_text())
    # No B08 at any resolution: the selection uses B8A in its place, and says so.
    assert meta["algorithm"]["selection_stand_ins"] == {"B08": "B8A"}
    with rasterio.open(next(result.folder.glob("bands_*.tif"))) as src:
        product = src.read()
        assert src.transform.a == 60
    inside = result.grid.aoi_mask(spec.aoi, next(result.grid.chunks(100_000)))
    with rasterio.open(next(result.folder.glob("total_obs_*.tif"))) as src:
        assert (src.read(1)[inside] == 1).all()  # the run succeeds and sees the observation
    clear, expected = _clear_pixels_and_expected(shared_data, result.grid,
                                                 (result.grid.height, result.grid.width))
    check = clear & inside
    assert check.sum() > 100
    for b, band in enumerate(BANDS_AT_60M):
        np.testing.assert_array_equal(product[b][check],
                                      np.clip(expected[band][check], 0, None))


def test_a_remote_item_is_registered_without_downloading_anything(archive, shared_data,
                                                                  tmp_path):
    """--remote keeps the hrefs of assets with no local file: the item alone is copied."""
    item_file = tmp_path / "item.json"
    item_file.write_text((shared_data / "real" / ES_ITEM).read_text())  # no COG beside it
    out, err = _run(str(item_file), "--remote")
    assert err == "" and "registered: S2A_29RKH_20200219_0_L2A" in out
    assert "red 10 m, remote" in out and "granule_metadata remote file" in out
    stored = json.loads((archive / "sentinel-2-l2a" / "S2A_29RKH_20200219_0_L2A"
                         / "S2A_29RKH_20200219_0_L2A.json").read_text())
    original = json.loads(item_file.read_text())
    assert {k: a["href"] for k, a in stored["assets"].items()} == {
        k: a["href"] for k, a in original["assets"].items()}
    assert sorted(p.name for p in (archive / "sentinel-2-l2a" / "S2A_29RKH_20200219_0_L2A")
                  .iterdir()) == ["S2A_29RKH_20200219_0_L2A.json"]
    # Without --remote the same item has nothing to register.
    with pytest.raises(CommandError):
        _run(str(item_file), "--archive", str(tmp_path / "other"))


@pytest.mark.heavy  # nginx
def test_a_remote_item_reads_as_the_same_item_with_local_files(archive, shared_data, tmp_path,
                                                              settings):
    from compositing.archive.read import close_datasets
    from tests.webserver import nginx_serving

    _run(str(shared_data / "real" / ES_ITEM))  # the COGs beside the item: local hrefs
    folder = archive / "sentinel-2-l2a" / "S2A_29RKH_20200219_0_L2A"
    local_item = json.loads((folder / "S2A_29RKH_20200219_0_L2A.json").read_text())
    aoi = box(*local_item["bbox"]).centroid.buffer(0.02)
    date_ = date(2020, 2, 19)
    local = search_scenes(archives(), aoi, date_, date_)
    cog_dir = (shared_data / "real" / ES_ITEM).parent.resolve()
    with nginx_serving(cog_dir, tmp_path / "nginx") as web:
        remote_item = json.loads(json.dumps(local_item).replace(str(cog_dir), web.base))
        (tmp_path / "remote.json").write_text(json.dumps(remote_item))
        settings.HUB_ARCHIVE_DIR = tmp_path / "remote-archive"
        out, _ = _run(str(tmp_path / "remote.json"), "--remote")
        assert "red 100 m, remote" in out or "B04 100 m, remote" in out, out
        remote = search_scenes(archives(), aoi, date_, date_)
        assert remote[0].assets["B04"].href.startswith(web.base)
        grid = OutputGrid.for_aoi(aoi, 32629, 100)
        chunk = next(grid.chunks(100_000))
        bands = stack_bands(["B02", "B04", "B8A"])
        here = read_stack(group_acquisitions(local), bands, grid, chunk, 100)
        there = read_stack(group_acquisitions(remote), bands, grid, chunk, 100)
        close_datasets()
        served = web.requests()
    np.testing.assert_array_equal(there.refl, here.refl)
    np.testing.assert_array_equal(there.scl, here.scl)
    assert here.refl.size and (here.refl > 0).mean() > 0.5
    assert all(r.status == 206 for r in served if r.path.endswith(".tif") and r.method == "GET")
