"""Writing product rasters chunk by chunk (tiled GeoTIFF), so memory never holds a whole mosaic."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.windows import Window

from compositing.grid import Chunk, OutputGrid
from compositing.products.layers import Layer

# The pipeline's intermediates: per group name ("bands", "rgb", or an auxiliary layer), a tiled
# GeoTIFF written chunk by chunk with one band per layer, and those layers.
Intermediates = Mapping[str, tuple[Path, Sequence[Layer]]]

# ZSTD at level 1: these files live only until the delivered ones are written from them; it
# packs reflectance as small as DEFLATE does and encodes about 4x faster, and the delivery
# waits on every byte of it.
GTIFF_OPTIONS = {
    "driver": "GTiff",
    "tiled": True,
    "blockxsize": 256,
    "blockysize": 256,
    "compress": "zstd",
    "zstd_level": 1,
    "predictor": 2,
    "bigtiff": "IF_SAFER",
}


class GeoTiffWriter:
    """One GeoTIFF of one or more layers sharing a storage type, written window by window."""

    def __init__(self, path: Path, grid: OutputGrid, layers: Sequence[Layer]) -> None:
        dtypes = {layer.dtype for layer in layers}
        if len(dtypes) != 1:
            raise ValueError(f"one GeoTIFF holds one storage type, got {sorted(dtypes)}")
        self.path = path
        self.layers = tuple(layers)
        blocks: dict = dict(GTIFF_OPTIONS)
        if grid.width < 256 or grid.height < 256:
            blocks.update(tiled=False)
            blocks.pop("blockxsize")
            blocks.pop("blockysize")
        self._ds = rasterio.open(
            path, "w", width=grid.width, height=grid.height, count=len(layers),
            dtype=dtypes.pop(), crs=grid.crs, transform=grid.transform,
            nodata=layers[0].nodata, **blocks,
        )
        for i, layer in enumerate(layers, start=1):
            self._ds.set_band_description(i, layer.name)
            self._ds.update_tags(i, **_band_tags(layer))
        self._ds.scales = tuple(layer.scale for layer in layers)
        self._ds.offsets = tuple(0.0 for _ in layers)
        self._ds.units = tuple(layer.units for layer in layers)

    def write(self, chunk: Chunk, arrays: Sequence[np.ndarray]) -> None:
        """Write one chunk of every layer, in the order of `layers`."""
        window = Window(chunk.col_off, chunk.row_off, chunk.width, chunk.height)
        self._ds.write(np.stack(arrays), window=window)

    def close(self, overviews: bool = True) -> None:
        """Build overviews (nearest: every value stays a real observation) and close."""
        if overviews:
            factors = [f for f in (2, 4, 8, 16, 32) if min(self._ds.width, self._ds.height) // f
                       >= 128]
            if factors:
                self._ds.build_overviews(factors, Resampling.nearest)
                self._ds.update_tags(ns="rio_overview", resampling="nearest")
        self._ds.close()

    def __enter__(self) -> GeoTiffWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close(overviews=exc is None)


def _band_tags(layer: Layer) -> dict[str, str]:
    tags = {"name": layer.name, "description": layer.description, "scale": repr(layer.scale),
            "nodata": str(layer.nodata), "units": layer.units}
    band = layer.band
    if band is not None:
        tags["wavelength_nm"] = str(band.center_nm)
    return tags
