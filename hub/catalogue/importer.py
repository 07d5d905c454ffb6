"""Bulk import of items from a CSV or JSON manifest: validate every row, then import atomically.

Manifest columns (one row per file, rows of one item share the identifier):
identifier, start, end, footprint, file_name, url, path, size, sha256.
`start`/`end` are ISO dates; `footprint` is a GeoJSON Polygon/MultiPolygon or a bbox
"west,south,east,north"; each file needs a `url` (http/https) or a `path` relative to the
catalogue root, or both; `size` is in bytes; `sha256` is 64 hexadecimal characters.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.db import transaction

from hub.catalogue.geometry import SHA256_RE, FootprintError, parse_footprint
from hub.catalogue.models import Item, ItemFile, ProductFamily, local_path

COLUMNS = ("identifier", "start", "end", "footprint", "file_name", "url", "path", "size",
           "sha256")
REQUIRED = ("identifier", "start", "end", "footprint", "file_name", "size", "sha256")
IDENTIFIER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


class ManifestError(Exception):
    """A manifest that cannot be imported; `errors` lists (row, reason) pairs."""

    def __init__(self, errors: list[tuple[int, str]]) -> None:
        super().__init__(f"{len(errors)} bad row(s)")
        self.errors = errors


@dataclass
class ItemRows:
    """The validated content of one item gathered from its rows."""

    identifier: str
    start: date
    end: date
    footprint: dict[str, Any]
    files: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ImportReport:
    """Which identifiers were created, updated or left unchanged."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def read_manifest(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(row number, row) pairs of a .csv (header = row 1) or .json (list, first = row 1)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return [(number, dict(row)) for number, row in enumerate(csv.DictReader(handle), 2)]
    if suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        rows = data.get("rows") if isinstance(data, dict) else data
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ManifestError([(0, 'a JSON manifest is a list of objects or {"rows": [...]}')])
        return list(enumerate(rows, 1))
    raise ManifestError([(0, f"unknown manifest type {suffix!r}: use .csv or .json")])


def _text(row: dict[str, Any], key: str) -> str:
    """A cell as stripped text ('' when absent)."""
    value = row.get(key)
    return "" if value is None else str(value).strip()


def _parse_date(value: str) -> date:
    """An ISO date (a datetime is cut to its date)."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()


def _check_file(row: dict[str, Any], reasons: list[str]) -> dict[str, Any]:
    """The file part of a row, appending what is wrong to `reasons`."""
    name, url, path = _text(row, "file_name"), _text(row, "url"), _text(row, "path")
    if "/" in name or "\\" in name:
        reasons.append("file_name must not contain a folder")
    if not url and not path:
        reasons.append("give a url or a path")
    if url and not re.match(r"^https?://\S+$", url):
        reasons.append("url must start with http:// or https://")
    if path and local_path(path) is None:
        reasons.append("path must be relative and stay inside the catalogue root")
    size: int | None = None
    try:
        size = int(_text(row, "size"))
        if size < 0:
            raise ValueError
    except ValueError:
        reasons.append("size must be a whole number of bytes")
    sha256 = _text(row, "sha256").lower()
    if not SHA256_RE.match(sha256):
        reasons.append("sha256 must be 64 hexadecimal characters")
    return {"name": name, "url": url, "path": path, "size": size, "sha256": sha256}


def _check_row(row: dict[str, Any]) -> tuple[ItemRows | None, list[str]]:
    """The item and file of one row, or the reasons it is bad."""
    reasons = [f"{key} is missing" for key in REQUIRED if not _text(row, key)]
    identifier = _text(row, "identifier")
    if identifier and not IDENTIFIER_RE.match(identifier):
        reasons.append("identifier may only use letters, digits, '_', '-' and '.'")
    start = end = None
    for key in ("start", "end"):
        if _text(row, key):
            try:
                parsed = _parse_date(_text(row, key))
            except ValueError:
                reasons.append(f"{key} is not an ISO date (YYYY-MM-DD)")
                continue
            start, end = (parsed, end) if key == "start" else (start, parsed)
    if start and end and start > end:
        reasons.append("start is after end")
    footprint: dict[str, Any] | None = None
    if row.get("footprint") not in (None, ""):
        try:
            footprint = parse_footprint(row["footprint"])
        except FootprintError as exc:
            reasons.append(str(exc))
    file_row = _check_file(row, reasons)
    if reasons or start is None or end is None or footprint is None:
        return None, reasons
    return ItemRows(identifier, start, end, footprint, [file_row]), []


def validate(family: ProductFamily,
             rows: list[tuple[int, dict[str, Any]]]) -> dict[str, ItemRows]:
    """Items by identifier, or ManifestError listing every bad row."""
    errors: list[tuple[int, str]] = []
    items: dict[str, ItemRows] = {}
    elsewhere = dict(Item.objects.exclude(family=family)
                     .filter(identifier__in={_text(r, "identifier") for _, r in rows})
                     .values_list("identifier", "family__slug"))
    if not rows:
        errors.append((0, "the manifest has no rows"))
    for number, row in rows:
        parsed, reasons = _check_row(row)
        if parsed is not None:
            reasons = _merge(items, parsed, elsewhere)
        errors.extend((number, reason) for reason in reasons)
    if errors:
        raise ManifestError(errors)
    return items


def _merge(items: dict[str, ItemRows], parsed: ItemRows, elsewhere: dict[str, str]) -> list[str]:
    """Add a valid row to its item; the reasons it conflicts with earlier rows."""
    if parsed.identifier in elsewhere:
        return [f"{parsed.identifier} already belongs to family {elsewhere[parsed.identifier]}"]
    known = items.setdefault(parsed.identifier, ItemRows(
        parsed.identifier, parsed.start, parsed.end, parsed.footprint))
    reasons = [f"{key} differs from an earlier row of {parsed.identifier}"
               for key in ("start", "end", "footprint")
               if getattr(known, key) != getattr(parsed, key)]
    name = parsed.files[0]["name"]
    if any(f["name"] == name for f in known.files):
        reasons.append(f"file {name} is listed twice for {parsed.identifier}")
    if not reasons:
        known.files.extend(parsed.files)
    return reasons


def _same(item: Item, rows: ItemRows) -> bool:
    """Whether a stored item already holds exactly these rows."""
    stored = sorted((f.to_row() for f in item.files.all()), key=lambda f: f["name"])
    wanted = sorted(rows.files, key=lambda f: f["name"])
    return (item.start, item.end, item.footprint, stored) == (
        rows.start, rows.end, rows.footprint, wanted)


def import_items(family: ProductFamily, rows: list[tuple[int, dict[str, Any]]]) -> ImportReport:
    """Validate all rows, then create or update their items in one transaction."""
    items = validate(family, rows)
    report = ImportReport()
    with transaction.atomic():
        stored = {i.identifier: i for i in Item.objects.filter(identifier__in=items)
                  .prefetch_related("files")}
        for identifier, wanted in items.items():
            item = stored.get(identifier)
            if item is not None and _same(item, wanted):
                report.unchanged.append(identifier)
                continue
            (report.created if item is None else report.updated).append(identifier)
            item, _ = Item.objects.update_or_create(identifier=identifier, defaults={
                "family": family, "start": wanted.start, "end": wanted.end,
                "footprint": wanted.footprint})
            item.files.all().delete()
            ItemFile.objects.bulk_create(ItemFile(item=item, **f) for f in wanted.files)
    return report
