"""What a delivered product folder holds, per format: valid files with equal values."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
import rasterio
from rio_cogeo.cogeo import cog_validate

from compositing.orders.spec import parse_spec
from compositing.pipeline import run_mosaic
from hub.mosaics.services import mosaic_settings
from tests.conftest import TEST_AOI_BBOX
from tests.hub.on_demand import OnDemand

pytestmark = pytest.mark.django_db
BANDS = ["B02", "B03", "B04", "B08"]
AUX = ["valid_obs", "source_index", "method"]


def order(fmt: str, **extra):
    return parse_spec({"aoi": list(TEST_AOI_BBOX), "start": "2023-06-01", "period": "month",
                       "resolution": 20, "crs": "EPSG:32629", "format": fmt, "bands": BANDS,
                       "aux": AUX, "metadata": ["json", "inspire"], "name": "fmt", **extra})


@pytest.fixture
def products(hub_dirs, tmp_path) -> OnDemand:
    """The same order in each format ("GTiff", "JP2", "NetCDF"), composed when first read."""
    return OnDemand(lambda fmt: run_mosaic(order(fmt), mosaic_settings(), tmp_path / fmt,
                                           fmt.lower()))


def test_geotiff_products_are_valid_cogs_with_their_metadata(products):
    folder = products["GTiff"].folder
    names = sorted(p.name for p in folder.iterdir())
    assert "bands_M20_20230601_fmt.tif" in names and "quicklook_M20_20230601_fmt.png" in names
    assert {"metadata.json", "inspire.xml", "stac_item.json", "manifest.sha256"} <= set(names)
    assert not any(n.startswith(".") or n.endswith(".aux.xml") for n in names)
    for tif in folder.glob("*.tif"):
        valid, errors, warnings = cog_validate(str(tif))
        assert valid and not errors, (tif.name, errors, warnings)
    with rasterio.open(folder / "bands_M20_20230601_fmt.tif") as src:
        assert src.descriptions == tuple(BANDS) and src.nodata == 65535
        assert src.scales == (1e-4,) * 4 and src.overviews(1) == [] or src.count == 4


def test_jpeg2000_products_hold_the_same_values_one_file_per_band(products):
    gtiff, jp2 = products["GTiff"].folder, products["JP2"].folder
    with rasterio.open(gtiff / "bands_M20_20230601_fmt.tif") as src:
        want = src.read()
        transform, crs = src.transform, src.crs
    for b, band in enumerate(BANDS):
        with rasterio.open(jp2 / f"{band}_M20_20230601_fmt.jp2") as src:
            assert src.driver == "JP2OpenJPEG"
            assert src.crs == crs and src.transform == transform and src.nodata == 65535
            np.testing.assert_array_equal(src.read(1), want[b])
    for name in AUX:
        with rasterio.open(gtiff / f"{name}_M20_20230601_fmt.tif") as a, \
                rasterio.open(jp2 / f"{name}_M20_20230601_fmt.jp2") as b:
            np.testing.assert_array_equal(a.read(), b.read())


def test_the_manifest_verifies_every_file(products):
    folder = products["GTiff"].folder
    check = subprocess.run(["sha256sum", "--strict", "-c", "manifest.sha256"], cwd=folder,
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    listed = {line.split("  ", 1)[1] for line in (folder / "manifest.sha256").read_text()
              .splitlines()}
    assert listed == {p.name for p in folder.iterdir()} - {"manifest.sha256"}


def test_metadata_names_every_source_and_file(products):
    result = products["GTiff"]
    meta = json.loads((result.folder / "metadata.json").read_text())
    assert len(meta["Source_product_list"]) == result.observations
    assert meta["Mosaicking_period_start"] == "2023-06-01"
    item = json.loads((result.folder / "stac_item.json").read_text())
    assert item["properties"]["start_datetime"].startswith("2023-06-01")
    assert "bands_M20_20230601_fmt.tif" in {a["href"].rsplit("/", 1)[-1]
                                            for a in item["assets"].values()}


def test_netcdf_products_hold_the_same_values_in_one_file(products):
    import xarray as xr

    gtiff, nc = products["GTiff"].folder, products["NetCDF"].folder
    files = list(nc.glob("*.nc"))
    assert [f.name for f in files] == ["bands_M20_20230601_fmt.nc"]
    with xr.open_dataset(files[0], mask_and_scale=False) as ds, \
            rasterio.open(gtiff / "bands_M20_20230601_fmt.tif") as src:
        assert ds.attrs["id"] == nc.name
        assert ds.sizes["time"] == 1 and ds.sizes["x"] == src.width
        for b, band in enumerate(BANDS):
            stored = ds[band].isel(time=0).values.astype(np.int64) % 65536  # _Unsigned int16
            np.testing.assert_array_equal(stored, src.read(b + 1))
