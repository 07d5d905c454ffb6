"""Intermediate GeoTIFFs as the pipeline writes them, for the format converters' tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from affine import Affine

from compositing.grid import METRES_PER_DEGREE, OutputGrid
from compositing.products.intermediate import GeoTiffWriter
from compositing.products.layers import Layer

# Wider and taller than one 512 block, so COGs get several tiles and overview levels.
UTM_GRID = OutputGrid(32631, Affine(10.0, 0.0, 600000.0, 0.0, -10.0, 5000040.0), 1300, 900)
_DEG = 20 / METRES_PER_DEGREE
WGS84_GRID = OutputGrid(4326, Affine(_DEG, 0.0, 4.5, 0.0, -_DEG, 45.2), 700, 520)


def write_layers(path: Path, grid: OutputGrid, layers: list[Layer], seed: int = 0) -> np.ndarray:
    """An intermediate GeoTIFF as the pipeline writes it (chunk by chunk); returns its values."""
    rng = np.random.default_rng(seed)
    info = np.iinfo(np.dtype(layers[0].dtype))
    values = rng.integers(max(info.min + 1, 0), min(info.max - 1, 20000),
                          (len(layers), grid.height, grid.width)).astype(layers[0].dtype)
    values[:, 100:180, 200:330] = layers[0].nodata
    with GeoTiffWriter(path, grid, layers) as writer:
        for chunk in grid.chunks(512):
            rows = slice(chunk.row_off, chunk.row_off + chunk.height)
            cols = slice(chunk.col_off, chunk.col_off + chunk.width)
            writer.write(chunk, list(values[:, rows, cols]))
    return values
