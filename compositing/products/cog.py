"""Cloud-Optimised GeoTIFFs from the pipeline's intermediate GeoTIFFs, streamed by GDAL."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import rasterio
import rasterio.shutil

# DEFLATE, unlike ZSTD, is read by every TIFF reader; PREDICTOR=YES picks the horizontal
# predictor (2) for integers. NEAREST keeps every overview value a real observation;
# IGNORE_EXISTING rebuilds the whole pyramid, whatever overviews the intermediate file has.
COG_OPTIONS = {
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
