"""Product file formats: the one registry of every format a product can be ordered in.

A format is a record of plain data; its writer module is named, not imported, so that
validating an order does not import netCDF4, xarray or GDAL drivers, and a new format is one
record here plus its one writer module. Forms, API, CLI, metadata (JSON, STAC, INSPIRE) and
the delivery read this registry.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from compositing.grid import OutputGrid
    from compositing.orders.spec import MosaicSpec
    from compositing.products.intermediate import Intermediates


class Grouping(StrEnum):
    """How a product's layers are spread over its files."""

    BANDS_TOGETHER = "bands_together"  # reflectance bands in one file, each aux layer alone
    PER_LAYER = "per_layer"  # one file per band and per auxiliary layer
    ONE_FILE = "one_file"  # every layer in one file (or one store)


class FormatWriter(Protocol):
    """Writes the layers of one (part of a) product into folder, in one format."""

    def __call__(self, spec: MosaicSpec, grid: OutputGrid, layers: Intermediates,
                 folder: Path, *, attributes: Mapping[str, str], label: str | None,
                 source_ids: Sequence[str]) -> None: ...


@dataclass(frozen=True)
class ProductFormat:
    """One product file format."""

    name: str  # the order option's value
    title: str  # the format's own name (metadata File_format, INSPIRE MD_Format name)
    label: str  # what a person picks in a form
    version: str  # INSPIRE MD_Format version
    extension: str  # of its files (the zip of a store for directory formats)
    media_type: str
    writer: str  # "module:function" implementing FormatWriter
    layouts: Mapping[str, Grouping]  # the `layout` values it accepts and what they mean
    aliases: tuple[str, ...] = ()  # other spellings accepted in orders
    # Storage types it holds without loss; None: every type of the layer registry.
    lossless_dtypes: frozenset[str] | None = None
    directory: bool = False  # a folder (store) rather than a file
    # GDAL's name of one layer of a file that holds each layer as a variable of its own
    # ("{path}", "{layer}"); None: the file's bands are the layers.
    layer_subdataset: str | None = None
    # Layer storage types whose values a reader of its files gets in a wider type (the
    # values unchanged): what STAC's `data_type` of its assets says.
    widened_dtypes: Mapping[str, str] = field(default_factory=dict)

    def read_dtype(self, dtype: str) -> str:
        """The type a reader of this format's files gets for a layer stored as dtype."""
        return self.widened_dtypes.get(dtype, dtype)

    def grouping(self, layout: str) -> Grouping:
        """How the layers of an order with this layout are spread over files."""
        return self.layouts[layout]

    def layer_band(self, path: Path, layer: str, band: int) -> tuple[str, int]:
        """What GDAL opens to read a layer of a delivered file, and the band it is there: the
        file and the layer's band in it, or the layer's variable, whose one time step is
        band 1."""
        if self.layer_subdataset is None:
            return str(path), band
        return self.layer_subdataset.format(path=path, layer=layer), 1

    def holds(self, dtype: str) -> bool:
        """Whether a layer stored as dtype is written without loss."""
        return self.lossless_dtypes is None or dtype in self.lossless_dtypes

    def write(self, spec: MosaicSpec, grid: OutputGrid, layers: Intermediates, folder: Path,
              *, attributes: Mapping[str, str], label: str | None,
              source_ids: Sequence[str]) -> None:
        """Write the product's layers with this format's writer."""
        module, _, function = self.writer.partition(":")
        write: FormatWriter = getattr(importlib.import_module(module), function)
        write(spec, grid, layers, folder, attributes=attributes, label=label,
              source_ids=source_ids)


PRODUCT_FORMATS: dict[str, ProductFormat] = {f.name: f for f in (
    ProductFormat(
        "GTiff", "GeoTIFF", "GeoTIFF (Cloud-Optimised)", "1.0", "tif",
        "image/tiff; application=geotiff",
        "compositing.products.cog:write_product",
        {"multiband": Grouping.BANDS_TOGETHER, "per_layer": Grouping.PER_LAYER},
        aliases=("geotiff", "tif", "tiff", "cog")),
    ProductFormat(
        "JP2", "JPEG 2000", "JPEG 2000 (lossless)", "ISO/IEC 15444-1", "jp2", "image/jp2",
        "compositing.products.jp2:write_product",
        # JPEG 2000 files hold one band each whatever the layout.
        {"multiband": Grouping.PER_LAYER, "per_layer": Grouping.PER_LAYER},
        aliases=("jpeg2000", "jpeg 2000", "jp2000"),
        # What this GDAL build's JP2OpenJPEG driver writes and reads back exactly: it creates
        # Int32 and UInt32 files but cannot open them again, and refuses Int8 and floats.
        lossless_dtypes=frozenset({"uint8", "uint16", "int16"})),
    ProductFormat(
        "NetCDF", "NetCDF-4", "NetCDF-4 (CF-1.8)", "CF-1.8", "nc", "application/netcdf",
        "compositing.products.netcdf:write_product", {"multiband": Grouping.ONE_FILE},
        aliases=("nc", "netcdf4", "netcdf-4"), layer_subdataset='NETCDF:"{path}":{layer}',
        # CF-1.8 has no unsigned types; GDAL cannot read `_Unsigned` bytes from NetCDF-4
        # (netCDF-C range-checks NC_BYTE as signed), so 8-bit layers are stored as int16.
        widened_dtypes={"uint8": "int16"}),
    ProductFormat(
        "Zarr", "Zarr", "Zarr (zipped store, CF attributes)", "2", "zarr.zip",
        "application/zip", "compositing.products.zarrstore:write_product",
        {"multiband": Grouping.ONE_FILE}, aliases=("zarr.zip",), directory=True,
        layer_subdataset='ZARR:"/vsizip/{path}":/{layer}'),
)}


def product_format(name: str) -> ProductFormat:
    """The format of that (canonical) name."""
    return PRODUCT_FORMATS[name]


def find_format(text: str) -> ProductFormat | None:
    """The format a name or alias (any case) stands for, or None."""
    wanted = text.strip().lower()
    for fmt in PRODUCT_FORMATS.values():
        if wanted == fmt.name.lower() or wanted in fmt.aliases:
            return fmt
    return None


def data_extensions() -> frozenset[str]:
    """File extensions of product data files, any format."""
    return frozenset(f.extension for f in PRODUCT_FORMATS.values()) | {"tiff"}
