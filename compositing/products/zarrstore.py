"""A product as one Zarr store (CF attributes as in the NetCDF product), zipped for download.

The store is Zarr format 2 with consolidated metadata (`.zmetadata`), which GDAL, xarray and
zarr-python all open; each layer is a (time, y, x) array chunked 512 x 512, so a cloud reader
fetches only the chunks it needs. The store is written region by region from the pipeline's
intermediate GeoTIFFs (memory holds one block of rows, never the product), then packed into an
uncompressed zip: one file to download, checksum and list, that `zarr.storage.ZipStore`,
`xarray.open_zarr` and GDAL's /vsizip/ read in place.
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import dask.array as da
import numpy as np
import rasterio
import xarray as xr
import zarr
from rasterio.windows import Window

from compositing.products.naming import layer_file_name
from compositing.products.netcdf import (
    CHUNK_SIZE,
    cf_coordinates,
    crs_attributes,
    global_attributes,
    time_coordinate,
    variable_attributes,
)

if TYPE_CHECKING:
    from compositing.grid import OutputGrid
    from compositing.orders.spec import MosaicSpec
    from compositing.products.intermediate import Intermediates
    from compositing.products.layers import Layer

ZARR_FORMAT: Literal[2] = 2


def write_product(spec: MosaicSpec, grid: OutputGrid, layers: Intermediates, folder: Path, *,
                  attributes: Mapping[str, str], label: str | None,
                  source_ids: Sequence[str]) -> None:
    """The product's layers as one zipped Zarr store in folder."""
    path = folder / layer_file_name(spec, "bands", spec.product_format.extension, label)
    store = path.with_name(path.name.removesuffix(".zip"))
    shutil.rmtree(store, ignore_errors=True)
    try:
        write_store(store, list(layers.values()), grid, spec, attributes, source_ids)
        _zip_store(store, path)
    finally:
        shutil.rmtree(store, ignore_errors=True)


def write_store(store: Path, sources: Sequence[tuple[Path, Sequence[Layer]]], grid: OutputGrid,
                spec: MosaicSpec, attributes: Mapping[str, str] = {},
                source_ids: Sequence[str] = ()) -> None:
    """Write the layers of the GeoTIFF sources (one band per layer, on grid) to a Zarr store."""
    members = [layer for _, group in sources for layer in group]
    template = _template(members, grid, spec, attributes, source_ids)
    encoding = {layer.name: {"dtype": layer.dtype, "_FillValue": layer.nodata,
                             "chunks": _chunks(grid)} for layer in members}
    template.to_zarr(store, mode="w", compute=False, consolidated=False,
                     zarr_format=ZARR_FORMAT, encoding=encoding)
    for source, group in sources:
        _copy_rows(store, source, group, grid)
    zarr.consolidate_metadata(str(store))


def _chunks(grid: OutputGrid) -> tuple[int, int, int]:
    return 1, min(CHUNK_SIZE, grid.height), min(CHUNK_SIZE, grid.width)


def _template(layers: Sequence[Layer], grid: OutputGrid, spec: MosaicSpec,
              attributes: Mapping[str, str], source_ids: Sequence[str]) -> xr.Dataset:
    """The dataset's shape and attributes with lazy, unwritten data (only metadata is stored)."""
    (ydim, ys, yattrs), (xdim, xs, xattrs) = cf_coordinates(grid)
    shape = (1, grid.height, grid.width)
    variables: dict[str, Any] = {}
    for layer in layers:
        attrs = variable_attributes(layer, source_ids)
        attrs.pop("_Unsigned", None)  # Zarr stores unsigned types as they are
        if "flag_values" in attrs:  # in the layer's own type, which Zarr keeps
            attrs["flag_values"] = attrs["flag_values"].astype(layer.dtype)
        variables[layer.name] = (("time", ydim, xdim),
                                 da.zeros(shape, dtype=layer.dtype, chunks=_chunks(grid)),
                                 attrs)
    value, bounds, time_attrs = time_coordinate(spec)
    ds = xr.Dataset(
        variables,
        coords={
            "time": ("time", np.array([value], "f8"), time_attrs),
            "time_bnds": (("time", "nv"), np.array([bounds], "f8")),
            ydim: (ydim, ys, yattrs), xdim: (xdim, xs, xattrs),
            "crs": ((), np.int32(0), crs_attributes(grid)),
        },
        attrs=global_attributes(grid, spec, attributes),
    )
    for name in ("time", "time_bnds"):
        ds[name].encoding.update(dtype="f8")  # CF numbers as stored, not re-encoded dates
    return xr.decode_cf(ds, decode_times=False, mask_and_scale=False, decode_coords=False)


def _copy_rows(store: Path, source: Path, layers: Sequence[Layer], grid: OutputGrid) -> None:
    """Copy every band of a GeoTIFF into its array, one row of whole chunks at a time.

    The stored values are copied as they are (xarray wrote the arrays' CF encoding when it
    created them), through zarr itself, so nothing is decoded and encoded again.
    """
    group = zarr.open_group(str(store), mode="r+", zarr_format=ZARR_FORMAT)
    with rasterio.open(source) as src:
        for row in range(0, grid.height, CHUNK_SIZE):
            rows = min(CHUNK_SIZE, grid.height - row)
            data = src.read(window=Window(0, row, grid.width, rows))
            for layer, band in zip(layers, data, strict=True):
                array = group[layer.name]
                assert isinstance(array, zarr.Array)
                array[0, row:row + rows, :] = band.astype(layer.dtype, copy=False)


def _zip_store(store: Path, path: Path) -> None:
    """An uncompressed zip of the store's files at its root (readable in place by ZipStore)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for file in sorted(p for p in store.rglob("*") if p.is_file()):
            zf.write(file, file.relative_to(store).as_posix())
