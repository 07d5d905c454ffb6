"""Footprints: parse GeoJSON or a bbox into a valid lon/lat geometry (shapely)."""

from __future__ import annotations

import json
import re
from typing import Any

import shapely
from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
AREAL_TYPES = ("Polygon", "MultiPolygon")


class FootprintError(ValueError):
    """A footprint that is not a valid lon/lat polygon."""


def _from_bbox(values: list[Any]) -> BaseGeometry:
    """A polygon from [west, south, east, north]."""
    if len(values) != 4:
        raise FootprintError("a bbox needs four numbers: west,south,east,north")
    try:
        west, south, east, north = (float(v) for v in values)
    except (TypeError, ValueError):
        raise FootprintError("a bbox needs four numbers: west,south,east,north") from None
    if not (west < east and south < north):
        raise FootprintError("a bbox needs west < east and south < north")
    return box(west, south, east, north)


def _parse(value: Any) -> BaseGeometry:
    """A shapely geometry from a GeoJSON object/string or a bbox list/string."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise FootprintError("the footprint is empty")
        if text.startswith("{") or text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise FootprintError(f"the footprint is not valid JSON: {exc.msg}") from None
        else:
            return _from_bbox(text.split(","))
    if isinstance(value, list):
        return _from_bbox(value)
    if not isinstance(value, dict):
        raise FootprintError("the footprint must be a GeoJSON geometry or a bbox")
    if value.get("type") == "Feature":
        value = value.get("geometry") or {}
    if value.get("type") not in AREAL_TYPES:
        raise FootprintError("the footprint must be a Polygon or MultiPolygon")
    try:
        return shape(value)
    except (AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:
        raise FootprintError(f"the footprint is not valid GeoJSON: {exc}") from None


def parse_footprint(value: Any) -> dict[str, Any]:
    """The footprint as a normalised GeoJSON geometry, or FootprintError."""
    geom = _parse(value)
    if geom.is_empty:
        raise FootprintError("the footprint is empty")
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        raise FootprintError(f"the footprint is not a valid polygon: {reason}")
    west, south, east, north = geom.bounds
    if west < -180 or east > 180 or south < -90 or north > 90:
        raise FootprintError("the footprint must lie within lon -180..180 and lat -90..90")
    # Round-trip through JSON so that stored and re-parsed footprints compare equal.
    return json.loads(shapely.to_geojson(geom))


def footprint_bbox(footprint: dict[str, Any]) -> list[float]:
    """[west, south, east, north] of a stored footprint."""
    return list(shape(footprint).bounds)
