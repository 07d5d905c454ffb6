"""A true-colour PNG preview of a product, read from a decimated view of its bands file.

Nodata is shown in two ways, because it means two things to a person looking at the preview:
outside the ordered area it is transparent; inside it, where no valid observation was found in
the period (clouds, shadows, or no scene), it is hatched in greys (`NO_OBSERVATION_HATCH`), which
no surface looks like. The product page's legend shows both.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning
from rasterio.features import geometry_mask
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from compositing.grid import project_geometry
from compositing.products.layers import PERIODS

STRETCH_PERCENTILES = (2.0, 98.0)
# Diagonal stripes of two greys, HATCH_WIDTH pixels each (the legend draws the same).
NO_OBSERVATION_HATCH = ((128, 128, 128), (190, 190, 190))
HATCH_WIDTH = 3


def write_quicklook(bands_tif: Path, dst: Path, *, rgb: tuple[int, int, int],
                    max_size: int = 1024, aoi: BaseGeometry | None = None) -> None:
    """Write an RGBA PNG of bands rgb (1-based: B04, B03, B02), at most max_size pixels a side.

    Each channel is stretched between its 2nd and 98th percentiles over the valid pixels.
    Pixels where any of the three bands is nodata are hatched inside `aoi` (lon/lat: no valid
    observation) and transparent elsewhere (all of them without an AOI).
    """
    with rasterio.open(bands_tif) as ds:
        height, width = preview_shape(ds.height, ds.width, max_size)
        # out_shape makes GDAL read from the overviews: memory stays bounded by max_size.
        data = ds.read(list(rgb), out_shape=(3, height, width), masked=True,
                       resampling=Resampling.nearest)
        inside = (_inside(aoi, ds.crs, ds.transform @ ds.transform.scale(
            ds.width / width, ds.height / height), (height, width))
            if aoi is not None and ds.crs is not None else np.zeros((height, width), bool))
    valid = np.asarray(~np.ma.getmaskarray(data).any(axis=0))
    channels = [stretch(np.ma.getdata(band), valid) for band in data]
    hatched = inside & ~valid
    stripes = ((np.add.outer(np.arange(height), np.arange(width)) // HATCH_WIDTH) % 2).astype(bool)
    for channel, (dark, light) in zip(channels, zip(*NO_OBSERVATION_HATCH, strict=True),
                                      strict=True):
        channel[hatched] = np.where(stripes[hatched], light, dark)
    alpha = np.where(valid | hatched, 255, 0).astype(np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # a preview, not a map
        with rasterio.open(dst, "w", driver="PNG", width=width, height=height, count=4,
                           dtype="uint8") as out:
            out.write(np.stack([*channels, alpha]))


def _inside(aoi: BaseGeometry, crs: rasterio.crs.CRS, transform: rasterio.Affine,
            shape: tuple[int, int]) -> np.ndarray:
    """The preview's pixels whose centre is inside the lon/lat AOI, projected as the product's
    own AOI mask projects it (`grid.project_geometry`)."""
    epsg = crs.to_epsg()
    if epsg is None:
        return np.zeros(shape, bool)
    return ~geometry_mask([mapping(project_geometry(aoi, epsg))], shape, transform)


def preview_shape(height: int, width: int, max_size: int) -> tuple[int, int]:
    """The raster's shape shrunk (never enlarged) so that neither side exceeds max_size."""
    factor = max(1.0, height / max_size, width / max_size)
    return (max(1, min(max_size, math.ceil(height / factor))),
            max(1, min(max_size, math.ceil(width / factor))))


def stretch(band: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """8-bit band: percentile range over valid pixels to 0..255, invalid pixels 0."""
    values = band[valid].astype(np.float64)
    if values.size == 0:
        return np.zeros(band.shape, np.uint8)
    low, high = np.percentile(values, STRETCH_PERCENTILES)
    span = high - low if high > low else 1.0
    scaled = np.clip((band.astype(np.float64) - low) / span, 0.0, 1.0) * 255.0
    return np.where(valid, np.rint(scaled), 0).astype(np.uint8)


# A change order's class map: no change in a light grey, classes 1 to 10 in the Okabe-Ito
# colours (told apart with every common colour-vision deficiency), then two darker extras.
NO_CHANGE_COLOUR = (225, 225, 225)
CLASS_COLOURS: tuple[tuple[int, int, int], ...] = (
    (230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (0, 114, 178),
    (213, 94, 0), (204, 121, 167), (0, 0, 0), (120, 60, 0), (80, 80, 160),
)
# Quicklooks a product may have, by the layer part of their file names (`naming`): the first
# is the one lists and maps show.
TRUE_COLOUR, BEFORE, CLASSES = "quicklook", "quicklook_before", "quicklook_change"
QUICKLOOKS: dict[str, str] = {
    TRUE_COLOUR: "true colour (the second mosaic's, for a change order)",
    BEFORE: "true colour of a change order's first mosaic",
    CLASSES: "a change order's classes of change",
}


def true_colour_quicklook(group: str) -> str:
    """The quicklook of a band group (`groups.band_groups`): a change order's first mosaic
    has one of its own; its second, like a mosaic's bands, has the product's quicklook."""
    return BEFORE if group == PERIODS[0] else TRUE_COLOUR


def quicklook_kind(file_name: str) -> str | None:
    """Which of `QUICKLOOKS` a PNG file name is ('quicklook_change_M20_...png')."""
    if not file_name.lower().endswith(".png"):
        return None
    return next((kind for kind in sorted(QUICKLOOKS, key=len, reverse=True)
                 if file_name.startswith(f"{kind}_")), None)


def write_class_quicklook(classes_tif: Path, dst: Path, *, max_size: int = 1024,
                          aoi: BaseGeometry | None = None) -> None:
    """An RGBA PNG of a change class layer: `CLASS_COLOURS` for classes 1..10, a light grey
    where nothing changed, hatched inside `aoi` where either mosaic had no value, transparent
    outside it."""
    with rasterio.open(classes_tif) as ds:
        height, width = preview_shape(ds.height, ds.width, max_size)
        data = ds.read(1, out_shape=(height, width), masked=True,
                       resampling=Resampling.nearest)
        inside = (_inside(aoi, ds.crs, ds.transform @ ds.transform.scale(
            ds.width / width, ds.height / height), (height, width))
            if aoi is not None and ds.crs is not None else np.zeros((height, width), bool))
    valid = ~np.ma.getmaskarray(data)
    values = np.ma.getdata(data).astype(np.int64)
    palette = np.array([NO_CHANGE_COLOUR, *CLASS_COLOURS], np.uint8)
    rgb = palette[np.clip(values, 0, len(palette) - 1)]
    hatched = inside & ~valid
    stripes = ((np.add.outer(np.arange(height), np.arange(width)) // HATCH_WIDTH) % 2).astype(bool)
    dark, light = (np.array(c, np.uint8) for c in NO_OBSERVATION_HATCH)
    rgb[hatched] = np.where(stripes[hatched][:, None], light, dark)
    alpha = np.where(valid | hatched, 255, 0).astype(np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(dst, "w", driver="PNG", width=width, height=height, count=4,
                           dtype="uint8") as out:
            out.write(np.stack([*np.moveaxis(rgb, 2, 0), alpha]))
