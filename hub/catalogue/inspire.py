"""INSPIRE (ISO 19139) records of catalogue items, written by the mosaics' record builder."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import PurePosixPath

from django.conf import settings
from django.utils import timezone

from compositing.products.inspire import (
    CONDITIONS_UNKNOWN,
    INSPIRE_THEME_URI,
    Constraint,
    OnlineResource,
    RecordDescription,
    record_xml,
)
from compositing.products.metadata import Contact
from hub.catalogue.geometry import footprint_bbox
from hub.catalogue.models import Item, ItemFile

# The catalogue's themes (models.Theme values) as INSPIRE themes (label, GEMET code) and
# ISO 19115 topic categories.
THEMES: dict[str, tuple[str, str, str]] = {
    "vegetation": ("Land cover", "lc", "biota"),
    "energy": ("Meteorological geographical features", "mf",
               "climatologyMeteorologyAtmosphere"),
    "water": ("Hydrography", "hy", "inlandWaters"),
    "cryosphere": ("Hydrography", "hy", "climatologyMeteorologyAtmosphere"),
    "land-cover": ("Land cover", "lc", "imageryBaseMapsEarthCover"),
    "imagery": ("Orthoimagery", "oi", "imageryBaseMapsEarthCover"),
}
FORMATS: dict[str, tuple[str, str]] = {
    ".nc": ("NetCDF-4", "CF-1.6 or later"),
    ".tif": ("GeoTIFF", "1.0"), ".tiff": ("GeoTIFF", "1.0"),
    ".jp2": ("JPEG 2000", "ISO/IEC 15444-1"),
    ".h5": ("HDF5", "unknown"),
    ".zip": ("ZIP", "unknown"),
}
# The CLMS products are global lon/lat grids (Plate Carrée on WGS 84): an item's coordinate
# system unless it names its own (Item.epsg).
CATALOGUE_EPSG = 4326
CLMS = "Copernicus Land Monitoring Service"
_RESOLUTION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|km)\s*$")


def resolution_metres(text: str) -> float | None:
    """"300 m" -> 300, "1 km" -> 1000; None for anything else (e.g. "0.1 degree")."""
    match = _RESOLUTION.match(text)
    if match is None:
        return None
    value = float(match.group(1)) * (1000 if match.group(2) == "km" else 1)
    return int(value) if value.is_integer() else value


def describe_item(found: Item, file_url: Callable[[ItemFile], str]) -> RecordDescription:
    """The record of a catalogue item; `file_url` gives the absolute URL of one of its files."""
    family = found.family
    label, code, topic = THEMES.get(family.theme, THEMES["imagery"])
    files = list(found.files.all())
    formats = tuple(dict.fromkeys(FORMATS[s] for s in
                                  (PurePosixPath(f.name).suffix.lower() for f in files)
                                  if s in FORMATS))
    resolutions = ([found.resolution_m] if found.resolution_m
                   else [resolution_metres(r) for r in family.resolutions])
    west, south, east, north = footprint_bbox(found.footprint)
    use = [Constraint(family.licence) if family.licence
           else Constraint(CONDITIONS_UNKNOWN[0], CONDITIONS_UNKNOWN[1])]
    if found.credit:
        use.append(Constraint(f'Attribution: "{found.credit}".'))
    return RecordDescription(
        identifier=found.identifier,
        title=f"{family.name} {found.start:%Y-%m-%d} to {found.end:%Y-%m-%d}",
        abstract=found.description or _abstract(found),
        contact=Contact(settings.HUB_CONTACT_NAME, settings.HUB_ORGANISATION,
                        settings.HUB_CONTACT_EMAIL),
        created=found.end, metadata_date=timezone.now().date(),
        bbox=(west, south, east, north), start=found.start, end=found.end,
        lineage=found.lineage or _lineage(found), epsg=found.epsg or CATALOGUE_EPSG,
        formats=formats, online=tuple(OnlineResource(file_url(f), f.name) for f in files),
        resolutions_m=tuple(r for r in resolutions if r is not None),
        theme=(label, INSPIRE_THEME_URI.format(code=code)), topic_category=topic,
        keywords=("Copernicus", family.name if family.made_here else CLMS, family.variable,
                  family.get_theme_display()),
        credit=found.credit or None, use_conditions=tuple(use),
    )


def item_xml(found: Item, file_url: Callable[[ItemFile], str]) -> bytes:
    """The item's ISO 19139 / INSPIRE TG 2.0 record, UTF-8 encoded."""
    return record_xml(describe_item(found, file_url))


def _abstract(found: Item) -> str:
    family = found.family
    text = (f"{family.name} ({family.variable}) for {found.start:%Y-%m-%d} to "
            f"{found.end:%Y-%m-%d}")
    details = ", ".join(part for part in (
        f"resolution {' / '.join(family.resolutions)}" if family.resolutions else "",
        family.temporal_frequency, f"coverage {family.coverage}" if family.coverage else "",
    ) if part)
    text += f" ({details})." if details else "."
    return f"{text} {family.description}".strip()


def _lineage(found: Item) -> str:
    family = found.family
    documents = [str(d) for d in family.documents.all()]
    producer = "Product" if family.made_here else f"{CLMS} product"
    text = (f"{producer} {found.identifier} of the "
            f"{family.name} family, listed in the Mosaic Hub land-product catalogue.")
    if documents:
        text += f" Production and validation are described in: {'; '.join(documents)}."
    return text
