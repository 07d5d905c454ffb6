"""Product folder and file names (S2GM-compatible), file records with checksums, JSON files."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from compositing.orders.spec import MosaicSpec

PROCESSING_VERSION = "0.1.0"


@dataclass(frozen=True)
class FileRecord:
    """A finished file of a product: its name relative to the product folder, size, checksum."""

    name: str
    size: int
    sha256: str


def period_code(spec: MosaicSpec) -> str:
    """'M20' for a monthly 20 m product."""
    return f"{spec.period_type.code}{spec.resolution}"


def folder_name(spec: MosaicSpec, prefix: str, product_id: str) -> str:
    """{PREFIX}_{T}{RR}_{start}_{end}_{OrderName}_STD_v{version}_{id}."""
    return (f"{prefix}_{period_code(spec)}_{spec.start:%Y%m%d}_{spec.end:%Y%m%d}_{spec.name}"
            f"_STD_v{PROCESSING_VERSION}_{product_id}")


def layer_file_name(spec: MosaicSpec, layer: str, ext: str = "tif",
                    label: str | None = None) -> str:
    """{layer}_{T}{RR}_{start}_{OrderName}.{ext}; in a tile subfolder the tile id replaces
    the order name (`label`), as in S2GM's tiled products."""
    return f"{layer}_{period_code(spec)}_{spec.start:%Y%m%d}_{label or spec.name}.{ext}"


def sha256_of(path: Path, block: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while data := fh.read(block):
            digest.update(data)
    return digest.hexdigest()


def file_record(folder: Path, path: Path) -> FileRecord:
    """The record of a finished file below the product folder; the only place a product file
    is hashed, once, when it is written (its record is carried forward from then on)."""
    return FileRecord(str(path.relative_to(folder)), path.stat().st_size, sha256_of(path))


def by_name(files: Iterable[FileRecord]) -> list[FileRecord]:
    """Records sorted by path, part by part, as a sorted walk of the product folder lists them."""
    return sorted(files, key=lambda f: PurePath(f.name))


def write_json(path: Path, content: dict[str, Any]) -> None:
    """Pretty, stable JSON in UTF-8."""
    path.write_text(json.dumps(content, indent=2, sort_keys=False, default=str) + "\n",
                    encoding="utf-8")
