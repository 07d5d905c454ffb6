"""Statistics of the physical values of a product's delivered layers, for its STAC Item.

Read back from the delivered files themselves (not the intermediates), so that what the item
says is what a person downloads, in every format. Each band is read a strip of whole blocks at
a time and the strips' counts, means and squared deviations are merged (Chan et al.), so
memory holds one strip, never a layer. GDAL's own statistics are not used: they are saved in
.aux.xml sidecars, which would change a product folder whose files are already hashed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from rasterio.windows import Window

from compositing.orders.spec import MosaicSpec
from compositing.products.layers import Layer
from compositing.products.metadata import file_layers
from compositing.products.naming import FileRecord
from compositing.products.parallel import writer_threads

# Stored values read at once: a strip as float64 stays near 32 MB whatever the product's width.
STRIP_PIXELS = 4 << 20


@dataclass(frozen=True)
class Moments:
    """Count, extremes, mean and sum of squared deviations of some stored values."""

    count: int = 0
    minimum: float = math.inf
    maximum: float = -math.inf
    mean: float = 0.0
    m2: float = 0.0

    @classmethod
    def of(cls, values: np.ndarray) -> Moments:
        """The moments of a 1-D array of stored values."""
        if values.size == 0:
            return cls()
        # float64: an int32 layer's squared deviations overflow any integer type; one copy,
        # centred in place, and a dot product keep the strip's temporaries to that copy.
        deviations = values.astype(np.float64)
        mean = float(deviations.mean())
        deviations -= mean
        return cls(values.size, float(values.min()), float(values.max()), mean,
                   float(deviations @ deviations))

    def merge(self, other: Moments) -> Moments:
        """The moments of both sets together (Chan, Golub and LeVeque's pairwise update)."""
        if not other.count:
            return self
        if not self.count:
            return other
        count = self.count + other.count
        delta = other.mean - self.mean
        return Moments(count, min(self.minimum, other.minimum), max(self.maximum, other.maximum),
                       self.mean + delta * other.count / count,
                       self.m2 + other.m2 + delta * delta * self.count * other.count / count)


def raster_statistics(moments: Moments, pixels: int, layer: Layer) -> dict[str, float]:
    """A STAC raster v1.1 Statistics Object of the layer's physical values (stored * scale +
    offset), nodata excluded; only `valid_percent` where no pixel is valid, and no mean or
    spread of codes (`Layer.categorical`)."""
    valid_percent = 100.0 * moments.count / pixels if pixels else 0.0
    if not moments.count:
        return {"valid_percent": valid_percent}
    ends = sorted((moments.minimum * layer.scale + layer.offset,
                   moments.maximum * layer.scale + layer.offset))
    if layer.categorical:
        return {"minimum": ends[0], "maximum": ends[1], "valid_percent": valid_percent}
    return {"minimum": ends[0], "maximum": ends[1],
            "mean": moments.mean * layer.scale + layer.offset,
            "stddev": math.sqrt(moments.m2 / moments.count) * abs(layer.scale),
            "valid_percent": valid_percent}


def dataset_statistics(dataset: str | Path, members: Sequence[tuple[int, Layer]]
                       ) -> list[dict[str, float]]:
    """Statistics of some (1-based band, layer) of a raster that GDAL opens, in that order.

    The bands are read together, a strip at a time: a multi-band GeoTIFF interleaves its
    bands by pixel, so reading them one by one would decode every block once per band.
    """
    bands = [band for band, _ in members]
    moments = [Moments()] * len(members)
    with rasterio.open(dataset) as src:
        for window in _strips(src, bands):
            for i, ((_, layer), data) in enumerate(
                    zip(members, src.read(bands, window=window), strict=True)):
                # Cast to the layer's type: NetCDF stores unsigned layers signed or widened.
                stored = data.astype(layer.dtype, copy=False).ravel()
                moments[i] = moments[i].merge(Moments.of(stored[stored != layer.nodata]))
        pixels = src.width * src.height
    return [raster_statistics(m, pixels, layer)
            for m, (_, layer) in zip(moments, members, strict=True)]


def _strips(src: rasterio.DatasetReader, bands: Sequence[int]) -> Iterator[Window]:
    """Full-width windows of whole block rows, about STRIP_PIXELS over all the bands."""
    block_height = src.block_shapes[bands[0] - 1][0]
    rows = max(1, STRIP_PIXELS // (src.width * block_height * len(bands))) * block_height
    for row in range(0, src.height, rows):
        yield Window(0, row, src.width, min(rows, src.height - row))


def file_statistics(spec: MosaicSpec, folder: Path, name: str) -> list[dict[str, float]]:
    """Statistics of each layer of the delivered data file folder/name, in `file_layers`
    order: the file's bands read together, or each layer's own variable."""
    datasets: dict[str, list[tuple[int, Layer]]] = {}
    for layer, band in file_layers(spec, name):
        dataset, index = spec.product_format.layer_band(folder / name, layer.name, band)
        datasets.setdefault(dataset, []).append((index, layer))
    return [stats for dataset, members in datasets.items()
            for stats in dataset_statistics(dataset, members)]


def product_statistics(spec: MosaicSpec, folder: Path, files: Sequence[FileRecord]
                       ) -> dict[str, list[dict[str, float]]]:
    """Statistics of the layers of every delivered data file in folder, by file name.

    Files are read side by side, as they were written (`parallel`): GDAL decodes and numpy
    reduces without Python's lock."""
    names = [f.name for f in files if file_layers(spec, f.name)]
    with ThreadPoolExecutor(max(1, min(len(names), writer_threads())),
                            thread_name_prefix="statistics") as pool:
        return dict(zip(names, pool.map(lambda name: file_statistics(spec, folder, name), names),
                        strict=True))
