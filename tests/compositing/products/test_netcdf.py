"""NetCDF-4 products: exact values, CF-1.8/ACDD-1.3 compliance, time stacking, GDAL reading."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from datetime import date
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import rasterio
import shapely
import xarray as xr

from compositing.grid import OutputGrid
from compositing.orders.spec import MosaicSpec, parse_spec
from compositing.products import netcdf
from compositing.products.layers import AUX_LAYERS, Layer, reflectance_layer
from compositing.products.netcdf import write_netcdf

AOI = [-7.6, 53.2, -7.59, 53.21]
BANDS = ["B04", "B08"]
# Aux layers with a CF quantity name (or flag variables).
CF_NAMED_AUX = ["valid_obs", "total_obs", "method", "acquisition_date",
                "quality_scene_classification", "quality_aot"]
ALL_AUX = [*CF_NAMED_AUX, "source_index", "medoid_mos"]
# Acquisition ids as catalogues spell them (the second is not a valid CF flag word as it is).
SOURCES = ["GS2A_20230502T115411_041490_N04.00", "S2B:2023-05-07/T29UNU",
           "GS2A_20230512T115411_041633_N05.09"]


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks and chunks that do not divide the grid, so streaming edges are exercised."""
    monkeypatch.setattr(netcdf, "BLOCK_ROWS", 7)
    monkeypatch.setattr(netcdf, "CHUNK_SIZE", 16)


def _spec(start: str = "2023-05-01", epsg: int = 32629, aux: list[str] = ALL_AUX) -> MosaicSpec:
    return parse_spec({"aoi": AOI, "start": start, "period": "month", "resolution": 20,
                       "crs": f"EPSG:{epsg}", "bands": BANDS, "aux": aux})


def _grid(spec: MosaicSpec) -> OutputGrid:
    return OutputGrid.for_aoi(spec.aoi, spec.crs, spec.resolution)


def _random_layer(rng: np.random.Generator, layer: Layer, shape: tuple[int, int]) -> np.ndarray:
    info = np.iinfo(np.dtype(layer.dtype))
    values = rng.integers(max(info.min, -1000), min(info.max, 20000), shape, endpoint=True)
    values = values.astype(layer.dtype)
    values[values == layer.nodata] = 0
    values[: shape[0] // 3, : shape[1] // 4] = layer.nodata  # a nodata corner
    values[rng.random(shape) < 0.05] = layer.nodata
    return values


def _product(folder: Path, spec: MosaicSpec, seed: int = 0, source_ids: tuple[str, ...] = (),
             **attributes: str) -> tuple[Path, dict[str, np.ndarray]]:
    """GeoTIFF sources as the pipeline writes them (bands together, one file per aux layer)."""
    folder.mkdir(parents=True, exist_ok=True)
    grid = _grid(spec)
    rng = np.random.default_rng(seed)
    groups = [[reflectance_layer(b) for b in spec.bands]]
    groups += [[AUX_LAYERS[name]] for name in spec.aux]
    sources, values = [], {}
    for layers in groups:
        data = np.stack([_random_layer(rng, layer, (grid.height, grid.width))
                         for layer in layers])
        path = folder / f"{layers[0].name}.tif"
        with rasterio.open(path, "w", driver="GTiff", width=grid.width, height=grid.height,
                           count=len(layers), dtype=layers[0].dtype, crs=grid.crs,
                           transform=grid.transform, nodata=layers[0].nodata) as dst:
            dst.write(data)
        sources.append((path, layers))
        values.update({layer.name: band for layer, band in zip(layers, data, strict=True)})
    out = folder / f"{spec.start:%Y%m%d}.nc"
    write_netcdf(out, sources, grid, spec, attributes=attributes, source_ids=source_ids)
    return out, values


def _layers(spec: MosaicSpec) -> list[Layer]:
    return [reflectance_layer(b) for b in spec.bands] + [AUX_LAYERS[a] for a in spec.aux]


@pytest.mark.parametrize("epsg", [32629, 4326])
def test_stored_values_equal_the_geotiff_values(tmp_path: Path, epsg: int) -> None:
    spec = _spec(epsg=epsg)
    path, values = _product(tmp_path, spec)
    with netCDF4.Dataset(path) as ds:
        for layer in _layers(spec):
            var = ds[layer.name]
            var.set_auto_maskandscale(False)
            raw = np.asarray(var[0])
            if getattr(var, "_Unsigned", "") == "true":
                raw = raw.view(layer.dtype)
            assert raw.shape == values[layer.name].shape
            np.testing.assert_array_equal(raw, values[layer.name], err_msg=layer.name)
            assert np.array(var._FillValue).astype(np.int64) == layer.nodata or (
                np.array(var._FillValue).view(layer.dtype) == layer.nodata)


def test_xarray_decodes_stored_times_scale_with_nan_at_nodata(tmp_path: Path) -> None:
    spec = _spec()
    path, values = _product(tmp_path, spec)
    with xr.open_dataset(path, decode_times=False) as ds:
        for layer in _layers(spec):
            stored = values[layer.name]
            expected = np.where(stored == layer.nodata, np.nan, stored.astype(np.float64))
            if layer.scale != 1:
                expected = np.where(stored == layer.nodata, np.nan, stored * layer.scale)
            np.testing.assert_array_equal(ds[layer.name].values[0], expected, err_msg=layer.name)
    with xr.open_dataset(path) as ds:
        days = values["acquisition_date"]
        decoded = ds["acquisition_date"].values[0]
        assert np.isnat(decoded[days == AUX_LAYERS["acquisition_date"].nodata]).all()
        good = days != AUX_LAYERS["acquisition_date"].nodata
        np.testing.assert_array_equal(decoded[good], np.datetime64("1970-01-01") + days[good]
                                      .astype("timedelta64[D]"))


def _compliance(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, list], str]:
    """High-priority failures per checker (cf:1.8, acdd:1.3), and the printed report; offline."""
    import requests
    from compliance_checker.runner import CheckSuite, ComplianceChecker

    def offline(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"compliance-checker went online: {args}")

    monkeypatch.setattr(requests, "get", offline)
    monkeypatch.setattr(requests.Session, "request", offline)
    CheckSuite.load_all_available_checkers()
    checkers = ["cf:1.8", "acdd:1.3"]
    report = io.StringIO()
    with redirect_stdout(report):
        ComplianceChecker.run_checker(str(path), checkers, 0, "normal")
    suite = CheckSuite()
    ds = suite.load_dataset(str(path))
    try:
        groups = suite.run_all(ds, checkers, skip_checks=[])
    finally:
        ds.close()
    failures = {}
    for name, (results, errors) in groups.items():
        assert not errors, f"{name} crashed: {errors}\n{report.getvalue()}"
        failures[name] = [(r.name, r.msgs) for r in results
                          if r.weight == 3 and r.value[0] < r.value[1]]
    return failures, report.getvalue()


@pytest.mark.parametrize("epsg", [32629, 4326])
def test_compliance_checker_finds_no_high_priority_failures(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, epsg: int) -> None:
    path, _ = _product(tmp_path, _spec(epsg=epsg, aux=CF_NAMED_AUX))
    failures, report = _compliance(path, monkeypatch)
    print(report)
    assert set(failures) == {"cf:1.8", "acdd:1.3"}, report
    assert failures == {"cf:1.8": [], "acdd:1.3": []}, report


def test_every_layer_passes_without_high_priority_failures(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # ACDD-1.3 asks every data variable for a standard name ("highly recommended"): flag
    # variables are exempt, and the layers CF has no quantity name for are quality_flag.
    path, _ = _product(tmp_path, _spec(aux=ALL_AUX), source_ids=tuple(SOURCES))
    failures, report = _compliance(path, monkeypatch)
    print(report)
    assert failures == {"cf:1.8": [], "acdd:1.3": []}, report
    with netCDF4.Dataset(path) as ds:
        named = {name for name in ALL_AUX if "standard_name" in ds[name].ncattrs()}
        unnamed = set(ALL_AUX) - named
        assert unnamed == {"source_index", "quality_scene_classification", "method"}
        assert all("flag_values" in ds[name].ncattrs() for name in unnamed)
        quality = {n for n in named if ds[n].standard_name == "quality_flag"}
        assert "medoid_mos" in quality
        for band in ("B02", "B04"):
            if band in ds.variables:
                assert quality <= set(ds[band].ancillary_variables.split())


def test_source_index_names_the_acquisitions_as_flag_meanings(tmp_path: Path) -> None:
    spec = _spec(aux=["source_index", "medoid_mos"])
    path, _ = _product(tmp_path, spec, source_ids=tuple(SOURCES))
    with netCDF4.Dataset(path) as ds:
        var = ds["source_index"]
        assert list(var.flag_values) == [0, 1, 2] and var.flag_values.dtype == var.dtype
        assert var.flag_meanings.split() == [SOURCES[0], "S2B_2023-05-07_T29UNU", SOURCES[2]]
        assert "units" not in var.ncattrs() and "metadata.json" in var.comment
        assert "B11" in ds["medoid_mos"].comment and ds["medoid_mos"].long_name


def test_flag_words_stay_distinct_and_valid() -> None:
    words = netcdf.flag_words(["a b", "a/b", "", "x"])
    assert len(set(words)) == 4 and all(w and " " not in w and "/" not in w for w in words)


MONTHS = [("2023-04-01", "2023-05-01"), ("2023-05-01", "2023-06-01"),
          ("2023-06-01", "2023-07-01")]


def _three_months(tmp_path: Path) -> list[Path]:
    return [_product(tmp_path / start, _spec(start=start, aux=["valid_obs"]), seed=i)[0]
            for i, (start, _) in enumerate(MONTHS)]


def _check_stack(ds: xr.Dataset) -> None:
    assert ds.sizes["time"] == 3
    np.testing.assert_array_equal(ds["time"].values,
                                  np.array([s for s, _ in MONTHS], dtype="datetime64[ns]"))
    np.testing.assert_array_equal(ds["time_bnds"].values,
                                  np.array(MONTHS, dtype="datetime64[ns]"))
    assert ds["B04"].dims == ("time", "y", "x")
    assert not np.array_equal(ds["B04"].values[0], ds["B04"].values[1], equal_nan=True)


def test_successive_periods_combine_by_coords_along_time(tmp_path: Path) -> None:
    # What open_mfdataset(combine="by_coords") does after opening each file.
    parts = [xr.open_dataset(p) for p in _three_months(tmp_path)]
    try:
        combined = xr.combine_by_coords(parts, combine_attrs="drop_conflicts")
        assert isinstance(combined, xr.Dataset)
        _check_stack(combined)
    finally:
        for part in parts:
            part.close()


def test_successive_periods_open_with_open_mfdataset(tmp_path: Path) -> None:
    pytest.importorskip("dask", reason="xarray.open_mfdataset needs dask")
    paths = _three_months(tmp_path)
    with xr.open_mfdataset(paths, combine="by_coords") as ds:
        _check_stack(ds.load())


def test_wgs84_products_use_lat_lon_dimension_coordinates(tmp_path: Path) -> None:
    spec = _spec(epsg=4326, aux=["valid_obs"])
    path, _ = _product(tmp_path, spec)
    grid = _grid(spec)
    with netCDF4.Dataset(path) as ds:
        assert ds["B04"].dimensions == ("time", "lat", "lon")
        assert "coordinates" not in ds["B04"].ncattrs()
        assert ds["lat"].units == "degrees_north" and ds["lat"].standard_name == "latitude"
        assert ds["lon"].units == "degrees_east" and ds["lon"].axis == "X"
        assert ds["crs"].grid_mapping_name == "latitude_longitude"
        lat, lon = ds["lat"][:], ds["lon"][:]
    res = grid.resolution
    assert lat[0] == pytest.approx(grid.transform.f - res / 2)
    assert lon[0] == pytest.approx(grid.transform.c + res / 2)
    assert np.all(np.diff(lat) < 0) and np.all(np.diff(lon) > 0)
    with rasterio.open(f"netcdf:{path}:B04") as src:
        assert src.crs.to_epsg() == 4326
        assert src.transform.almost_equals(grid.transform, 1e-12)


def test_utm_product_opens_in_gdal_with_crs_and_transform(tmp_path: Path) -> None:
    spec = _spec()
    path, values = _product(tmp_path, spec)
    grid = _grid(spec)
    for layer in _layers(spec):
        with rasterio.open(f"netcdf:{path}:{layer.name}") as src:
            assert src.crs.to_epsg() == 32629
            assert src.transform.almost_equals(grid.transform, 1e-9)
            assert (src.width, src.height, src.count) == (grid.width, grid.height, 1)
            np.testing.assert_array_equal(src.read(1), values[layer.name], err_msg=layer.name)
            assert src.nodata == layer.nodata
            assert src.scales[0] == pytest.approx(layer.scale)
    with rasterio.open(f"netcdf:{path}:B04") as src:
        assert src.dtypes[0] == "uint16"


def test_metadata_describes_period_extent_and_layers(tmp_path: Path) -> None:
    spec = _spec(start="2023-02-01")
    path, _ = _product(tmp_path, spec, creator_name="Jane", institution="Somewhere")
    with netCDF4.Dataset(path) as ds:
        attrs = {k: ds.getncattr(k) for k in ds.ncattrs()}
        assert attrs["Conventions"] == "CF-1.8, ACDD-1.3"
        assert attrs["creator_name"] == "Jane" and attrs["institution"] == "Somewhere"
        assert attrs["comment"] == "Contains modified Copernicus Sentinel data 2023"
        assert attrs["time_coverage_start"] == "2023-02-01T00:00:00Z"
        assert attrs["time_coverage_end"].startswith("2023-02-28")
        assert attrs["time_coverage_duration"] == "P28D"
        assert attrs["source"] == "Sentinel-2 MSI Level-2A" and attrs["processing_level"] == "L3"
        assert attrs["geospatial_bounds_crs"] == "EPSG:4326"  # latitude first
        lat_lon = shapely.from_wkt(attrs["geospatial_bounds"])
        footprint = shapely.transform(lat_lon, lambda xy: xy[:, ::-1])
        assert footprint.buffer(1e-6).contains(shapely.box(*AOI))
        assert attrs["geospatial_lon_min"] <= AOI[0] and attrs["geospatial_lat_max"] >= AOI[3]
        assert ds["time"][:].tolist() == [(date(2023, 2, 1) - date(1970, 1, 1)).days]
        assert ds["time_bnds"][:].tolist() == [[19389, 19417]]
        crs = ds["crs"]
        assert crs.grid_mapping_name == "transverse_mercator" and crs.epsg_code == "EPSG:32629"
        assert rasterio.crs.CRS.from_wkt(crs.spatial_ref).to_epsg() == 32629
        b04 = ds["B04"]
        assert b04.standard_name == "surface_bidirectional_reflectance" and b04.units == "1"
        assert b04.grid_mapping == "crs" and b04.central_wavelength_nm == 665
        assert b04.scale_factor == 1e-4 and b04.add_offset == 0
        assert "valid_obs" in b04.ancillary_variables.split()
        assert ds["valid_obs"].standard_name == "number_of_observations"
        assert "scale_factor" not in ds["valid_obs"].ncattrs()
        assert ds["B04"].chunking() == [1, 16, 16]
        assert ds["B04"].filters()["zlib"]


def test_layers_are_streamed_in_row_blocks(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    shapes: list[tuple[int, int]] = []
    read = rasterio.io.DatasetReader.read

    def spy(self: rasterio.io.DatasetReader, *args: object, **kwargs: object) -> np.ndarray:
        data = read(self, *args, **kwargs)
        shapes.append(data.shape[-2:])
        return data

    monkeypatch.setattr(rasterio.io.DatasetReader, "read", spy)
    monkeypatch.setattr(netcdf, "MAX_BLOCK_BYTES", 7 * 2 * 2 * 16)  # one chunk wide
    spec = _spec(aux=[])
    path, values = _product(tmp_path, spec)
    grid = _grid(spec)
    assert max(h for h, _ in shapes) <= 7 and max(w for _, w in shapes) == 16
    assert sum(h * w for h, w in shapes) == grid.height * grid.width
    with netCDF4.Dataset(path) as ds:
        ds.set_auto_maskandscale(False)
        np.testing.assert_array_equal(np.asarray(ds["B08"][0]).view("uint16"), values["B08"])


def test_a_source_of_the_wrong_shape_is_refused(tmp_path: Path) -> None:
    spec = _spec(aux=[])
    grid = _grid(spec)
    path = tmp_path / "bands.tif"
    with rasterio.open(path, "w", driver="GTiff", width=grid.width, height=grid.height, count=1,
                       dtype="uint16", crs=grid.crs, transform=grid.transform) as dst:
        dst.write(np.zeros((1, grid.height, grid.width), "uint16"))
    with pytest.raises(ValueError, match="expected 2"):
        write_netcdf(tmp_path / "x.nc", [(path, _layers(spec))], grid, spec)
