"""Archives as values: presets that read the real catalogues' items, and the operator's file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from compositing.archive.archives import (
    PRESETS,
    ArchiveConfigError,
    all_asset_keys,
    load_archives,
)
from compositing.archive.scenes import datatake, granule_key, item_tile, scene_from_item

ES_ITEM = "real/stac_items/riotilerpds_earthsearch_v1_S2A_29RKH_20200219_0_L2A.json"
PC_ITEMS = "real/stac_items/stacgeoparquet_sentinel-2-l2a-pc.json"
SELECTION = ("B02", "B03", "B04", "B08", "B8A", "B11", "B12", "SCL", "AOT")


def test_the_earth_search_preset_reads_a_real_earth_search_item(shared_data: Path) -> None:
    item = json.loads((shared_data / ES_ITEM).read_text())
    scene = scene_from_item(item, PRESETS["earth-search"])
    assert set(SELECTION) <= set(scene.assets)
    assert scene.assets["B04"].href == item["assets"]["red"]["href"]  # the COG, not red-jp2
    assert scene.assets["B8A"].href == item["assets"]["nir08"]["href"]
    assert scene.assets["SCL"].href == item["assets"]["scl"]["href"]
    assert scene.assets["ANGLES"].href == item["assets"]["granule_metadata"]["href"]
    assert (scene.archive, scene.tile) == ("earth-search", "29RKH")


def test_the_planetary_computer_preset_reads_real_planetary_computer_items(
        shared_data: Path) -> None:
    items = json.loads((shared_data / PC_ITEMS).read_text())
    scenes = [scene_from_item(item, PRESETS["planetary-computer"]) for item in items]
    for item, scene in zip(items, scenes, strict=True):
        assert set(SELECTION) <= set(scene.assets)
        assert scene.assets["B04"].href == item["assets"]["B04"]["href"]
        assert scene.assets["ANGLES"].href == item["assets"]["granule-metadata"]["href"]
        assert scene.tile == item["properties"]["s2:mgrs_tile"]
    # Four tiles of one datatake: four granules, one acquisition.
    assert len({granule_key(s) for s in scenes}) == 4
    assert len({datatake(s.acquisition) for s in scenes}) == 1


def test_the_cdse_preset_takes_each_band_at_its_native_resolution() -> None:
    """CDSE names its files by band and resolution (B04_10m, SCL_20m, ...) and lists the
    coarser copies too; the preset picks the native one."""
    assets = {f"{band}_{res}": {"href": f"s3://eodata/S2/{band}_{res}.jp2"}
              for band, resolutions in {
                  "B01": ("20m", "60m"), "B02": ("10m", "20m", "60m"), "B04": ("10m", "60m"),
                  "B8A": ("20m", "60m"), "B11": ("20m", "60m"), "SCL": ("20m", "60m"),
                  "AOT": ("10m", "20m", "60m")}.items() for res in resolutions}
    item = {"id": "S2B_MSIL2A_20240419T095549_N0510_R122_T33UVR_20240419T123458",
            "geometry": None, "bbox": [14.0, 49.5, 15.5, 50.5], "assets": assets,
            "properties": {"datetime": "2024-04-19T09:55:49.024Z", "platform": "sentinel-2b",
                           "grid:code": "MGRS-33UVR",
                           "s2:datatake_id": "GS2B_20240419T095549_037185_N05.10"}}
    scene = scene_from_item(item, PRESETS["cdse"])
    picked = {band: asset.href.rsplit("/", 1)[1] for band, asset in scene.assets.items()}
    assert picked == {"B01": "B01_60m.jp2", "B02": "B02_10m.jp2", "B04": "B04_10m.jp2",
                      "B8A": "B8A_20m.jp2", "B11": "B11_20m.jp2", "SCL": "SCL_20m.jp2",
                      "AOT": "AOT_20m.jp2"}
    assert scene.tile == "33UVR"
    assert PRESETS["cdse"].gdal_options({"CDSE_S3_ACCESS_KEY": "id",
                                         "CDSE_S3_SECRET_KEY": "secret"}) == {
        "AWS_S3_ENDPOINT": "eodata.dataspace.copernicus.eu", "AWS_VIRTUAL_HOSTING": "FALSE",
        "AWS_HTTPS": "YES", "AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "secret"}


def test_the_local_archive_knows_every_catalogue_s_names(shared_data: Path) -> None:
    """Ingest registers items with the keys their catalogue gave them: the hub's own archive
    reads them all, and ingest recognises exactly those keys."""
    item = json.loads((shared_data / ES_ITEM).read_text())
    assert set(SELECTION) <= set(scene_from_item(item, PRESETS["local"]).assets)
    assert {"red", "B04", "B04_10m", "scl", "SCL_20m", "CLD_20m"} <= all_asset_keys()
    assert set(all_asset_keys()) == {k for keys in PRESETS["local"].asset_keys.values()
                                     for k in keys}


def test_a_granule_is_the_same_in_every_catalogue_and_processing() -> None:
    assert datatake("GS2A_20200219T112111_024344_N02.14") == "GS2A_20200219T112111_024344"
    assert datatake("sentinel-2a_20230103T115411") == "sentinel-2a_20230103T115411"
    assert item_tile({"s2:mgrs_tile": "29RKH"}) == "29RKH"
    assert item_tile({"mgrs:utm_zone": 9, "mgrs:latitude_band": "R",
                      "mgrs:grid_square": "KH"}) == "09RKH"
    assert item_tile({"grid:code": "MGRS-29RKH"}) == "29RKH"
    assert item_tile({"s2:granule_id":
                      "S2A_OPER_MSI_L2A_TL_MPS__20200219T123947_A024344_T29RKH_N02.14"}) == "29RKH"
    assert item_tile({}) == ""


def test_archives_are_listed_in_priority_order_from_presets_and_the_operator_s_file(
        tmp_path: Path) -> None:
    assert [a.name for a in load_archives("local, earth-search")] == ["local", "earth-search"]
    file = tmp_path / "archives.toml"
    file.write_text("""
[archives.mirror]
preset = "earth-search"
stac_url = "https://stac.example.org/v1"
href_rewrites = [["https://sentinel-cogs.s3.us-west-2.amazonaws.com/", "/data/cogs/"]]

[archives.cdse]
collection = "sentinel-2-l2a-test"

[archives.plain]
stac_url = "http://127.0.0.1:9000/stac/"
asset_keys = {SCL = "scene_class", B04 = ["red", "B04"]}
file_prefixes = ["s3://plain/"]
gdal = {GDAL_HTTP_MAX_RETRY = "5"}
credentials = {AWS_ACCESS_KEY_ID = "PLAIN_KEY"}
""")
    mirror, cdse, plain = load_archives("mirror,cdse,plain", file)
    assert mirror.asset_keys == PRESETS["earth-search"].asset_keys
    assert mirror.rewrite("https://sentinel-cogs.s3.us-west-2.amazonaws.com/a/B04.tif") == (
        "/data/cogs/a/B04.tif")
    assert (cdse.stac_url, cdse.collection) == (PRESETS["cdse"].stac_url, "sentinel-2-l2a-test")
    assert dict(plain.asset_keys) == {"SCL": ("scene_class",), "B04": ("red", "B04")}
    assert plain.gdal_options({}) == {"GDAL_HTTP_MAX_RETRY": "5"}
    assert plain.gdal_options({"PLAIN_KEY": "k"}) == {"GDAL_HTTP_MAX_RETRY": "5",
                                                     "AWS_ACCESS_KEY_ID": "k"}


@pytest.mark.parametrize("names,text,message", [
    ("nowhere", "", "unknown archive(s) nowhere"),
    ("local,local", "", "names an archive twice"),
    (" , ", "", "names no archive"),
    ("x", "[archives.x]\ncollection = 'c'\n", "archive 'x': stac_url is needed"),
    ("x", "[archives.x]\npreset = 'google'\n", "archive 'x': preset 'google' is none of"),
    ("x", "[archives.x]\nstac_url = 'ftp://a/'\n", "stac_url must be an http(s) URL"),
    ("x", "[archives.x]\nstac_url = 'http://a/'\nasset_keys = {B99 = 'b'}\n",
     "asset_keys.B99 is no L2A raster"),
    ("x", "[archives.x]\nstac_url = 'http://a/'\nasset_keys = {B04 = 'red'}\n",
     "asset_keys must name the SCL asset"),
    ("x", "[archives.x]\nstac_url = 'http://a/'\nsigning = 'magic'\n", "signing must be one of"),
    ("x", "[archives.x]\nstac_url = 'http://a/'\ncolour = 'red'\n", "unknown field(s) colour"),
    ("x", "[archives.x]\nstac_url = 'http://a/'\nhref_rewrites = [['a']]\n",
     "href_rewrites must be a list of [prefix, replacement] pairs"),
    ("x", "[archives.x]\nstac_url = 'http://a/'\ngdal = {AWS_REGION = 'eu'}\n",
     "gdal and credentials apply to the files under file_prefixes"),
    ("x", "[archives.x]\nstac_url = 'http://a/'\ncredentials = ['AWS_ACCESS_KEY_ID']\n",
     "credentials must be a table of strings"),
    ("x", "[archives.x\n", "not TOML"),
    ("x", "[other]\n", "holds only [archives.NAME] tables"),
])
def test_a_wrong_configuration_names_the_archive_and_the_field(tmp_path: Path, names: str,
                                                                text: str, message: str) -> None:
    file = tmp_path / "archives.toml"
    file.write_text(text)
    with pytest.raises(ArchiveConfigError, match=re.escape(message)):
        load_archives(names, file if text else None)


def test_a_stalled_stac_api_fails_the_search_naming_the_archive(monkeypatch) -> None:
    """An API that takes the connection and never answers must not hold the search (a web
    worker for the preview, a Celery worker for an order)."""
    import socket
    from dataclasses import replace
    from datetime import date

    from shapely.geometry import box

    from compositing.archive import scenes

    monkeypatch.setattr(scenes, "STAC_TIMEOUT_S", (2.0, 0.5))
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # the kernel completes the connection; nobody ever answers
        port = listener.getsockname()[1]
        stalled = replace(PRESETS["local"], name="stalled",
                          stac_url=f"http://127.0.0.1:{port}/stac/")
        with pytest.raises(scenes.ArchiveDataError,
                           match=r"the archive stalled \(http://127\.0\.0\.1:\d+/stac/\) could "
                                 r"not be searched"):
            scenes.search_scenes([stalled], box(0, 0, 1, 1), date(2023, 1, 1),
                                 date(2023, 1, 2))


def test_an_archive_is_remote_where_its_files_are_said_to_be(tmp_path: Path) -> None:
    """Whether a worker starts its threads for remote files at its start."""
    file = tmp_path / "archives.toml"
    file.write_text("""
[archives.mirror]
preset = "local"
href_rewrites = [["/data/archive/", "http://files.example/archive/"]]

[archives.nas]
preset = "local"
href_rewrites = [["/data/archive/", "/mnt/nas/archive/"]]
""")
    remote = {a.name: a.remote for a in load_archives(
        "local, earth-search, planetary-computer, cdse, mirror, nas", file)}
    assert remote == {"local": False, "earth-search": True, "planetary-computer": True,
                      "cdse": True, "mirror": True, "nas": False}
