"""Polygons from ESRI Shapefile `.shp` bytes: only what an AOI needs, in pure Python.

The format (ESRI Shapefile Technical Description, 1998): a 100-byte header, then records of
a big-endian header (number, content length in 16-bit words) and a little-endian shape. An
area is a Polygon (type 5), PolygonZ (15) or PolygonM (25) whose parts are rings: outer rings
run clockwise, holes anticlockwise. The Z and M values after the rings are not needed.
Attributes (.dbf) and the index (.shx) are not needed either.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from shapely.geometry import LinearRing, Polygon

FILE_CODE = 9994
POLYGON_TYPES = {5: "Polygon", 15: "PolygonZ", 25: "PolygonM"}
NULL_SHAPE = 0
HEADER_SIZE = 100
_FILE_HEADER = struct.Struct(">7i")  # big-endian: file code, 5 unused, length in 16-bit words
_SHAPE_HEADER = struct.Struct("<2i")  # little-endian from byte 28: version, shape type
_RECORD_HEADER = struct.Struct(">2i")
_POLY_HEADER = struct.Struct("<i4d2i")  # shape type, bbox, number of parts, number of points


class ShapefileError(ValueError):
    """The .shp bytes are not a readable polygon shapefile; the message says why."""


class ShapefileLimitError(ShapefileError):
    """The .shp file holds more of `what` ("vertices" or "records") than the caller allowed."""

    def __init__(self, what: str, limit: int) -> None:
        super().__init__(f"the shapefile has more than {limit:,} {what}")
        self.what = what


class Layer(NamedTuple):
    """What a .shp file gave: its polygons, the records that are not areas, and the records and
    vertices read (which the caller counts against its limits)."""

    polygons: list[Polygon]
    skipped: int
    records: int
    points: int


def read_polygons(data: bytes, max_points: int | None = None,
                  max_records: int | None = None) -> Layer:
    """The polygons of a .shp file (one per ring group) and what was read to get them.

    With max_points or max_records, a file holding more vertices or records (null ones
    included) is refused before they are all unpacked: each record costs time to read.
    """
    if len(data) < HEADER_SIZE:
        raise ShapefileError("the .shp file is shorter than its 100-byte header")
    header = _FILE_HEADER.unpack_from(data, 0)
    if header[0] != FILE_CODE:
        raise ShapefileError("the .shp file does not start with the shapefile code 9994")
    _, shape_type = _SHAPE_HEADER.unpack_from(data, 28)
    if shape_type not in POLYGON_TYPES and shape_type != NULL_SHAPE:
        raise ShapefileError(f"the shapefile holds shape type {shape_type}, not polygons "
                             "(types 5, 15, 25)")
    end = min(len(data), header[6] * 2)
    polygons: list[Polygon] = []
    skipped = points = records = 0
    offset = HEADER_SIZE
    while offset + _RECORD_HEADER.size <= end:
        records += 1
        if max_records is not None and records > max_records:
            raise ShapefileLimitError("records", max_records)
        number, words = _RECORD_HEADER.unpack_from(data, offset)
        start, offset = offset + _RECORD_HEADER.size, offset + _RECORD_HEADER.size + words * 2
        if offset > len(data) or words < 2:
            raise ShapefileError(f"record {number} runs past the end of the .shp file")
        (kind,) = struct.unpack_from("<i", data, start)
        if kind == NULL_SHAPE:
            continue
        if kind not in POLYGON_TYPES:
            skipped += 1
            continue
        if offset - start > 44:
            points += max(0, struct.unpack_from("<i", data, start + 40)[0])
            if max_points is not None and points > max_points:
                raise ShapefileLimitError("vertices", max_points)
        polygons.extend(_record_polygons(data[start:offset], number))
    return Layer(polygons, skipped, records, points)


def _record_polygons(record: bytes, number: int) -> list[Polygon]:
    if len(record) < _POLY_HEADER.size:
        raise ShapefileError(f"record {number} is too short for a polygon")
    _, *_bbox, n_parts, n_points = _POLY_HEADER.unpack_from(record, 0)
    parts_at = _POLY_HEADER.size
    points_at = parts_at + 4 * n_parts
    if n_parts < 1 or n_points < 0 or points_at + 16 * n_points > len(record):
        raise ShapefileError(f"record {number} has {n_parts} parts and {n_points} points, more "
                             "than its length holds")
    starts = list(struct.unpack_from(f"<{n_parts}i", record, parts_at))
    coords = struct.unpack_from(f"<{2 * n_points}d", record, points_at)
    points = list(zip(coords[0::2], coords[1::2], strict=True))
    rings = []
    for first, stop in zip(starts, [*starts[1:], n_points], strict=True):
        if not 0 <= first < stop <= n_points:
            raise ShapefileError(f"record {number} has part offsets out of order")
        if stop - first >= 4:
            rings.append(LinearRing(points[first:stop]))
    return assemble(rings)


def assemble(rings: list[LinearRing]) -> list[Polygon]:
    """Polygons from rings: clockwise rings are outer boundaries, the others holes of the
    smallest outer ring that contains them (a hole outside every outer ring is kept as an
    area of its own, as GDAL does for files written with the wrong orientation)."""
    outers = [r for r in rings if not r.is_ccw]
    holes = [r for r in rings if r.is_ccw]
    if not outers:
        return [Polygon(r) for r in holes]
    shells = sorted(((Polygon(r), r) for r in outers), key=lambda p: p[0].area)
    assigned: dict[int, list[LinearRing]] = {i: [] for i in range(len(shells))}
    loose = []
    for hole in holes:
        inside = next((i for i, (shell, _) in enumerate(shells)
                       if shell.contains(Polygon(hole).representative_point())), None)
        if inside is None:
            loose.append(Polygon(hole))
        else:
            assigned[inside].append(hole)
    return [Polygon(ring, assigned[i]) for i, (_, ring) in enumerate(shells)] + loose
