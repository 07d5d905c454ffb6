"""The Zarr product: one zipped store with the NetCDF product's CF attributes, exact values."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr
import zarr

from compositing.grid import OutputGrid
from compositing.orders.spec import MosaicSpec, parse_spec
from compositing.products.formats import find_format
from compositing.products.layers import AUX_LAYERS, reflectance_layer
from compositing.products.netcdf import variable_attributes
from compositing.products.zarrstore import write_product
from tests.compositing.products.intermediates import UTM_GRID, WGS84_GRID, write_layers

BANDS = ("B02", "B04", "B08")
AUX = ("valid_obs", "method", "source_index", "acquisition_date", "quality_aot")
SOURCES = ("S2A_20230601", "S2B_20230604", "S2A_20230611")


def _spec(epsg: int) -> MosaicSpec:
    return parse_spec({"aoi": [2.1, 41.3, 2.2, 41.4], "start": "2023-06-01", "resolution": 10,
                       "crs": f"EPSG:{epsg}", "bands": list(BANDS), "aux": list(AUX),
                       "format": "zarr"})


def _product(tmp_path: Path, grid: OutputGrid) -> tuple[Path, dict[str, np.ndarray]]:
    spec = _spec(grid.epsg)
    groups = {"bands": [reflectance_layer(b) for b in BANDS],
              **{name: [AUX_LAYERS[name]] for name in AUX}}
    intermediates, values = {}, {}
    for seed, (name, layers) in enumerate(groups.items()):
        path = tmp_path / f"{name}.tif"
        stored = write_layers(path, grid, layers, seed=seed)
        intermediates[name] = (path, layers)
        values.update({layer.name: stored[i] for i, layer in enumerate(layers)})
    out = tmp_path / "product"
    out.mkdir()
    write_product(spec, grid, intermediates, out, attributes={"id": "test-product"},
                  label=None, source_ids=SOURCES)
    return out / "bands_M10_20230601_mosaic.zarr.zip", values


def test_the_registry_knows_zarr_by_name_and_alias():
    assert find_format("ZARR").name == "Zarr" and find_format("zarr.zip").name == "Zarr"
    assert _spec(32631).product_format.extension == "zarr.zip"


@pytest.mark.parametrize("grid", [UTM_GRID, WGS84_GRID], ids=["utm", "wgs84"])
def test_every_layer_is_stored_bit_for_bit(tmp_path, grid):
    path, values = _product(tmp_path, grid)
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no store left over
    group = zarr.open_group(zarr.storage.ZipStore(path, mode="r"), mode="r")
    for name, expected in values.items():
        array = group[name]
        assert array.dtype == expected.dtype
        assert array.shape == (1, grid.height, grid.width)
        np.testing.assert_array_equal(array[0], expected)


def test_it_is_consolidated_chunked_and_uncompressed_in_the_zip(tmp_path):
    path, _ = _product(tmp_path, UTM_GRID)
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        assert {".zmetadata", ".zgroup", "B04/.zarray"} <= names
        assert all(info.compress_type == zipfile.ZIP_STORED for info in zf.infolist())
    group = zarr.open_consolidated(zarr.storage.ZipStore(path, mode="r"), mode="r",
                                   zarr_format=2)
    assert group["B04"].chunks == (1, 512, 512)


def test_xarray_decodes_it_as_the_netcdf_product_describes_it(tmp_path):
    path, values = _product(tmp_path, UTM_GRID)
    with xr.open_zarr(zarr.storage.ZipStore(path, mode="r"), consolidated=True) as ds:
        raw = values["B04"]
        expected = np.where(raw == 65535, np.nan, raw * 1e-4)
        np.testing.assert_allclose(ds.B04.values[0], expected, rtol=0, atol=1e-12)
        assert ds.attrs["Conventions"] == "CF-1.8, ACDD-1.3" and ds.attrs["id"] == "test-product"
        assert ds.B04.attrs["standard_name"] == "surface_bidirectional_reflectance"
        assert ds.source_index.attrs["flag_meanings"] == " ".join(SOURCES)
        assert ds.crs.attrs["epsg_code"] == "EPSG:32631"
        assert str(ds.time.values[0])[:10] == "2023-06-01"
        centre_x = UTM_GRID.transform.c + 5.0
        assert float(ds.x[0]) == centre_x
    with xr.open_zarr(zarr.storage.ZipStore(path, mode="r"), consolidated=True,
                      mask_and_scale=False, decode_times=False) as raw_ds:
        for name in ("B04", "method", "valid_obs"):
            layer = AUX_LAYERS.get(name) or reflectance_layer(name)
            netcdf = variable_attributes(layer, SOURCES)
            netcdf.pop("_Unsigned", None)
            attrs = dict(raw_ds[name].attrs) | {"_FillValue": raw_ds[name].encoding.get(
                "_FillValue", raw_ds[name].attrs.get("_FillValue"))}
            for key, value in netcdf.items():
                assert np.array_equal(np.asarray(attrs[key]), np.asarray(value)), key


def test_gdal_reads_the_zipped_store_in_place(tmp_path):
    path, values = _product(tmp_path, UTM_GRID)
    with rasterio.open(f'ZARR:"/vsizip/{path}":/B04') as ds:
        assert (ds.width, ds.height) == (UTM_GRID.width, UTM_GRID.height)
        np.testing.assert_array_equal(ds.read(1), values["B04"])
