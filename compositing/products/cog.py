"""Cloud-Optimised GeoTIFFs from the pipeline's intermediate GeoTIFFs, streamed by GDAL."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import rasterio
import rasterio.shutil

from compositing.products.formats import Grouping
from compositing.products.naming import layer_file_name
from compositing.products.parallel import write_all

if TYPE_CHECKING:
    from compositing.grid import OutputGrid
    from compositing.orders.spec import MosaicSpec
    from compositing.products.intermediate import Intermediates

# DEFLATE, unlike ZSTD, is read by every TIFF reader; PREDICTOR=YES picks the horizontal
# predictor (2) for integers. NEAREST keeps every overview value a real observation;
# IGNORE_EXISTING rebuilds the whole pyramid, whatever overviews the intermediate file has.
# NUM_THREADS: GDAL compresses the blocks of a file on every core and writes them in order
# (the bytes are those of one thread); a product's largest file, written last, would
# otherwise keep one core busy while the others wait.
COG_OPTIONS = {
    "num_threads": "ALL_CPUS",
    "compress": "DEFLATE",
    "predictor": "YES",
    "blocksize": 512,
    "overview_resampling": "NEAREST",
    "overviews": "IGNORE_EXISTING",
    "bigtiff": "IF_SAFER",
}


def write_cog(src: Path, dst: Path, *, band_indexes: Sequence[int] | None = None) -> None:
    """Copy src (all bands, or the 1-based band_indexes in that order) to a COG at dst."""
    # Everything a product band carries is stored in the TIFF itself; without PAM, GDAL does not
    # leave a dst.aux.xml behind for what TIFF cannot say (e.g. a band subset's colour roles).
    with rasterio.Env(GDAL_PAM_ENABLED="NO"):
        rasterio.shutil.copy(band_subset(src, band_indexes), str(dst), driver="COG",
                             **COG_OPTIONS)


def band_subset(src: Path, band_indexes: Sequence[int] | None) -> str:
    """A GDAL name for src or for a virtual (VRT) view of some of its bands.

    The `vrt://` view carries each band's description, tags, nodata, scale, offset and units
    over, as gdal_translate does, so nothing needs re-applying on the written file.
    """
    if band_indexes is None:
        return str(src)
    indexes = list(band_indexes)
    with rasterio.open(src) as ds:
        count = ds.count
    if not indexes or any(not 1 <= i <= count for i in indexes):
        raise ValueError(f"band indexes {indexes} outside 1..{count} of {src}")
    if "?" in str(src):
        raise ValueError(f"a '?' in {src} would end the vrt:// file name")
    return f"vrt://{src}?bands={','.join(str(i) for i in indexes)}"


def write_product(spec: MosaicSpec, grid: OutputGrid, layers: Intermediates, folder: Path, *,
                  attributes: Mapping[str, str], label: str | None,
                  source_ids: Sequence[str]) -> None:
    """The product's COGs: each group of layers in one file (a mosaic's bands, each auxiliary
    layer alone: `groups`), or one file per layer.

    GeoTIFF tags carry each band's name, scale, nodata and units; `attributes` and
    `source_ids` belong to self-describing formats and are not used here.
    """
    fmt = spec.product_format
    per_layer = fmt.grouping(spec.layout) is Grouping.PER_LAYER
    jobs: list[Callable[[], None]] = []
    for name, (path, members) in layers.items():
        if per_layer:
            jobs += [partial(write_cog, path,
                             folder / layer_file_name(spec, layer.name, fmt.extension, label),
                             band_indexes=[index])
                     for index, layer in enumerate(members, start=1)]
        else:
            jobs.append(partial(write_cog, path,
                                folder / layer_file_name(spec, name, fmt.extension, label)))
    write_all(jobs)
