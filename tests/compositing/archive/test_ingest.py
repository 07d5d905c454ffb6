"""Ingest of real L2A products: SAFE metadata of several baselines, SAFE folders and zips,
STAC Items with local COGs, idempotence, and refusal of anything else."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from compositing.archive import safe
from compositing.archive.ingest import IngestError, ingest_path
from compositing.archive.scenes import scene_from_item
from compositing.archive.store import LocalArchive

SAFE_NAME = "S2A_MSIL2A_20221005T115411_N0400_R023_T29UNU_20221005T164454"
GRANULE = "GRANULE/L2A_T29UNU_A038058_20221005T115407"
ES_ITEM = "earthsearch_S2A_29RKH_20200219_L2A/S2A_29RKH_20200219_0_L2A.json"
META_0212 = "S2A_MSIL2A_20190212T192651_N0212_R013_T07HFE_20201007T160857"
META_0509 = "S2A_MSIL2A_20230821T221941_N0509_R029_T01KAB_20230822T021825"
COLLECTION = "sentinel-2-l2a"


@pytest.fixture
def real(shared_data: Path) -> Path:
    return shared_data / "real"


@pytest.fixture
def safe_dir(real: Path) -> Path:
    return real / f"{SAFE_NAME}.SAFE"


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under a folder with its bytes (empty when the folder does not exist)."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# --- metadata of three baselines ----------------------------------------------------------------


@pytest.mark.parametrize(("name", "baseline", "offset", "datatake", "cloud"), [
    (SAFE_NAME, "04.00", -1000, "GS2A_20221005T115411_038058_N04.00", 59.769726),
    (META_0212, "02.12", 0, "GS2A_20190212T192651_019029_N02.12", 51.580326),
    (META_0509, "05.09", -1000, "GS2A_20230821T221941_042640_N05.09", 59.050727),
])
def test_product_metadata_of_each_baseline(real, name, baseline, offset, datatake, cloud):
    path = (real / f"{SAFE_NAME}.SAFE" / "MTD_MSIL2A.xml" if name == SAFE_NAME
            else real / "safe_metadata" / f"{name}__MTD_MSIL2A.xml")
    meta = safe.parse_product(path.read_bytes())
    assert meta.processing_baseline == baseline
    assert meta.quantification == 10000
    assert all(meta.boa_add_offset.get(b, 0) == offset for b in safe.BAND_IDS)
    if offset:  # 13 values, B8A at band_id 8
        assert set(meta.boa_add_offset) == set(safe.BAND_IDS)
    assert meta.datatake_id == datatake
    assert meta.platform == "sentinel-2a"
    assert meta.cloud_cover == pytest.approx(cloud)
    assert meta.product_uri == f"{name}.SAFE"
    assert meta.start_time.isoformat().startswith(f"{name[11:15]}-{name[15:17]}-{name[17:19]}")


def test_footprint_is_lon_lat(safe_dir):
    meta = safe.parse_product((safe_dir / "MTD_MSIL2A.xml").read_bytes())
    west, south, east, north = meta.footprint.bounds
    assert (west, east) == pytest.approx((-9.000305, -7.7604675))  # Ireland: lon about -8
    assert (south, north) == pytest.approx((52.25776, 53.2496265))
    assert meta.footprint.exterior.is_ccw


def test_footprint_across_the_antimeridian(real):
    meta = safe.parse_product(
        (real / "safe_metadata" / f"{META_0509}__MTD_MSIL2A.xml").read_bytes())
    assert meta.footprint.geom_type == "MultiPolygon"
    west, south, east, north = safe.stac_bbox(meta.footprint)
    assert west == pytest.approx(179.2392098, abs=1e-6) and east == pytest.approx(-179.71545)
    assert -17.26 < south < north < -16.24


@pytest.mark.parametrize(("name", "tile", "epsg", "ulx", "uly", "sun", "view"), [
    (SAFE_NAME, "29UNU", 32629, 499980, 5900040, (57.820574357679, 172.840206897213), 9.2475),
    (META_0212, "07HFE", 32707, 600000, 6500020, (32.707073851362, 62.3286549448294), 10.814),
    (META_0509, "01KAB", 32701, 99960, 8200000, (38.4174390061789, 43.3009058473725), 2.775),
])
def test_tile_metadata_of_each_baseline(real, name, tile, epsg, ulx, uly, sun, view):
    path = (next((real / f"{SAFE_NAME}.SAFE" / "GRANULE").glob("*/MTD_TL.xml"))
            if name == SAFE_NAME else real / "safe_metadata" / f"{name}__MTD_TL.xml")
    meta = safe.parse_tile(path.read_bytes())
    assert (meta.tile_id, meta.epsg) == (tile, epsg)
    assert meta.ulx == {10: ulx, 20: ulx, 60: ulx} and meta.uly == {10: uly, 20: uly, 60: uly}
    assert meta.shape == {10: (10980, 10980), 20: (5490, 5490), 60: (1830, 1830)}
    assert (meta.sun_zenith, meta.sun_azimuth) == pytest.approx(sun)
    assert meta.mean_view_zenith == pytest.approx(view, abs=1e-3)
    assert len(meta.view_zenith) == 13
    grid = meta.sun_zenith_grid
    assert grid is not None and (grid.col_step, grid.row_step) == (5000, 5000)
    assert (len(grid.values), len(grid.values[0])) == (23, 23)
    assert abs(np.nanmean(grid.values) - sun[0]) < 1.0
    b04 = np.array(meta.view_zenith_grids["B04"].values)
    assert np.isfinite(b04).any() and abs(np.nanmean(b04) - meta.view_zenith["B04"]) < 1.0


def test_level_1c_metadata_is_refused(real, tmp_path):
    l1c = next((real / "safe_metadata").glob("*MTD_MSIL1C.xml"))
    with pytest.raises(safe.MetadataError, match="Level-1C"):
        safe.parse_product(l1c.read_bytes())
    with pytest.raises(IngestError, match="Level-1C") as exc:
        ingest_path(l1c, tmp_path / "archive")
    assert str(l1c) in str(exc.value)
    assert not (tmp_path / "archive").exists()


# --- SAFE folders and zips ----------------------------------------------------------------------


def test_real_safe_registers_what_exists(safe_dir, tmp_path):
    archive = tmp_path / "archive"
    result = ingest_path(safe_dir, archive, COLLECTION)
    assert result.status == "registered" and result.item_id == SAFE_NAME
    item = json.loads(result.item_path.read_text())
    assert result.item_path == archive / COLLECTION / SAFE_NAME / f"{SAFE_NAME}.json"
    bands = {"B01", "B02", "B03", "B04", "B05", "B06", "B07", "B8A", "B09", "B11", "B12"}
    assert bands | {"SCL", "AOT", "WVP", "CLD", "SNW", "angles"} == set(item["assets"])
    assert any(line.startswith("B08: no file") for line in result.missing)
    assert any("20 m files" in line and "B04" in line for line in result.missing)
    b04 = item["assets"]["B04"]
    assert b04["href"] == str(safe_dir / GRANULE / "IMG_DATA" / "R60m"
                              / "T29UNU_20221005T115411_B04_60m.jp2")
    assert b04["gsd"] == 60 and b04["proj:shape"] == [1830, 1830]
    assert b04["proj:transform"] == [60, 0, 499980, 0, -60, 5900040]
    assert b04["raster:bands"][0] == {"nodata": 0, "data_type": "uint16", "spatial_resolution": 60,
                                      "scale": 1e-4, "offset": -0.1}
    assert item["assets"]["SCL"]["gsd"] == 20 and item["assets"]["AOT"]["gsd"] == 10
    props = item["properties"]
    assert props["s2:processing_baseline"] == "04.00" and props["s2:boa_add_offset"] == -1000
    assert props["s2:datatake_id"] == "GS2A_20221005T115411_038058_N04.00"
    assert props["s2:product_uri"] == f"{SAFE_NAME}.SAFE"
    assert props["platform"] == "sentinel-2a" and props["datetime"] == "2022-10-05T11:54:11.024000Z"
    assert (props["proj:epsg"], props["proj:code"], props["grid:code"]) == (
        32629, "EPSG:32629", "MGRS-29UNU")
    assert (props["mgrs:utm_zone"], props["mgrs:latitude_band"], props["mgrs:grid_square"]) == (
        29, "U", "NU")
    assert props["eo:cloud_cover"] == pytest.approx(59.769726)
    assert props["view:sun_elevation"] == pytest.approx(90 - 57.820574357679)
    assert props["view:sun_azimuth"] == pytest.approx(172.840206897213)
    assert props["view:incidence_angle"] == pytest.approx(9.2475, abs=1e-3)
    angles = json.loads((result.item_path.parent / "angles.json").read_text())
    assert len(angles["sun_zenith"]) == 23 and len(angles["view_zenith"]["B04"][0]) == 23
    assert angles["view_zenith_mean"][0][0] is None or angles["view_zenith_mean"][0][0] > 0

    # Sen2Cor's probability masks from QI_DATA, the finest (20 m), in percent without nodata
    for key, mask in (("CLD", "MSK_CLDPRB_20m.jp2"), ("SNW", "MSK_SNWPRB_20m.jp2")):
        asset = item["assets"][key]
        assert asset["href"] == str(safe_dir / GRANULE / "QI_DATA" / mask)
        assert asset["gsd"] == 20 and asset["proj:shape"] == [5490, 5490]
        assert asset["raster:bands"][0] == {"data_type": "uint8", "spatial_resolution": 20,
                                            "unit": "%"}
    assert len(angles["view_azimuth_mean"]) == 23
    assert all(v is None or 0 <= v < 360 for row in angles["view_azimuth_mean"] for v in row)
    assert angles["view_azimuth_mean"][11][11] == pytest.approx(289, abs=15)

    scene = scene_from_item(item)
    assert scene.assets["CLD"].nodata is None and scene.assets["SNW"].scale == 1.0
    assert scene.assets["ANGLES"].href.endswith("angles.json")
    assert scene.assets["B04"].offset == pytest.approx(-0.1)
    assert scene.acquisition == "GS2A_20221005T115411_038058_N04.00"
    served = LocalArchive(archive).item(COLLECTION, SAFE_NAME)
    assert served is not None
    assert served["assets"]["angles"]["href"] == str(result.item_path.parent / "angles.json")
    with rasterio.open(served["assets"]["SCL"]["href"]) as src:
        assert src.shape == (5490, 5490)


def test_ingesting_twice_changes_nothing(safe_dir, tmp_path):
    archive = tmp_path / "archive"
    first = ingest_path(safe_dir, archive, COLLECTION)
    before = _snapshot(archive)
    stamp = first.item_path.stat().st_mtime_ns
    again = ingest_path(safe_dir / "MTD_MSIL2A.xml", archive, COLLECTION)
    assert again.status == "already registered"
    assert _snapshot(archive) == before and first.item_path.stat().st_mtime_ns == stamp


def test_safe_zip_is_read_through_vsizip(safe_dir, tmp_path):
    archive = tmp_path / "archive"
    zipped = tmp_path / f"{SAFE_NAME}.SAFE.zip"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_STORED) as zf:
        for path in sorted(safe_dir.rglob("*")):
            if path.is_file() and "/R10m/" not in str(path):  # keeps the zip small
                zf.write(path, f"{SAFE_NAME}.SAFE/{path.relative_to(safe_dir)}")
    result = ingest_path(zipped, archive, COLLECTION)
    item = json.loads(result.item_path.read_text())
    href = item["assets"]["B04"]["href"]
    assert href == f"/vsizip/{zipped}/{SAFE_NAME}.SAFE/{GRANULE}/IMG_DATA/R60m/" \
                   "T29UNU_20221005T115411_B04_60m.jp2"
    assert item["assets"]["AOT"]["gsd"] == 20  # the 10 m AOT was left out of the zip
    window = rasterio.windows.Window(100, 100, 20, 20)
    with rasterio.open(href) as a, rasterio.open(str(safe_dir / GRANULE / "IMG_DATA/R60m/"
                                                     "T29UNU_20221005T115411_B04_60m.jp2")) as b:
        np.testing.assert_array_equal(a.read(1, window=window), b.read(1, window=window))
    assert served_href(archive, result.item_id, "B04") == href


def served_href(archive: Path, item_id: str, key: str) -> str:
    item = LocalArchive(archive).item(COLLECTION, item_id)
    assert item is not None
    return str(item["assets"][key]["href"])


def test_corrupt_band_file_fails_the_whole_product(safe_dir, tmp_path):
    fake = tmp_path / f"{SAFE_NAME}.SAFE"
    r60 = fake / GRANULE / "IMG_DATA" / "R60m"
    r60.mkdir(parents=True)
    (fake / "MTD_MSIL2A.xml").symlink_to(safe_dir / "MTD_MSIL2A.xml")
    (fake / GRANULE / "MTD_TL.xml").symlink_to(safe_dir / GRANULE / "MTD_TL.xml")
    for src in (safe_dir / GRANULE / "IMG_DATA" / "R60m").iterdir():
        if "_B04_" in src.name:
            (r60 / src.name).write_bytes(b"\x00\x00\x00\x0cjP  \r\n\x87\nnot a real codestream")
        else:
            (r60 / src.name).symlink_to(src)
    archive = tmp_path / "archive"
    with pytest.raises(IngestError, match="B04_60m.jp2: cannot be read as a raster"):
        ingest_path(fake, archive, COLLECTION)
    assert _snapshot(archive) == {}


@pytest.mark.parametrize("kind", ["text", "zip", "xml", "json", "collection", "broken_json",
                                  "missing", "folder"])
def test_unrelated_inputs_are_refused_and_leave_the_archive_alone(real, safe_dir, tmp_path,
                                                                  kind):
    archive = tmp_path / "archive"
    ingest_path(safe_dir, archive, COLLECTION)
    before = _snapshot(archive)
    path = tmp_path / {"text": "notes.txt", "zip": "other.SAFE.zip", "xml": "MTD_MSIL2A.xml",
                       "json": "item.json", "collection": "c.json", "broken_json": "b.json",
                       "missing": "nothing.SAFE", "folder": "empty.SAFE"}[kind]
    if kind == "text":
        path.write_text("just some words\n")
    elif kind == "zip":
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("readme.txt", "no product here")
    elif kind == "xml":
        path.write_bytes((safe_dir / "INSPIRE.xml").read_bytes())
    elif kind == "json":
        path.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    elif kind == "collection":
        path.write_bytes((real / "stac_items" / "odcstac_sentinel-2-l2a.collection.json")
                         .read_bytes())
    elif kind == "broken_json":
        path.write_text('{"type": "Feature", "id": ')
    elif kind == "folder":
        path.mkdir()
    with pytest.raises(IngestError) as exc:
        ingest_path(path, archive, COLLECTION)
    assert str(path) in str(exc.value)
    assert _snapshot(archive) == before


# --- STAC Items with local files ----------------------------------------------------------------


def test_earth_search_item_maps_hrefs_to_local_files(real, tmp_path):
    archive = tmp_path / "archive"
    source = real / ES_ITEM
    result = ingest_path(source, archive, COLLECTION)
    item = json.loads(result.item_path.read_text())
    assert item["id"] == "S2A_29RKH_20200219_0_L2A"
    assert "red" in item["assets"] and "red-jp2" not in item["assets"]
    assert item["assets"]["red"]["href"] == str(source.parent.resolve() / "B04.tif")
    assert any("red-jp2" in line and "thumbnail" in line for line in result.missing)
    with rasterio.open(item["assets"]["red"]["href"]) as src:
        assert item["assets"]["red"]["proj:shape"] == [src.height, src.width]
        assert item["assets"]["red"]["gsd"] == src.res[0]
    scene = scene_from_item(item)
    assert {"B02", "B04", "B08", "B8A", "B11", "SCL", "AOT"} <= set(scene.assets)
    assert scene.assets["B04"].offset == 0 and scene.acquisition == \
        "GS2A_20200219T112111_024344_N02.14"
    assert ingest_path(source, archive, COLLECTION).status == "already registered"


def test_planetary_computer_keys_are_kept(real, tmp_path):
    pc = json.loads((real / "stac_items" / "odcstac_S2B_MSIL2A_20190629T212529_R043_T06VVN_"
                     "20201006T080531.json").read_text())
    folder = tmp_path / "download"
    folder.mkdir()
    (folder / "item.json").write_text(json.dumps(pc))
    for key, dtype in (("B04", "uint16"), ("SCL", "uint8")):
        name = pc["assets"][key]["href"].rsplit("/", 1)[-1]
        with rasterio.open(folder / name, "w", driver="GTiff", width=8, height=8, count=1,
                           dtype=dtype, crs="EPSG:32606", nodata=0,
                           transform=Affine(20, 0, 399960, 0, -20, 6900000)) as dst:
            dst.write(np.full((1, 8, 8), 7, dtype))
    result = ingest_path(folder / "item.json", tmp_path / "archive", COLLECTION)
    item = json.loads(result.item_path.read_text())
    assert set(item["assets"]) == {"B04", "SCL"}
    assert item["assets"]["B04"]["gsd"] == 20 and item["assets"]["B04"]["proj:shape"] == [8, 8]
    assert scene_from_item(item).assets["B04"].offset == 0  # baseline 02.12
