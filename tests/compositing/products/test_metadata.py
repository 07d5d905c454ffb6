"""Product metadata: S2GM-style JSON, STAC Item and the sha256sum manifest."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pystac
import pytest
from shapely.geometry import box, shape

from compositing import l2a
from compositing.archive.scenes import Asset, Scene, group_acquisitions
from compositing.grid import OutputGrid
from compositing.orders.spec import parse_spec
from compositing.products.layers import AUX_LAYERS
from compositing.products.metadata import (
    Contact,
    ProductInfo,
    ProductLinks,
    manifest,
    metadata_json,
    stac_item,
)
from compositing.products.naming import (
    FileRecord,
    by_name,
    file_record,
    folder_name,
    layer_file_name,
)

ORDER = {
    "aoi": [-7.6, 53.2, -7.55, 53.23],
    "start": "2023-06-01",
    "period": "month",
    "resolution": 20,
    "crs": "EPSG:32629",
    "bands": ["B02", "B03", "B04", "B08"],
    "aux": ["source_index", "valid_obs"],
    "metadata": ["json", "inspire"],
    "name": "Midlands",
    "cloud_buffer": 2,
}
T1 = datetime(2023, 6, 3, 11, 44, 1, tzinfo=UTC)
T2 = datetime(2023, 6, 13, 11, 43, 59, tzinfo=UTC)
SCENE_IDS = (
    "S2A_MSIL2A_20230603T114401_R123_T29UNV_20230603T165542",
    "S2A_MSIL2A_20230603T114401_R123_T29UPV_20230603T165542",
    "S2B_MSIL2A_20230613T114359_R123_T29UNV_20230613T144210",
)


def make_scene(scene_id: str, when: datetime, platform: str, tile: tuple[float, ...],
               baseline: str = "05.09") -> Scene:
    """An L2A granule as archive.scene_from_item makes it (baseline >= 04.00: offset -0.1)."""
    offset = l2a.boa_offset_dn(baseline) / l2a.QUANTIFICATION_VALUE
    assets = {b: Asset(f"https://data.example.org/{scene_id}/{b}.tif", 1e-4, offset, 0, 20.0)
              for b in ("B02", "B03", "B04", "B06", "B8A", "B11", "B12")}
    assets["SCL"] = Asset(f"https://data.example.org/{scene_id}/SCL.tif", 1.0, 0.0, 0, 20.0)
    return Scene(scene_id, when, platform, f"{platform}_{when:%Y%m%dT%H%M%S}", box(*tile),
                 assets, baseline)


def build_info(order: dict | None = None, scenes: list[Scene] | None = None,
               **changes) -> ProductInfo:
    """A realistic finished product: 3 granules, 2 acquisitions (one over two tiles)."""
    spec = parse_spec({**ORDER, **(order or {})})
    if scenes is None:
        scenes = [make_scene(SCENE_IDS[0], T1, "sentinel-2a", (-9.0, 53.0, -7.5, 54.0)),
                  make_scene(SCENE_IDS[1], T1, "sentinel-2a", (-7.6, 53.0, -6.0, 54.0)),
                  make_scene(SCENE_IDS[2], T2, "sentinel-2b", (-9.0, 53.0, -7.5, 54.0),
                             "04.00")]
    files = [FileRecord(layer_file_name(spec, name), 1000 + i, f"{i + 1:064x}")
             for i, name in enumerate(("bands", *spec.aux))]
    files.append(FileRecord("metadata.json", 900, "ab" * 32))
    info = ProductInfo(
        spec=spec, grid=OutputGrid.for_aoi(spec.aoi, spec.crs, spec.resolution),
        observations=group_acquisitions(scenes), files=files, product_id="ab12cd34",
        folder_name=folder_name(spec, "S2GM", "ab12cd34"),
        created=datetime(2023, 7, 2, 8, 15, 0, tzinfo=UTC),
        contact=Contact("Mosaic desk", "Example Mosaic Hub", "mosaics@example.org"),
        stand_ins={"B08": "B8A"},
    )
    return dataclasses.replace(info, **changes)


@pytest.fixture
def info() -> ProductInfo:
    return build_info()


def test_json_has_the_s2gm_fields(info):
    meta = json.loads(json.dumps(metadata_json(info)))  # JSON-serialisable as it is
    assert meta["Title"] == "Sentinel-2 L2A monthly mosaic Midlands"
    assert "Level-2A" in meta["Summary"] and "medoid" in meta["Summary"]
    assert meta["Compositing_period"] == "Monthly" and meta["Compositing_period_code"] == "M"
    assert meta["Mosaicking_period_start"] == "2023-06-01"
    assert meta["Mosaicking_period_end"] == "2023-06-30"
    assert meta["First_product_date"] == "2023-06-03"
    assert meta["Last_product_date"] == "2023-06-13"
    assert meta["Resolution_distance"] == 20
    assert meta["Processing_name"] == "S2GM_M20_20230601_20230630_Midlands_STD_v0.1.0_ab12cd34"
    assert meta["Processing_baseline"] == meta["processing_version"] == "0.1.0"
    assert meta["Sensor_list"] == "S2A, S2B"
    assert meta["Date_of_creation"] == "2023-07-02T08:15:00Z"
    assert meta["Creator_email"] == "mosaics@example.org"
    assert meta["attribution"] == "Contains modified Copernicus Sentinel data 2023"


def test_json_geometry_in_both_crs(info):
    geometry = metadata_json(info)["Geometry"]
    grid = info.grid
    assert geometry["CRS"] == "EPSG:32629"
    assert (geometry["Image_width"], geometry["Image_height"]) == (grid.width, grid.height)
    left, bottom, right, top = grid.bounds
    assert geometry["Boundary"][0] == [left, bottom] and geometry["Boundary"][2] == [right, top]
    assert geometry["Boundary"][0] == geometry["Boundary"][-1]
    lons = [p[0] for p in geometry["Boundary_WGS84"]]
    lats = [p[1] for p in geometry["Boundary_WGS84"]]
    assert -7.61 < min(lons) <= -7.6 and -7.55 <= max(lons) < -7.54
    assert 53.19 < min(lats) <= 53.2 and 53.23 <= max(lats) < 53.24
    assert geometry["AOI"]["type"] == "Polygon"
    assert geometry["Transform"] == [20.0, 0.0, left, 0.0, -20.0, top]


def test_band_interpretations_per_layer(info):
    bands = {b["Name"]: b for b in metadata_json(info)["Band_interpretations"]}
    assert list(bands) == ["B02", "B03", "B04", "B08", "source_index", "valid_obs"]
    b04 = bands["B04"]
    assert b04["Scaling_factor"] == 0.0001 and b04["No_data_value"] == 65535
    assert b04["Spectral_information"]["S2_nominal"]["Central_wavelength"] == 665.0
    assert b04["File_path"] == "bands_M20_20230601_Midlands.tif" and b04["Band_index"] == 3
    assert b04["File_format"] == "GeoTIFF" and b04["Data_type"] == "uint16"
    assert bands["source_index"]["No_data_value"] == -1
    assert bands["source_index"]["File_path"] == "source_index_M20_20230601_Midlands.tif"
    assert bands["valid_obs"]["No_data_value"] == 255
    assert "Spectral_information" not in bands["valid_obs"]


def test_source_product_list_is_keyed_by_source_index(info):
    sources = metadata_json(info)["Source_product_list"]
    assert list(sources) == ["0", "1"]
    first, second = sources["0"], sources["1"]
    assert first["scenes"] == list(SCENE_IDS[:2])  # one acquisition over two tiles
    assert first["datetime"] == "2023-06-03T11:44:01Z" and first["platform"] == "sentinel-2a"
    assert second["scenes"] == [SCENE_IDS[2]]
    granule = second["granules"][0]
    assert granule["id"] == SCENE_IDS[2] and granule["processing_baseline"] == "04.00"
    assert granule["platform"] == "sentinel-2b"
    assert granule["offsets"]["B04"] == pytest.approx(-0.1)
    assert granule["scales"]["B04"] == pytest.approx(1e-4)


def test_algorithm_parameters_and_files(info):
    meta = metadata_json(info)
    algorithm = meta["algorithm"]
    assert algorithm["medoid_bands"] == ["B02", "B03", "B04", "B06", "B08", "B11", "B12"]
    assert algorithm["medoid_min_valid_observations"] == 4
    assert algorithm["valid_scl_classes"] == [2, 4, 5, 6, 11]
    assert algorithm["cloud_buffer_px"] == 2
    assert algorithm["selection_stand_ins"] == {"B08": "B8A"}
    assert "STC" in algorithm["short_term_composite"]
    assert meta["files"][0] == {"name": "bands_M20_20230601_Midlands.tif", "size": 1000,
                                "sha256": f"{1:064x}"}
    assert meta["order"]["name"] == "Midlands"


def test_attribution_names_every_input_year():
    scenes = [make_scene("S2A_MSIL2A_20221230T114401_R123_T29UNV_20221230T165542",
                         datetime(2022, 12, 30, 11, 44, tzinfo=UTC), "sentinel-2a",
                         (-9.0, 53.0, -7.5, 54.0)),
              make_scene("S2B_MSIL2A_20230104T114359_R123_T29UNV_20230104T144210",
                         datetime(2023, 1, 4, 11, 44, tzinfo=UTC), "sentinel-2b",
                         (-9.0, 53.0, -7.5, 54.0))]
    info = build_info({"period": "custom", "start": "2022-12-20", "end": "2023-01-10"}, scenes)
    meta = metadata_json(info)
    assert meta["attribution"] == "Contains modified Copernicus Sentinel data 2022-2023"
    assert meta["Compositing_period"] == "Custom"


def test_stac_item_reads_with_pystac_and_carries_the_extensions(info):
    item_dict = stac_item(info)
    item = pystac.Item.from_dict(json.loads(json.dumps(item_dict)))
    assert item.id == info.folder_name and item.collection_id == "mosaics"
    assert item.datetime is None
    assert item.common_metadata.start_datetime == datetime(2023, 6, 1, tzinfo=UTC)
    assert item.common_metadata.end_datetime == datetime(2023, 6, 30, 23, 59, 59, tzinfo=UTC)
    assert shape(item.geometry).equals(info.spec.aoi)
    assert item.bbox == pytest.approx([-7.6, 53.2, -7.55, 53.23])
    for ext in (pystac.extensions.projection.ProjectionExtension,
                pystac.extensions.eo.EOExtension,
                pystac.extensions.raster.RasterExtension,
                pystac.extensions.file.FileExtension):
        assert ext.has_extension(item), ext
    proj = pystac.extensions.projection.ProjectionExtension.ext(item)
    assert proj.code == "EPSG:32629" and proj.epsg == 32629
    assert proj.shape == [info.grid.height, info.grid.width]
    assert proj.transform == list(info.grid.transform)[:6]
    assert proj.bbox == list(info.grid.bounds)


def test_stac_assets_per_file(info):
    item = pystac.Item.from_dict(stac_item(info))
    assert set(item.assets) == {"bands", "source_index", "valid_obs", "metadata"}
    bands = item.assets["bands"]
    assert bands.roles == ["data"] and bands.media_type.startswith("image/tiff")
    eo = pystac.extensions.eo.EOExtension.ext(bands)
    assert [b.name for b in eo.bands] == ["B02", "B03", "B04", "B08"]
    assert [b.common_name for b in eo.bands] == ["blue", "green", "red", "nir"]
    assert eo.bands[2].center_wavelength == pytest.approx(0.665)
    raster = pystac.extensions.raster.RasterExtension.ext(bands)
    assert [(b.nodata, str(b.data_type), b.scale, b.offset) for b in raster.bands] == \
        [(65535, "uint16", 0.0001, 0.0)] * 4
    index = pystac.extensions.raster.RasterExtension.ext(item.assets["source_index"])
    assert (index.bands[0].nodata, str(index.bands[0].data_type)) == (-1, "int16")
    file_ext = pystac.extensions.file.FileExtension.ext(bands)
    assert file_ext.size == 1000 and file_ext.checksum == "1220" + f"{1:064x}"
    assert item.assets["metadata"].roles == ["metadata"]
    assert bands.href == "bands_M20_20230601_Midlands.tif"


HUB_LINKS = ProductLinks(page="https://hub.example.org/requests/abc/",
                         files="https://hub.example.org/api/v1/mosaics/abc/files/",
                         stac="https://hub.example.org/stac/")


def test_stac_hrefs_under_the_published_links():
    item = stac_item(build_info(links=HUB_LINKS))
    assert item["assets"]["bands"]["href"] == \
        "https://hub.example.org/api/v1/mosaics/abc/files/bands_M20_20230601_Midlands.tif"
    assert item["links"][0] == {"rel": "collection", "type": "application/json",
                                "href": "https://hub.example.org/stac/collections/mosaics"}


def test_the_resource_locator_is_the_product_page_once_published():
    assert metadata_json(build_info(links=HUB_LINKS))["Resource_locator"] == \
        "https://hub.example.org/requests/abc/"


def test_an_unpublished_product_links_its_files_relative_to_its_folder():
    info = build_info(files=[FileRecord("T29UNV/a b.tif", 1, "0" * 64)])
    assert metadata_json(info)["Resource_locator"] == "./"
    assert stac_item(info)["assets"]["a b_T29UNV"]["href"] == "T29UNV/a%20b.tif"


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="needs coreutils sha256sum")
def test_manifest_checks_with_sha256sum(tmp_path: Path):
    (tmp_path / "bands_M20_20230601_Midlands.tif").write_bytes(b"\x00\x01" * 5000)
    (tmp_path / "metadata.json").write_text('{"Title": "x"}\n')
    (tmp_path / "tile").mkdir()
    (tmp_path / "tile" / "valid_obs.tif").write_bytes(b"\xff" * 10)
    files = by_name(file_record(tmp_path, p) for p in tmp_path.rglob("*") if p.is_file())
    (tmp_path / "SHA256SUMS").write_text(manifest(files))
    done = subprocess.run(["sha256sum", "--strict", "-c", "SHA256SUMS"], cwd=tmp_path,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": OK") == 3
    (tmp_path / "metadata.json").write_text('{"Title": "y"}\n')
    changed = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path,
                             capture_output=True, text=True, check=False)
    assert changed.returncode != 0 and "metadata.json: FAILED" in changed.stdout


def test_manifest_format_and_refusals():
    files = [FileRecord("a.tif", 1, "0" * 64), FileRecord("b.json", 2, "f" * 64)]
    assert manifest(files) == f"{'0' * 64}  a.tif\n{'f' * 64}  b.json\n"
    with pytest.raises(ValueError):
        manifest([FileRecord("bad\nname", 1, "0" * 64)])


def test_jpeg2000_products_hold_one_band_per_file():
    info = build_info()
    spec = dataclasses.replace(info.spec, format="JP2")
    files = [FileRecord(layer_file_name(spec, b, "jp2"), 10, "0" * 64) for b in spec.bands]
    info = dataclasses.replace(info, spec=spec, files=files)
    paths = {b["Name"]: b["File_path"] for b in metadata_json(info)["Band_interpretations"]}
    assert paths["B04"] == "B04_M20_20230601_Midlands.jp2"
    item = pystac.Item.from_dict(stac_item(info))
    assert item.assets["B04"].media_type == "image/jp2"
    eo = pystac.extensions.eo.EOExtension.ext(item.assets["B04"])
    assert [b.name for b in eo.bands] == ["B04"]


def test_raster_offset_is_the_layers_own(monkeypatch):
    shifted = dataclasses.replace(AUX_LAYERS["valid_obs"], offset=-0.5)
    monkeypatch.setitem(AUX_LAYERS, "valid_obs", shifted)
    info = build_info()
    assert stac_item(info)["assets"]["valid_obs"]["raster:bands"][0]["offset"] == -0.5
    (entry,) = [b for b in metadata_json(info)["Band_interpretations"]
                if b["Name"] == "valid_obs"]
    assert entry["Offset"] == -0.5


@pytest.mark.parametrize("fmt", ["NetCDF", "Zarr"])
def test_a_one_file_asset_describes_every_layer_in_order(fmt):
    info = build_info({"format": fmt, "aux": ["ndvi", "valid_obs"]})
    spec = info.spec
    name = layer_file_name(spec, "bands", spec.product_format.extension)
    layers = [*spec.bands, "ndvi", "valid_obs"]
    stats = [{"mean": float(i), "valid_percent": 50.0} for i in range(len(layers))]
    info = dataclasses.replace(info, files=[FileRecord(name, 10, "0" * 64)],
                               statistics={name: stats})
    asset = stac_item(info)["assets"]["bands"]
    assert [b["name"] for b in asset["eo:bands"]] == layers
    assert [b["statistics"] for b in asset["raster:bands"]] == stats
    assert [b["nodata"] for b in asset["raster:bands"]] == [65535] * 4 + [-32768, 255]
    ndvi = asset["eo:bands"][layers.index("ndvi")]
    assert set(ndvi) == {"name", "description"} and "(B08 - B04)" in ndvi["description"]
    assert "B08, B04" in ndvi["description"]
    assert asset["eo:bands"][0]["common_name"] == "blue"
