"""GeoTIFF layouts (one multi-band file or one file per layer) and MGRS tile subfolders."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np
import pytest
import rasterio
from pyproj import Transformer
from rasterio.windows import from_bounds
from rio_cogeo.cogeo import cog_validate

from compositing.demo.archive import DEMO_CENTER_32629
from compositing.orders.spec import parse_spec
from compositing.pipeline import MosaicResult, run_mosaic
from hub.mosaics.fanout import _publish
from hub.mosaics.models import MosaicRequest, Status
from hub.mosaics.services import mosaic_settings
from tests.conftest import TEST_AOI_BBOX
from tests.hub.on_demand import OnDemand
from tests.hub.test_stac_schema import errors as stac_errors

pytestmark = pytest.mark.django_db
BANDS = ["B02", "B03", "B04", "B08"]
AUX = ["valid_obs", "source_index"]
SUFFIX = "M20_20230601"


def _tile_crossing_bbox() -> list[float]:
    """From 5 km west of 29UPU's west edge (E 600000) to the demo scenes' east side: inside
    29UNU, and partly inside 29UPU, so the two tile parts have different windows."""
    to_lonlat = Transformer.from_crs(32629, 4326, always_xy=True)
    cx, cy = DEMO_CENTER_32629
    west, south = to_lonlat.transform(595_000, cy - 1000)
    east, north = to_lonlat.transform(cx + 1000, cy + 1000)
    return [round(west, 5), round(south, 5), round(east, 5), round(north, 5)]


def order(name: str, aoi: list[float] | None = None, **extra: object):
    return parse_spec({"aoi": aoi or list(TEST_AOI_BBOX), "start": "2023-06-01",
                       "period": "month", "resolution": 20, "crs": "EPSG:32629",
                       "format": "GTiff", "bands": BANDS, "aux": AUX, "name": name,
                       "metadata": ["json", "inspire"], **extra})


@pytest.fixture
def layouts(hub_dirs, tmp_path: Path) -> OnDemand:
    """The same order as "multiband" and "per_layer" products, composed when first read."""
    return OnDemand(lambda layout: run_mosaic(order(layout.replace("_", "-"), layout=layout),
                                              mosaic_settings(), tmp_path / layout, layout))


def test_per_layer_writes_one_valid_cog_per_band_and_aux_layer(layouts):
    folder = layouts["per_layer"].folder
    tifs = sorted(p.name for p in folder.glob("*.tif"))
    assert tifs == sorted(f"{n}_{SUFFIX}_per-layer.tif" for n in [*BANDS, *AUX])
    for name in tifs:
        valid, errors, warnings = cog_validate(str(folder / name))
        assert valid and not errors, (name, errors, warnings)
    assert not list(folder.glob("*.aux.xml"))


def test_per_layer_files_hold_the_multiband_values_and_band_metadata(layouts):
    multi = layouts["multiband"].folder / f"bands_{SUFFIX}_multiband.tif"
    with rasterio.open(multi) as src:
        values = src.read()
        profile = (src.crs, src.transform, src.width, src.height)
        per_band = [(src.descriptions[i], src.tags(i + 1), src.nodata, src.scales[i],
                     src.offsets[i], src.units[i], src.dtypes[i]) for i in range(src.count)]
    assert [d for d, *_ in per_band] == BANDS
    for i, band in enumerate(BANDS):
        with rasterio.open(layouts["per_layer"].folder / f"{band}_{SUFFIX}_per-layer.tif") as f:
            assert f.count == 1 and (f.crs, f.transform, f.width, f.height) == profile
            np.testing.assert_array_equal(f.read(1), values[i])
            assert (f.descriptions[0], f.tags(1), f.nodata, f.scales[0], f.offsets[0],
                    f.units[0], f.dtypes[0]) == per_band[i]
            assert f.tags(1)["wavelength_nm"] and f.nodata == 65535 and f.scales[0] == 1e-4
    for name in AUX:
        with rasterio.open(layouts["multiband"].folder / f"{name}_{SUFFIX}_multiband.tif") as a, \
                rasterio.open(layouts["per_layer"].folder / f"{name}_{SUFFIX}_per-layer.tif") as b:
            np.testing.assert_array_equal(a.read(), b.read())
            assert a.tags(1) == b.tags(1) and a.descriptions == b.descriptions


def test_per_layer_metadata_points_at_each_band_file(layouts):
    folder = layouts["per_layer"].folder
    meta = json.loads((folder / "metadata.json").read_text())
    paths = {b["Name"]: (b["File_path"], b["Band_index"]) for b in meta["Band_interpretations"]}
    assert paths["B04"] == (f"B04_{SUFFIX}_per-layer.tif", 1)
    assert meta["order"]["layout"] == "per_layer" and meta["order"]["tiling"] == "single"
    item = json.loads((folder / "stac_item.json").read_text())
    assert item["assets"]["B08"]["eo:bands"][0]["name"] == "B08"
    assert item["assets"]["B08"]["raster:bands"][0]["nodata"] == 65535


# ---------------------------------------------------------------- MGRS tile subfolders


@pytest.fixture
def tiled(hub_dirs, tmp_path: Path) -> dict[str, MosaicResult]:
    aoi = _tile_crossing_bbox()
    settings = mosaic_settings()
    return {"single": run_mosaic(order("whole", aoi), settings, tmp_path / "single", "single"),
            "mgrs": run_mosaic(order("tiled", aoi, tiling="mgrs", layout="per_layer"),
                               settings, tmp_path / "mgrs", "mgrs")}


@pytest.mark.heavy
def test_mgrs_tiling_writes_a_subfolder_per_tile_on_the_same_pixels(tiled):
    whole = tiled["single"].folder
    folder = tiled["mgrs"].folder
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == ["29UNU", "29UPU"]
    with rasterio.open(whole / f"bands_{SUFFIX}_whole.tif") as src:
        bands, transform, nodata = src.read(), src.transform, src.nodata
        bounds = src.bounds
    assert (bands != nodata).any()
    widths = {}
    for tile in ("29UNU", "29UPU"):
        names = sorted(p.name for p in (folder / tile).iterdir())
        assert names == sorted(f"{n}_{SUFFIX}_{tile}.tif" for n in [*BANDS, *AUX])
        for i, band in enumerate(BANDS):
            path = folder / tile / f"{band}_{SUFFIX}_{tile}.tif"
            assert cog_validate(str(path))[0]
            with rasterio.open(path) as part:
                assert part.res == (20.0, 20.0) and part.transform.c % 20 == 0
                window = from_bounds(*part.bounds, transform=transform)
                row, col = round(window.row_off), round(window.col_off)
                assert (row, col) == (window.row_off, window.col_off)  # same pixel lattice
                want = bands[i, row:row + part.height, col:col + part.width]
                np.testing.assert_array_equal(part.read(1), want)
                widths[tile] = part.width
    # 29UPU starts at E 600000, 5 km east of the area's west edge: its part is narrower.
    assert widths["29UNU"] == round((bounds.right - bounds.left) / 20)
    assert widths["29UPU"] == round((bounds.right - 600000) / 20)
    top = {p.name for p in folder.iterdir() if p.is_file()}
    assert {"metadata.json", "inspire.xml", "stac_item.json", "manifest.sha256",
            f"quicklook_{SUFFIX}_tiled.png"} == top


@pytest.mark.heavy
def test_tiled_metadata_lists_every_file_with_its_relative_path(tiled):
    result = tiled["mgrs"]
    folder = result.folder
    listed = {f.name for f in result.files}
    assert f"29UPU/B02_{SUFFIX}_29UPU.tif" in listed
    check = subprocess.run(["sha256sum", "--strict", "-c", "manifest.sha256"], cwd=folder,
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    manifest = {line.split("  ", 1)[1] for line in
                (folder / "manifest.sha256").read_text().splitlines()}
    assert manifest == listed - {"manifest.sha256"}
    meta = json.loads((folder / "metadata.json").read_text())
    assert [t["Tile"] for t in meta["Geometry"]["Tiles"]] == ["29UNU", "29UPU"]
    b02 = next(b for b in meta["Band_interpretations"] if b["Name"] == "B02")
    assert b02["File_paths"] == [f"29UNU/B02_{SUFFIX}_29UNU.tif",
                                 f"29UPU/B02_{SUFFIX}_29UPU.tif"]
    assert {f["name"] for f in meta["files"]} >= {f"29UNU/valid_obs_{SUFFIX}_29UNU.tif"}
    item = json.loads((folder / "stac_item.json").read_text())
    assert stac_errors("item", item) == []
    asset = item["assets"]["B02_29UPU"]
    assert asset["href"] == f"29UPU/B02_{SUFFIX}_29UPU.tif"
    with rasterio.open(folder / asset["href"]) as src:
        assert asset["proj:shape"] == [src.height, src.width]
        assert asset["proj:transform"] == list(src.transform)[:6]
    # Every file written before the item (a file cannot list its own checksum).
    assert {a["href"] for a in item["assets"].values()} == listed - {"stac_item.json",
                                                                     "manifest.sha256"}


def test_tiled_netcdf_has_one_file_per_tile_subfolder(hub_dirs, tmp_path):
    import xarray as xr

    spec = order("nc", _tile_crossing_bbox(), tiling="mgrs", format="NetCDF")
    folder = run_mosaic(spec, mosaic_settings(), tmp_path, "nc").folder
    for tile in ("29UNU", "29UPU"):
        files = [p.name for p in (folder / tile).iterdir()]
        assert files == [f"bands_{SUFFIX}_{tile}.nc"]
        with xr.open_dataset(folder / tile / files[0]) as ds:
            assert ds.attrs["id"] == f"{folder.name}_{tile}"


def test_subfolder_files_download_singly_and_keep_their_paths_in_zip_and_metalink(
        client, alice, hub_dirs, tiled):
    result = tiled["mgrs"]
    req = MosaicRequest.from_spec(order("tiled", _tile_crossing_bbox(), tiling="mgrs",
                                        layout="per_layer"), alice)
    req.status = Status.RUNNING
    req.save()
    _publish(req, result.folder, result.files)
    folder = hub_dirs["media"] / result.folder.name
    req.refresh_from_db()
    assert req.status == Status.DONE and req.options["tiling"] == "mgrs"
    client.force_login(alice)
    name = f"29UPU/B03_{SUFFIX}_29UPU.tif"
    listed = client.get(f"/api/v1/mosaics/{req.pk}").json()["files"]
    href = next(f["href"] for f in listed if f["name"] == name)
    assert href == f"/api/v1/mosaics/{req.pk}/files/{name}"
    response = client.get(href)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == (folder / name).read_bytes()

    response = client.get(f"/api/v1/mosaics/{req.pk}/zip")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.read(f"{folder.name}/{name}") == (folder / name).read_bytes()
    assert f"{folder.name}/29UNU/B03_{SUFFIX}_29UNU.tif" in archive.namelist()

    response = client.get(f"/api/v1/mosaics/{req.pk}/metalink")
    ns = {"m": "urn:ietf:params:xml:ns:metalink"}
    entries = {e.get("name"): e.find("m:url", ns).text
               for e in ET.fromstring(response.content).findall("m:file", ns)}
    assert entries[f"{folder.name}/{name}"].endswith(href)


def test_tiled_jpeg2000_items_keep_each_file_and_its_sidecar_apart(hub_dirs, tmp_path):
    spec = order("jp", _tile_crossing_bbox(), tiling="mgrs", format="JP2", aux=["valid_obs"])
    result = run_mosaic(spec, mosaic_settings(), tmp_path, "jp")
    item = json.loads((result.folder / "stac_item.json").read_text())
    hrefs = [a["href"] for a in item["assets"].values()]
    assert sorted(hrefs) == sorted({f.name for f in result.files}
                                   - {"stac_item.json", "manifest.sha256"})
    data = item["assets"]["B02_29UNU"]
    assert data["href"] == f"29UNU/B02_{SUFFIX}_29UNU.jp2" and data["roles"] == ["data"]
    assert data["raster:bands"][0]["nodata"] == 65535
    sidecar = item["assets"]["B02_aux_xml_29UNU"]
    assert sidecar["href"] == data["href"] + ".aux.xml" and sidecar["roles"] == ["metadata"]
    with rasterio.open(result.folder / data["href"]) as src:
        assert data["proj:shape"] == [src.height, src.width]
        assert data["proj:transform"] == list(src.transform)[:6]
