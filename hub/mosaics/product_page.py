"""The product page's content, read from the product's own metadata.json.

The page shows what the delivered metadata says rather than re-deriving it, so a user sees the
same facts their scripts will read from the file.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.urls import reverse

from hub.mosaics.listing import quicklook_file
from hub.mosaics.models import MosaicRequest, ProductFile

log = logging.getLogger(__name__)

METADATA_FILE = "metadata.json"
# Sentinel-2 scene ids carry their MGRS tile: S2A_29UNU_20230602_0_L2A, S2B_MSIL2A_..._T29UNU_...
_TILE = re.compile(r"(?:^|_)T?(\d{1,2}[C-HJ-NP-X][A-HJ-NP-Z]{2})(?=_|$)")
# The links a product page offers beside its files, by file name.
METADATA_LINKS = (("inspire.xml", "INSPIRE metadata (ISO 19139 XML)"),
                  ("metadata.json", "Metadata (JSON)"),
                  ("stac_item.json", "STAC Item"))

ALGORITHM_LABELS = {
    "method": "Method", "medoid_bands": "Medoid distance bands",
    "medoid_min_valid_observations": "Medoid threshold (valid observations)",
    "short_term_composite": "Short-term composite", "valid_scl_classes": "Valid SCL classes",
    "cloud_buffer_px": "Cloud and shadow buffer (pixels)",
    "stc_clear_distance_m": "STC prefers observations this far from detected clouds (m)",
    "max_view_zenith_deg": "Maximum mean view zenith (degrees)",
    "selection_stand_ins": "Stand-in bands for the selection",
}


@dataclass(frozen=True)
class Band:
    name: str
    description: str
    wavelength_nm: float | None
    scale: Any
    offset: Any
    nodata: Any
    dtype: str
    file: str
    index: Any


@dataclass(frozen=True)
class Source:
    index: str
    when: str
    platform: str
    tiles: list[str]
    baselines: list[str]
    scenes: list[str]


@dataclass
class ProductMetadata:
    """The readable facts of a product's metadata.json."""

    title: str = ""
    summary: str = ""
    facts: list[tuple[str, str]] = field(default_factory=list)
    bands: list[Band] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    algorithm: list[tuple[str, str]] = field(default_factory=list)
    attribution: str = ""
    corners: list[list[float]] | None = None  # quicklook's top-left, top-right, bottom-left
    bounds: list[float] | None = None  # west, south, east, north of the grid's corners
    change: dict[str, Any] = field(default_factory=dict)  # a change order's fitted comparison


def stored_path(product_file: ProductFile) -> Path | None:
    """The file on disk, or None when it is gone or would lie outside the media root."""
    root = Path(settings.HUB_MEDIA_ROOT).resolve()
    path = (root / product_file.path).resolve()
    return path if path.is_relative_to(root) and path.is_file() else None


def read_metadata(req: MosaicRequest) -> ProductMetadata | None:
    """The product's metadata, or None when it has no readable metadata.json."""
    entry = next((f for f in req.files.all() if f.name == METADATA_FILE), None)
    path = stored_path(entry) if entry else None
    return read_metadata_file(path) if path is not None else None


def read_metadata_file(path: Path) -> ProductMetadata | None:
    """A product's metadata.json wherever it is kept (product folder, catalogue), or None
    when it cannot be read."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        log.warning("metadata %s unreadable: %s", path, exc)
        return None
    return describe(doc) if isinstance(doc, dict) else None


def describe(doc: dict[str, Any]) -> ProductMetadata:
    """metadata.json (S2GM field names) as labelled, readable values."""
    geometry = doc.get("Geometry") or {}
    period = f"{doc.get('Compositing_period', '')}, {doc.get('Mosaicking_period_start', '')} " \
             f"to {doc.get('Mosaicking_period_end', '')}"
    facts = [
        ("Period", period),
        ("Acquisitions used", _span(doc.get("First_product_date"), doc.get("Last_product_date"))),
        ("Resolution", f"{doc['Resolution_distance']} m" if "Resolution_distance" in doc else ""),
        ("Coordinate system", crs_label(geometry.get("CRS", ""))),
        ("Image size", _size(geometry)),
        ("Sensors", doc.get("Sensor_list", "")),
        ("Product", doc.get("Processing_name", "")),
        ("Processing version", doc.get("processing_version") or doc.get("Processing_baseline", "")),
        ("Processing steps", doc.get("Processing_steps", "")),
        ("Created", doc.get("Date_of_creation", "")),
        ("Producer", ", ".join(v for v in (doc.get("Institution"), doc.get("Creator_email")) if v)),
    ]
    algorithm = doc.get("algorithm") or {}
    return ProductMetadata(
        title=doc.get("Title", ""), summary=doc.get("Summary", ""),
        facts=[(k, str(v)) for k, v in facts if v],
        bands=[_band(b) for b in doc.get("Band_interpretations") or [] if isinstance(b, dict)],
        sources=[_source(k, v) for k, v in (doc.get("Source_product_list") or {}).items()
                 if isinstance(v, dict)],
        algorithm=[(ALGORITHM_LABELS.get(k, k.replace("_", " ").capitalize()),
                    _algorithm_value(k, v))
                   for k, v in algorithm.items() if v not in (None, "", [], {})],
        attribution=doc.get("attribution", ""),
        corners=quicklook_corners(geometry.get("Boundary_WGS84")),
        bounds=ring_bounds(geometry.get("Boundary_WGS84")),
        change=doc["change"] if isinstance(doc.get("change"), dict) else {},
    )


def quicklook_corners(ring: Any) -> list[list[float]] | None:
    """[lat, lon] of the grid's top-left, top-right and bottom-left corners.

    `Boundary_WGS84` runs lower-left, upper-left, upper-right, lower-right (metadata.grid_ring);
    three corners fix the affine placement of the quicklook, which a bounding box cannot for a
    UTM grid (it is rotated against lon/lat).
    """
    try:
        lower_left, upper_left, upper_right = ring[0], ring[1], ring[2]
        return [[float(p[1]), float(p[0])] for p in (upper_left, upper_right, lower_left)]
    except (TypeError, IndexError, ValueError):
        return None


def ring_bounds(ring: Any) -> list[float] | None:
    """[west, south, east, north] of a lon/lat ring, or None when it is not one."""
    try:
        lons, lats = [float(p[0]) for p in ring], [float(p[1]) for p in ring]
        return [min(lons), min(lats), max(lons), max(lats)] if lons else None
    except (TypeError, IndexError, ValueError):
        return None


def map_data(req: MosaicRequest, metadata: ProductMetadata | None) -> dict[str, Any]:
    """What product_map.js draws: the AOI outline and the quicklook with its corners."""
    quicklook = quicklook_file(req.files.all())
    data: dict[str, Any] = {"aoi": req.options["aoi"], "quicklook": None}
    if quicklook is not None and metadata is not None and metadata.corners:
        data["quicklook"] = {"url": reverse("api-mosaic-file", args=[req.pk, quicklook.name]),
                             "corners": metadata.corners}
    return data


def metadata_links(req: MosaicRequest) -> list[tuple[str, str]]:
    """(label, url) of the product's metadata files, then the zip and metalink of everything."""
    names = {f.name for f in req.files.all()}
    links = [(label, reverse("api-mosaic-file", args=[req.pk, name]))
             for name, label in METADATA_LINKS if name in names]
    if names:
        links += [("All files (zip)", reverse("api-mosaic-zip", args=[req.pk])),
                  ("Metalink (.meta4) for download managers",
                   reverse("api-mosaic-metalink", args=[req.pk]))]
    return links


def crs_label(code: str) -> str:
    """'EPSG:32629 (WGS 84 / UTM zone 29N)'; the bare code when pyproj does not know it."""
    if not code:
        return ""
    try:
        from pyproj import CRS

        return f"{code} ({CRS.from_user_input(code).name})"
    except Exception:  # an unknown or malformed code is still worth showing as written
        return code


def tiles_of(scene_ids: list[str]) -> list[str]:
    """The MGRS tiles named in scene ids, in order of first appearance."""
    tiles: list[str] = []
    for scene in scene_ids:
        match = _TILE.search(scene)
        if match and match.group(1) not in tiles:
            tiles.append(match.group(1))
    return tiles


def _band(entry: dict[str, Any]) -> Band:
    nominal = (entry.get("Spectral_information") or {}).get("S2_nominal") or {}
    file_path = entry.get("File_path", "")
    return Band(name=entry.get("Name", ""), description=entry.get("Description", ""),
                wavelength_nm=nominal.get("Central_wavelength"),
                scale=entry.get("Scaling_factor", ""), offset=entry.get("Offset", ""),
                nodata=entry.get("No_data_value", ""), dtype=entry.get("Data_type", ""),
                file=file_path, index=entry.get("Band_index", ""))


def _source(index: str, entry: dict[str, Any]) -> Source:
    granules = [g for g in entry.get("granules") or [] if isinstance(g, dict)]
    scenes = [str(s) for s in entry.get("scenes") or []]
    baselines = sorted({str(g["processing_baseline"]) for g in granules
                        if g.get("processing_baseline")})
    return Source(index=str(index), when=str(entry.get("datetime", "")).replace("T", " "),
                  platform=str(entry.get("platform", "")), tiles=tiles_of(scenes),
                  baselines=baselines, scenes=scenes)


def _span(first: Any, last: Any) -> str:
    if not first:
        return ""
    return str(first) if first == last else f"{first} to {last}"


def _size(geometry: dict[str, Any]) -> str:
    width, height = geometry.get("Image_width"), geometry.get("Image_height")
    return f"{width} × {height} pixels" if width and height else ""


def _algorithm_value(key: str, value: Any) -> str:
    if key == "selection_stand_ins" and isinstance(value, dict):
        return ", ".join(f"{alt} for {band}" for band, alt in sorted(value.items()))
    return _text(value)


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)
