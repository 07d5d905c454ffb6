"""A product as one NetCDF-4 file (CF-1.8, ACDD-1.3), streamed from the pipeline's GeoTIFFs."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import netCDF4
import numpy as np
import rasterio
import shapely
from pyproj import CRS, Transformer
from rasterio.windows import Window
from shapely.geometry import box

from compositing.grid import OutputGrid
from compositing.orders.spec import MosaicSpec
from compositing.products.formats import PRODUCT_FORMATS
from compositing.products.intermediate import Intermediates
from compositing.products.layers import Layer
from compositing.products.naming import PROCESSING_VERSION, layer_file_name, period_code

# Rows read from the GeoTIFFs and written to the NetCDF at a time, and the chunk edge.
BLOCK_ROWS = 512
CHUNK_SIZE = 512
# At most this many bytes of a source are read at once (wide multi-band AOIs get split in
# columns, on chunk boundaries).
MAX_BLOCK_BYTES = 64 << 20
DEFLATE_LEVEL: Final = 4
EPOCH = date(1970, 1, 1)
TIME_UNITS = "days since 1970-01-01"
# A table that holds every standard name used here (the one compliance-checker 6.x bundles).
STANDARD_NAME_VOCABULARY = "CF Standard Name Table v93"
GCMD_KEYWORDS = (
    "EARTH SCIENCE > LAND SURFACE > SURFACE RADIATIVE PROPERTIES > REFLECTANCE",
    "EARTH SCIENCE > SPECTRAL/ENGINEERING > VISIBLE WAVELENGTHS > VISIBLE IMAGERY",
    "EARTH SCIENCE > SPECTRAL/ENGINEERING > INFRARED WAVELENGTHS > REFLECTED INFRARED",
)
LICENSE_URL = "https://sentinel.esa.int/documents/247904/690755/Sentinel_Data_Legal_Notice"
DEFAULT_ATTRIBUTES: dict[str, str] = {
    "institution": "Mosaic Hub",
    "creator_name": "Mosaic Hub",
    "creator_type": "institution",
    "creator_email": "mosaichub@localhost",
    "creator_url": "http://127.0.0.1:8000/",
    "publisher_name": "Mosaic Hub",
    "publisher_type": "institution",
    "publisher_email": "mosaichub@localhost",
    "publisher_url": "http://127.0.0.1:8000/",
    "project": "Sentinel-2 L2A mosaics",
    "program": "Copernicus",
    "references": "https://s2gm.eu; S2GM ATBD v1.3.3",
    "acknowledgement": "Contains modified Copernicus Sentinel data (ESA, European Union)",
    "license": f"Copernicus Sentinel data terms: {LICENSE_URL}",
    "source": "Sentinel-2 MSI Level-2A",
    "platform": "Sentinel-2",
    "platform_vocabulary": "GCMD Platform Keywords",
    "instrument": "Sentinel-2 MSI",
    "instrument_vocabulary": "GCMD Instrument Keywords",
    "keywords_vocabulary": "GCMD Science Keywords",
    "naming_authority": "mosaichub",
    "cdm_data_type": "Grid",
    "processing_level": "L3",
}


def write_product(spec: MosaicSpec, grid: OutputGrid, layers: Intermediates, folder: Path, *,
                  attributes: Mapping[str, str], label: str | None,
                  source_ids: Sequence[str]) -> None:
    """The product as one NetCDF-4 file holding every layer."""
    path = folder / layer_file_name(spec, "bands", spec.product_format.extension, label)
    write_netcdf(path, list(layers.values()), grid, spec, attributes=attributes,
                 source_ids=source_ids)


def write_netcdf(path: Path, sources: Sequence[tuple[Path, Sequence[Layer]]], grid: OutputGrid,
                 spec: MosaicSpec, *, attributes: Mapping[str, str] = {},
                 source_ids: Sequence[str] = ()) -> None:
    """Write the layers of the GeoTIFF sources (one band per layer, on `grid`) to one NetCDF.

    `source_ids`: the acquisition of each source_index value, in order; they become the
    source_index variable's flag_meanings.
    """
    with netCDF4.Dataset(path, "w", format="NETCDF4") as ds:
        ydim, xdim = _write_coordinates(ds, grid, spec)
        _write_crs(ds, grid)
        aux = " ".join(layer.name for _, layers in sources for layer in layers
                       if layer.band is None)
        for source, layers in sources:
            variables = [_create_variable(ds, layer, grid, (ydim, xdim), aux, source_ids)
                         for layer in layers]
            _copy_rows(source, layers, variables, grid)
        ds.setncatts(global_attributes(grid, spec, attributes))


def time_coordinate(spec: MosaicSpec) -> tuple[float, tuple[float, float], dict[str, str]]:
    """The product's one time step: its value, its bounds (the first day to the day after the
    last that observations may come from: both periods of a change order) and attributes."""
    first, last = spec.covered_period
    what = "the first compared period" if spec.is_change else "the compositing period"
    return ((first - EPOCH).days,
            ((first - EPOCH).days, (last + timedelta(days=1) - EPOCH).days),
            {"standard_name": "time", "long_name": f"start of {what}", "units": TIME_UNITS,
             "calendar": "standard", "axis": "T", "bounds": "time_bnds"})


def _write_coordinates(ds: netCDF4.Dataset, grid: OutputGrid,
                       spec: MosaicSpec) -> tuple[str, str]:
    """Time with its bounds and the pixel-centre coordinates; returns the (y, x) dimensions."""
    ds.createDimension("time", None)
    ds.createDimension("nv", 2)
    value, (low, high), attrs = time_coordinate(spec)
    time = ds.createVariable("time", "f8", ("time",))
    time.setncatts(attrs)
    time[0] = value
    bounds = ds.createVariable("time_bnds", "f8", ("time", "nv"))
    bounds[0, :] = [low, high]

    names = []
    for name, values, attr in cf_coordinates(grid):
        ds.createDimension(name, len(values))
        var = ds.createVariable(name, "f8", (name,))
        var.setncatts(attr)
        var[:] = values
        names.append(name)
    return names[0], names[1]


def cf_coordinates(grid: OutputGrid) -> list[tuple[str, np.ndarray, dict[str, str]]]:
    """(name, pixel-centre values, CF attributes) of the grid's y then x coordinate."""
    t = grid.transform
    xs = t.c + (np.arange(grid.width) + 0.5) * t.a
    ys = t.f + (np.arange(grid.height) + 0.5) * t.e
    if grid.crs.is_geographic:
        names = ("lat", "lon")
        attrs = ({"standard_name": "latitude", "long_name": "latitude", "units": "degrees_north",
                  "axis": "Y"},
                 {"standard_name": "longitude", "long_name": "longitude",
                  "units": "degrees_east", "axis": "X"})
    else:
        unit = _linear_unit(grid.crs)
        names = ("y", "x")
        attrs = ({"standard_name": "projection_y_coordinate",
                  "long_name": "y coordinate of projection", "units": unit, "axis": "Y"},
                 {"standard_name": "projection_x_coordinate",
                  "long_name": "x coordinate of projection", "units": unit, "axis": "X"})
    return [(names[0], ys, attrs[0]), (names[1], xs, attrs[1])]


def _linear_unit(crs: CRS) -> str:
    """UDUNITS name of a projected CRS's axis unit."""
    unit = crs.axis_info[0].unit_name
    return {"metre": "m", "meter": "m", "foot": "ft", "US survey foot": "US_survey_foot"}.get(
        unit, unit)


def _write_crs(ds: netCDF4.Dataset, grid: OutputGrid) -> None:
    """The CF grid-mapping variable `crs`, readable by GDAL too."""
    crs = ds.createVariable("crs", "i4", ())
    crs.setncatts(crs_attributes(grid))


def crs_attributes(grid: OutputGrid) -> dict[str, Any]:
    """CF grid-mapping attributes of the grid's CRS, with GDAL's spatial_ref and GeoTransform."""
    cf = grid.crs.to_cf()
    t = grid.transform
    cf.update(spatial_ref=cf["crs_wkt"], epsg_code=f"EPSG:{grid.epsg}",
              GeoTransform=" ".join(repr(float(v)) for v in (t.c, t.a, t.b, t.f, t.d, t.e)),
              long_name=grid.crs.name)
    return dict(cf)


def storage_dtype(layer: Layer) -> np.dtype:
    """The signed type a layer is stored as (CF-1.8 has no unsigned types).

    16/32-bit unsigned layers keep their size, marked `_Unsigned = "true"` (read back unsigned
    by netCDF4, xarray and GDAL); the format's record widens the others (8-bit to int16).
    """
    dtype = np.dtype(PRODUCT_FORMATS["NetCDF"].read_dtype(layer.dtype))
    if dtype.kind != "u":
        return dtype
    return np.dtype(f"i{dtype.itemsize}")


def _unsigned(layer: Layer) -> bool:
    """Whether the layer is stored bit for bit in a signed type of its size."""
    dtype = np.dtype(layer.dtype)
    return dtype.kind == "u" and storage_dtype(layer).itemsize == dtype.itemsize


def _create_variable(ds: netCDF4.Dataset, layer: Layer, grid: OutputGrid,
                     dims: tuple[str, str], ancillary: str,
                     source_ids: Sequence[str] = ()) -> netCDF4.Variable:
    """An empty (time, y, x) variable for the layer with its CF attributes."""
    dtype = storage_dtype(layer)
    chunks = (1, min(CHUNK_SIZE, grid.height), min(CHUNK_SIZE, grid.width))
    fill = _to_storage(np.array(layer.nodata, dtype=layer.dtype), layer)[()]
    var = ds.createVariable(layer.name, dtype, ("time", *dims), zlib=True,
                            complevel=DEFLATE_LEVEL, shuffle=True, chunksizes=chunks,
                            fill_value=fill)
    var.set_auto_maskandscale(False)  # values are copied as stored
    var.setncatts(variable_attributes(layer, source_ids))
    if ancillary and layer.band is not None:
        var.ancillary_variables = ancillary
    return var


def variable_attributes(layer: Layer, source_ids: Sequence[str] = ()) -> dict[str, Any]:
    """CF/ACDD attributes of a layer's variable (not _FillValue)."""
    dtype = storage_dtype(layer)
    band = layer.band
    attrs: dict[str, Any] = {"long_name": layer.description, "grid_mapping": "crs"}
    if _unsigned(layer):
        attrs["_Unsigned"] = "true"
    if layer.standard_name:
        attrs["standard_name"] = layer.standard_name
    if band is not None:
        attrs.update(units="1", coverage_content_type="physicalMeasurement",
                     central_wavelength_nm=np.int32(band.center_nm))
    else:
        attrs["coverage_content_type"] = ("qualityInformation" if layer.quality
                                          else "auxiliaryInformation")
        flags = dict(layer.flags)
        if layer.kind == "source_index" and source_ids:
            flags = dict(enumerate(flag_words(source_ids)))
        if flags:
            attrs["flag_values"] = np.array(sorted(flags), dtype=dtype)
            attrs["flag_meanings"] = " ".join(flags[k].replace(" ", "_") for k in sorted(flags))
        else:
            attrs["units"] = layer.units
        if "since" in layer.units:
            attrs["calendar"] = "standard"
        if layer.comment:
            attrs["comment"] = layer.comment
    if layer.scale != 1 or layer.offset:
        attrs.update(scale_factor=np.float64(layer.scale), add_offset=np.float64(layer.offset))
    if layer.valid_range is not None:  # in stored values, as CF asks
        low, high = ((v - layer.offset) / layer.scale for v in layer.valid_range)
        attrs.update(valid_min=np.array(round(low), dtype=dtype),
                     valid_max=np.array(round(high), dtype=dtype))
    return attrs


def flag_words(names: Sequence[str]) -> list[str]:
    """Names as distinct CF flag_meanings words (letters, digits and _-.+@ only)."""
    words: list[str] = []
    for name in names:
        word = re.sub(r"[^A-Za-z0-9_.+@-]+", "_", name).strip("_") or "source"
        while word in words:
            word += f"_{len(words)}"
        words.append(word)
    return words


def _to_storage(values: np.ndarray, layer: Layer) -> np.ndarray:
    """Stored layer values in the NetCDF type (same bits, or widened)."""
    dtype = storage_dtype(layer)
    return values.view(dtype) if _unsigned(layer) else values.astype(dtype, copy=False)


def _copy_rows(source: Path, layers: Sequence[Layer], variables: Sequence[netCDF4.Variable],
               grid: OutputGrid) -> None:
    """Copy every band of a GeoTIFF into its variable, one window of whole chunks at a time."""
    with rasterio.open(source) as src:
        if (src.width, src.height, src.count) != (grid.width, grid.height, len(variables)):
            raise ValueError(f"{source.name}: {src.count} bands of {src.width} x {src.height} "
                             f"px, expected {len(variables)} of {grid.width} x {grid.height}")
        row_bytes = BLOCK_ROWS * src.count * np.dtype(src.dtypes[0]).itemsize
        cols = max(1, MAX_BLOCK_BYTES // (row_bytes * CHUNK_SIZE)) * CHUNK_SIZE
        for row in range(0, grid.height, BLOCK_ROWS):
            rows = min(BLOCK_ROWS, grid.height - row)
            for col in range(0, grid.width, cols):
                width = min(cols, grid.width - col)
                data = src.read(window=Window(col, row, width, rows))
                for layer, var, band in zip(layers, variables, data, strict=True):
                    var[0, row:row + rows, col:col + width] = _to_storage(
                        band.astype(layer.dtype, copy=False), layer)


def global_attributes(grid: OutputGrid, spec: MosaicSpec,
                      attributes: Mapping[str, str] = {}) -> dict[str, Any]:
    """ACDD-1.3 and CF-1.8 global attributes; `attributes` override the defaults."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    first, last = spec.covered_period
    days = (last - first).days + 1
    footprint = _footprint_wgs84(grid)
    lon_min, lat_min, lon_max, lat_max = footprint.bounds
    years = f"{first.year}" if first.year == last.year else f"{first.year}-{last.year}"
    res_x, res_y = grid.transform.a, -grid.transform.e
    unit = "degrees" if grid.crs.is_geographic else _linear_unit(grid.crs)
    out: dict[str, Any] = {
        "Conventions": "CF-1.8, ACDD-1.3",
        "id": f"{period_code(spec)}_{spec.start:%Y%m%d}_{spec.end:%Y%m%d}_{spec.name}",
        "title": f"Sentinel-2 L2A {spec.period} mosaic {spec.name} "
                 f"{spec.start.isoformat()} to {spec.end.isoformat()}",
        "summary": (f"Best-available-pixel composite of Sentinel-2 MSI Level-2A surface "
                    f"reflectance from {spec.start} to {spec.end} at {spec.resolution} m: each "
                    "pixel holds one representative observation (medoid, or short-term "
                    "composite rules when there are few valid observations), never a blend."),
        "keywords": ", ".join(GCMD_KEYWORDS),
        "standard_name_vocabulary": STANDARD_NAME_VOCABULARY,
        **DEFAULT_ATTRIBUTES,
        "date_created": now,
        "date_modified": now,
        "date_issued": now,
        "date_metadata_modified": now,
        "product_version": PROCESSING_VERSION,
        "time_coverage_start": f"{first.isoformat()}T00:00:00Z",
        "time_coverage_end": f"{last.isoformat()}T23:59:59Z",
        "time_coverage_duration": f"P{days}D",
        "time_coverage_resolution": spec.period_type.duration or f"P{days}D",
        "geospatial_lat_min": lat_min,
        "geospatial_lat_max": lat_max,
        "geospatial_lon_min": lon_min,
        "geospatial_lon_max": lon_max,
        "geospatial_lat_units": "degrees_north",
        "geospatial_lon_units": "degrees_east",
        "geospatial_bounds": _lat_lon_wkt(footprint),
        "geospatial_bounds_crs": "EPSG:4326",
        "geospatial_x_resolution": f"{res_x} {unit}",
        "geospatial_y_resolution": f"{res_y} {unit}",
        "spatial_resolution": f"{spec.resolution} m",
        "history": f"{now} written by mosaichub {PROCESSING_VERSION} (compositing.products.netcdf)",
        "comment": f"Contains modified Copernicus Sentinel data {years}",
    }
    if grid.crs.is_geographic:
        out.update(geospatial_lat_resolution=f"{res_y} degrees",
                   geospatial_lon_resolution=f"{res_x} degrees")
    out.update(attributes)
    return out


def _lat_lon_wkt(footprint: shapely.Polygon) -> str:
    """WKT in the EPSG:4326 axis order (latitude first), as in the ACDD-1.3 example."""
    return shapely.transform(footprint, lambda xy: xy[:, ::-1]).wkt


def _footprint_wgs84(grid: OutputGrid) -> shapely.Polygon:
    """The grid's outline in lon/lat, densified so that projected edges keep their curve."""
    outline = box(*grid.bounds)
    if grid.epsg == 4326:
        return outline
    to_wgs84 = Transformer.from_crs(grid.epsg, 4326, always_xy=True)
    dense = outline.segmentize(max(grid.width, grid.height) * grid.resolution / 16)

    def reproject(coords: np.ndarray) -> np.ndarray:
        return np.column_stack(to_wgs84.transform(coords[:, 0], coords[:, 1]))

    return shapely.set_precision(shapely.transform(dense, reproject), 1e-7)
