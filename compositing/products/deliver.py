"""Turning the intermediate GeoTIFFs of a composed product into its delivered files.

Every delivered file is hashed once, as soon as its folder's writers are done
(`naming.file_record`); its record (name, size, SHA-256) is carried forward into the metadata
files written after it, the manifest and the caller.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from compositing.grid import OutputGrid
from compositing.orders.spec import MosaicSpec
from compositing.products.groups import band_groups, delivered_groups, quicklook_source
from compositing.products.inspire import inspire_xml
from compositing.products.intermediate import Intermediates
from compositing.products.metadata import (
    ProductInfo,
    manifest,
    metadata_json,
    stac_item,
    summary,
    title,
)
from compositing.products.naming import (
    FileRecord,
    by_name,
    file_record,
    layer_file_name,
    write_json,
)
from compositing.products.quicklook import (
    CLASSES,
    true_colour_quicklook,
    write_class_quicklook,
    write_quicklook,
)
from compositing.products.statistics import product_statistics
from compositing.products.tiling import ProductPart, crop_intermediates


def deliver(info: ProductInfo, intermediates: Intermediates, folder: Path) -> list[FileRecord]:
    """The ordered format's files, the quicklook and the metadata files of the product into
    folder; the records of all of them, sorted by name."""
    data = write_formats(info.spec, info.grid, intermediates, folder, product_attributes(info),
                         info.parts, [o.acquisition for o in info.observations])
    return write_metadata(replace(info, files=data), folder)


def write_formats(spec: MosaicSpec, grid: OutputGrid, intermediates: Intermediates,
                  folder: Path, attributes: Mapping[str, str] | None = None,
                  parts: Sequence[ProductPart] = (), source_ids: Sequence[str] = ()
                  ) -> list[FileRecord]:
    """The ordered format's files and the quicklook, from the intermediates, into folder
    (which holds no other file); their records, sorted by name.

    `attributes`: global attributes of self-describing formats (NetCDF): id, creator, ...
    With `parts` (tiling 'mgrs') each part's files go to a subfolder named by its tile; the
    quicklook of the whole product stays at the top. `source_ids`: the acquisition of each
    source_index value (named in NetCDF files).
    """
    delivered = delivered_groups(spec)
    layers = {name: item for name, item in intermediates.items() if name in delivered}
    attributes = attributes or {}
    files: list[FileRecord] = []
    # The quicklook reads the intermediates as the format writers do: on a thread of its own
    # it costs no time (GDAL decodes and encodes without Python's lock).
    with ThreadPoolExecutor(1, thread_name_prefix="quicklook") as beside:
        quicklooks = beside.submit(_quicklooks, spec, intermediates, folder)
        files = _write_parts(spec, grid, layers, folder, attributes, parts, source_ids)
        quicklooks.result()
    return by_name([*files, *_records(folder, folder)])


def _write_parts(spec: MosaicSpec, grid: OutputGrid, layers: Intermediates, folder: Path,
                 attributes: Mapping[str, str], parts: Sequence[ProductPart],
                 source_ids: Sequence[str]) -> list[FileRecord]:
    """The format's files of the whole product, or of each tile part in its subfolder (the
    records of those; the caller lists the top folder)."""
    files: list[FileRecord] = []
    if not parts:
        write_layers(spec, grid, layers, folder, attributes, source_ids=source_ids)
    scratch = folder / ".parts"
    try:
        for part in parts:
            cropped = crop_intermediates(layers, part, scratch / part.label)
            (folder / part.label).mkdir()
            part_attributes = dict(attributes)
            if "id" in attributes:
                part_attributes["id"] = f"{attributes['id']}_{part.label}"
            write_layers(spec, part.grid, cropped, folder / part.label, part_attributes,
                         label=part.label, source_ids=source_ids)
            files += _records(folder, folder / part.label)
            shutil.rmtree(scratch / part.label)  # a tile's copy at a time on disk
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return files


def _records(root: Path, folder: Path) -> list[FileRecord]:
    """Every file directly in folder, named relative to root: what the writers left there,
    sidecars included (GDAL's .aux.xml beside a JPEG 2000 file)."""
    return [file_record(root, path) for path in folder.iterdir() if path.is_file()]


def write_layers(spec: MosaicSpec, grid: OutputGrid, layers: Intermediates, folder: Path,
                 attributes: Mapping[str, str], label: str | None = None,
                 source_ids: Sequence[str] = ()) -> None:
    """The ordered format's files of the layers (no quicklook) into folder.

    `label` replaces the order name in file names (a tile's id in a tile subfolder).
    """
    spec.product_format.write(spec, grid, layers, folder, attributes=attributes, label=label,
                              source_ids=source_ids)


def _quicklooks(spec: MosaicSpec, intermediates: Intermediates, folder: Path) -> None:
    """The true-colour quicklook of each mosaic ('quicklook'; a change order's second mosaic
    has that name, its first 'quicklook_before'), and a change order's class map."""
    for group in band_groups(spec):
        source, rgb = quicklook_source(spec, group)
        path, layers = intermediates[source]
        names = [layer.name for layer in layers]
        write_quicklook(path, folder / layer_file_name(spec, true_colour_quicklook(group), "png"),
                        rgb=(names.index(rgb[0]) + 1, names.index(rgb[1]) + 1,
                             names.index(rgb[2]) + 1), aoi=spec.aoi)
    if spec.is_change:
        path, _ = intermediates["change_class"]
        write_class_quicklook(path, folder / layer_file_name(spec, CLASSES, "png"),
                              aoi=spec.aoi)


def product_attributes(info: ProductInfo) -> dict[str, str]:
    """Who made the product, what it is called and what it holds, for self-describing
    formats."""
    contact = info.contact
    return {"id": info.folder_name, "title": title(info), "summary": summary(info),
            "institution": contact.organisation,
            "creator_name": contact.name, "creator_email": contact.email,
            "publisher_name": contact.organisation, "publisher_email": contact.email}


def write_metadata(info: ProductInfo, folder: Path) -> list[FileRecord]:
    """metadata.json, inspire.xml (if ordered), the STAC Item and the SHA-256 manifest, each
    listing `info.files` (the data files) and the metadata files written before it (a file
    cannot hold its own checksum); the records of all of them, sorted by name.

    The STAC Item's band statistics are read back from the data files in folder."""
    files = by_name(info.files)
    info = replace(info, statistics=product_statistics(info.spec, folder, files))
    write_json(folder / "metadata.json", metadata_json(replace(info, files=files)))
    written = [file_record(folder, folder / "metadata.json")]
    if "inspire" in info.spec.metadata:
        (folder / "inspire.xml").write_bytes(inspire_xml(replace(info, files=files)))
        written.append(file_record(folder, folder / "inspire.xml"))
    files = by_name([*files, *written])
    write_json(folder / "stac_item.json", stac_item(replace(info, files=files)))
    files = by_name([*files, file_record(folder, folder / "stac_item.json")])
    (folder / "manifest.sha256").write_text(manifest(files), encoding="utf-8")
    return by_name([*files, file_record(folder, folder / "manifest.sha256")])


def now() -> datetime:
    """Creation time of a product, to the second."""
    return datetime.now(UTC).replace(microsecond=0)
