"""Lossless JPEG 2000 files, one band each, from the pipeline's intermediate GeoTIFFs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import rasterio
import rasterio.shutil

from compositing.products.cog import band_subset
from compositing.products.formats import product_format
from compositing.products.naming import layer_file_name
from compositing.products.parallel import write_all

if TYPE_CHECKING:
    from compositing.grid import OutputGrid
    from compositing.orders.spec import MosaicSpec
    from compositing.products.intermediate import Intermediates

JP2_OPTIONS = {"QUALITY": "100", "REVERSIBLE": "YES", "YCBCR420": "NO"}


def jp2_supports(dtype: str) -> bool:
    """True if a layer stored as dtype can be written losslessly to JPEG 2000."""
    return product_format("JP2").holds(dtype)


def write_jp2(src: Path, dst: Path, band_index: int) -> None:
    """Write band band_index (1-based) of src to dst as a lossless, georeferenced JPEG 2000.

    The CRS and transform go into the GeoJP2 and GMLJP2 boxes. JPEG 2000 has no place for
    nodata, scale, offset, units or band tags: GDAL keeps them in the dst + '.aux.xml' sidecar,
    which must travel with the file.
    """
    with rasterio.open(src) as ds:
        dtypes = ds.dtypes
    if not 1 <= band_index <= len(dtypes):
        raise ValueError(f"band {band_index} outside 1..{len(dtypes)} of {src}")
    dtype = dtypes[band_index - 1]
    if not jp2_supports(dtype):
        raise ValueError(f"JPEG 2000 cannot hold {dtype} losslessly (band {band_index} of {src})")
    sidecar = dst.with_name(dst.name + ".aux.xml")
    sidecar.unlink(missing_ok=True)
    with rasterio.Env(GDAL_PAM_ENABLED="YES"):  # the sidecar is needed: see above
        rasterio.shutil.copy(band_subset(src, [band_index]), str(dst), driver="JP2OpenJPEG",
                             **JP2_OPTIONS)


def write_product(spec: MosaicSpec, grid: OutputGrid, layers: Intermediates, folder: Path, *,
                  attributes: Mapping[str, str], label: str | None,
                  source_ids: Sequence[str]) -> None:
    """One lossless JPEG 2000 file (with its .aux.xml sidecar) per band and per layer."""
    ext = spec.product_format.extension
    write_all([partial(write_jp2, path, folder / layer_file_name(
                           spec, layer.name, ext, label), index)
               for path, members in layers.values()
               for index, layer in enumerate(members, start=1)])
