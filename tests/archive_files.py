"""What the remote-archive tests and bench/remote.py share: an operator's archives file for one
archive, and the comparison of two products' rasters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import rasterio


def write_archives_file(path: Path, name: str, **fields: Any) -> Path:
    """A HUB_ARCHIVES_FILE defining one archive: scalar and list fields in its table, tables
    (gdal, credentials) as its sub-tables."""
    lines = [f"[archives.{name}]"]
    tables = {k: v for k, v in fields.items() if isinstance(v, dict)}
    for key, value in fields.items():
        if key not in tables:
            lines.append(f"{key} = {json.dumps(value)}")
    for key, table in tables.items():
        lines.append(f"[archives.{name}.{key}]")
        lines.extend(f"{k} = {json.dumps(v)}" for k, v in table.items())
    path.write_text("\n".join(lines) + "\n")
    return path


def s3_fields(endpoint: str, region: str, **credentials: str) -> dict[str, Any]:
    """GDAL options reaching an S3 API at `endpoint` (host:port, plain HTTP, path style)."""
    return {"gdal": {"AWS_S3_ENDPOINT": endpoint, "AWS_HTTPS": "NO",
                     "AWS_VIRTUAL_HOSTING": "FALSE", "AWS_REGION": region, **credentials}}


def rasters(folder: Path) -> dict[str, np.ndarray]:
    """Every GeoTIFF of a product folder (its subfolders too), by the first part of its name."""
    out = {}
    for path in sorted(Path(folder).rglob("*.tif")):
        with rasterio.open(path) as src:
            out[path.name.split("_")[0]] = src.read()
    return out


def assert_same_rasters(expected: Path, got: Path) -> None:
    """Two products hold the same files with the same pixels."""
    mine, theirs = rasters(expected), rasters(got)
    assert set(mine) == set(theirs) and mine
    for name, values in mine.items():
        np.testing.assert_array_equal(theirs[name], values, err_msg=name)
