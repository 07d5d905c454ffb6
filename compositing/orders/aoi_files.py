"""An area of interest read from an uploaded file: GeoJSON, KML/KMZ or a zipped Shapefile.

Whatever the file, the result is one WGS 84 lon/lat geometry: the union of the file's polygons.
Points and lines are not areas and are counted as ignored; a file without any polygon is an
error. Invalid rings (self-touching, bow-ties) are repaired, keeping their polygonal parts, as
GIS tools do when they read such files. Sizes are bounded before anything is decompressed or
parsed: a zip's members by their declared size, and XML refuses DTDs (entity expansion).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from xml.etree import ElementTree
from xml.parsers import expat

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely.geometry import Polygon, shape
from shapely.geometry.base import BaseGeometry

from compositing.orders.shapefile import ShapefileError, read_polygons
from compositing.orders.spec import MAX_AOI_VERTICES

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_UNZIPPED_BYTES = 50 * 1024 * 1024
SUFFIXES = (".geojson", ".json", ".kml", ".kmz", ".zip")
WGS84 = CRS.from_epsg(4326)


class AoiFileError(ValueError):
    """The file cannot give an AOI; the message says why in words for the person uploading."""


@dataclass(frozen=True)
class AoiFile:
    """The AOI found in a file: its WGS 84 geometry and what was read to get it."""

    geometry: BaseGeometry
    kind: str  # "GeoJSON", "KML", "KMZ", "Shapefile"
    polygons: int
    ignored: int  # features that are not areas (points, lines)
    source_crs: str  # the file's CRS, as named by pyproj
    repaired: bool


def read_aoi_file(name: str, data: bytes, *, max_vertices: int = MAX_AOI_VERTICES) -> AoiFile:
    """The AOI of an uploaded file, chosen by its name's suffix; AoiFileError if unusable.

    `max_vertices` is the order's vertex limit (`spec.parse_aoi` applies it again to the
    result); here it also bounds what is parsed and unioned.
    """
    if len(data) > MAX_FILE_BYTES:
        raise AoiFileError(f"the file is {len(data) / 1e6:.1f} MB, over the limit of "
                           f"{MAX_FILE_BYTES / 1e6:.0f} MB")
    if not data.strip():
        raise AoiFileError("the file is empty")
    suffix = PurePosixPath(name.lower()).suffix
    if suffix in (".geojson", ".json"):
        polygons, ignored, crs = _geojson_polygons(data)
        kind = "GeoJSON"
    elif suffix == ".kml":
        polygons, ignored = _kml_polygons(data)
        kind, crs = "KML", WGS84
    elif suffix == ".kmz":
        kml = _zip_member(data, (".kml",), "KMZ", prefer="doc.kml")
        polygons, ignored = _kml_polygons(kml)
        kind, crs = "KMZ", WGS84
    elif suffix == ".zip":
        polygons, ignored, crs = _shapefile_polygons(data, max_vertices)
        kind = "Shapefile"
    else:
        raise AoiFileError(f"{suffix or 'a file without a suffix'} is not supported; upload "
                           "GeoJSON (.geojson, .json), KML (.kml, .kmz) or a zipped Shapefile "
                           "(.zip)")
    return _combine(polygons, ignored, crs, kind, max_vertices)


def _combine(polygons: list[BaseGeometry], ignored: int, crs: CRS, kind: str,
             max_vertices: int) -> AoiFile:
    if not polygons:
        found = f" (only {ignored} points or lines)" if ignored else ""
        raise AoiFileError(f"the {kind} file holds no polygon{found}; an AOI is an area")
    vertices = sum(shapely.get_num_coordinates(p) for p in polygons)
    if vertices > max_vertices:
        raise AoiFileError(f"the polygons have {vertices:,} vertices, over the limit of "
                           f"{max_vertices:,}; simplify them first")
    repaired = not all(p.is_valid for p in polygons)
    merged = shapely.union_all([shapely.make_valid(p) for p in polygons])
    area = _polygonal(merged)
    if area.is_empty:
        raise AoiFileError(f"the {kind} file's polygons have no area")
    if not crs.equals(WGS84, ignore_axis_order=True):
        area = _to_wgs84(area, crs)
    minx, miny, maxx, maxy = area.bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise AoiFileError("the coordinates are not longitude/latitude; a Shapefile needs its "
                           ".prj, GeoJSON is WGS 84 unless it names another CRS")
    return AoiFile(_rounded(area), kind, len(polygons), ignored, crs.name, repaired)


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    """The areas of a geometry (make_valid can leave lines and points beside them)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type in ("Polygon",
                                                                         "MultiPolygon")]
    return shapely.union_all(parts) if parts else Polygon()


def _to_wgs84(geom: BaseGeometry, crs: CRS) -> BaseGeometry:
    to_lonlat = Transformer.from_crs(crs, WGS84, always_xy=True)

    def reproject(coords: np.ndarray) -> np.ndarray:
        return np.column_stack(to_lonlat.transform(coords[:, 0], coords[:, 1]))

    # Densify first: straight edges in a projected CRS are curves in lon/lat.
    minx, miny, maxx, maxy = geom.bounds
    step = max(maxx - minx, maxy - miny) / 64 or 1.0
    return shapely.transform(geom.segmentize(step), reproject)


def _rounded(geom: BaseGeometry) -> BaseGeometry:
    """1e-7 degrees (about 1 cm): enough for an AOI, and half the text of full doubles."""
    return shapely.set_precision(geom, 1e-7)


# ---------------------------------------------------------------- GeoJSON


def _geojson_polygons(data: bytes) -> tuple[list[BaseGeometry], int, CRS]:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AoiFileError(f"the file is not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or "type" not in doc:
        raise AoiFileError("the JSON is not GeoJSON (no 'type' member)")
    crs = _geojson_crs(doc)
    polygons: list[BaseGeometry] = []
    ignored = 0
    for geometry in _geojson_geometries(doc):
        try:
            geom = shape(geometry)
        except Exception as exc:  # shapely raises several types for malformed coordinates
            raise AoiFileError(f"invalid GeoJSON geometry: {exc}") from None
        found = _areas(geom)
        polygons.extend(found)
        ignored += 0 if found else 1
    return polygons, ignored, crs


def _geojson_geometries(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    kind = doc.get("type")
    if kind == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list):
            raise AoiFileError("the FeatureCollection has no 'features' list")
        for feature in features:
            if isinstance(feature, dict):
                yield from _geojson_geometries(feature)
    elif kind == "Feature":
        if isinstance(doc.get("geometry"), dict):
            yield from _geojson_geometries(doc["geometry"])
    elif kind == "GeometryCollection":
        for geometry in doc.get("geometries") or []:
            if isinstance(geometry, dict):
                yield from _geojson_geometries(geometry)
    elif kind in ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                  "MultiPolygon"):
        yield doc
    else:
        raise AoiFileError(f"{kind!r} is not a GeoJSON type")


def _geojson_crs(doc: dict[str, Any]) -> CRS:
    """RFC 7946 GeoJSON is WGS 84; the older 2008 spec let a file name its CRS, and QGIS and
    ogr2ogr still write that member for projected data."""
    named = (doc.get("crs") or {}).get("properties", {}).get("name") if isinstance(
        doc.get("crs"), dict) else None
    if not named:
        return WGS84
    try:
        return CRS.from_user_input(named)
    except CRSError:
        raise AoiFileError(f"the GeoJSON names an unknown CRS {named!r}") from None


def _areas(geom: BaseGeometry) -> list[BaseGeometry]:
    if geom.geom_type == "Polygon":
        return [geom]
    if geom.geom_type == "MultiPolygon":
        return list(geom.geoms)
    return []


# ---------------------------------------------------------------- KML


def _kml_polygons(data: bytes) -> tuple[list[BaseGeometry], int]:
    _refuse_dtd(data)
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise AoiFileError(f"the file is not valid XML: {exc}") from None
    if _local(root.tag) != "kml":
        raise AoiFileError(f"the XML's root is <{_local(root.tag)}>, not <kml>")
    polygons: list[BaseGeometry] = []
    for element in root.iter():
        if _local(element.tag) == "Polygon":
            polygons.append(_kml_polygon(element))
    ignored = sum(1 for e in root.iter() if _local(e.tag) in ("Point", "LineString"))
    return polygons, ignored


def _refuse_dtd(data: bytes) -> None:
    """Refuse a document type declaration: ElementTree expands internal entities (a billion
    laughs), and KML never needs one. Expat itself looks, so the check holds in every
    encoding it reads (UTF-16 hides `<!DOCTYPE` from a byte search)."""

    def refuse(*_: Any) -> None:
        raise AoiFileError("the KML declares a DTD or entities, which KML never needs")

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    try:
        parser.Parse(data, True)
    except AoiFileError:
        raise
    except expat.ExpatError as exc:
        raise AoiFileError(f"the file is not valid XML: {expat.ErrorString(exc.code)} "
                           f"(line {exc.lineno})") from None
    except (ValueError, LookupError) as exc:  # an encoding expat cannot read
        raise AoiFileError(f"the file's encoding cannot be read ({exc}); save it as "
                           "UTF-8") from None


def _kml_polygon(element: ElementTree.Element) -> Polygon:
    outer: list[tuple[float, float]] | None = None
    holes = []
    for boundary in element:
        kind = _local(boundary.tag)
        if kind not in ("outerBoundaryIs", "innerBoundaryIs"):
            continue
        ring = next((_kml_coordinates(e.text or "") for e in boundary.iter()
                     if _local(e.tag) == "coordinates"), [])
        if kind == "outerBoundaryIs":
            outer = ring
        elif len(ring) >= 3:
            holes.append(ring)
    if not outer or len(outer) < 3:
        raise AoiFileError("a KML Polygon has no outer boundary of three or more points")
    return Polygon(outer, holes)


def _kml_coordinates(text: str) -> list[tuple[float, float]]:
    """KML's 'lon,lat[,alt]' tuples separated by whitespace."""
    points = []
    for item in text.split():
        values = item.split(",")
        try:
            points.append((float(values[0]), float(values[1])))
        except (IndexError, ValueError):
            raise AoiFileError(f"KML coordinates {item!r} are not 'lon,lat[,alt]'") from None
    return points


def _local(tag: str) -> str:
    """An element's name without its namespace (KML 2.0, 2.1, 2.2 and none are all in use)."""
    return tag.rsplit("}", 1)[-1]


# ---------------------------------------------------------------- zipped Shapefile


def _shapefile_polygons(data: bytes, max_vertices: int) -> tuple[list[BaseGeometry], int, CRS]:
    archive = _open_zip(data, "zipped Shapefile")
    names = [n for n in archive.namelist() if not n.endswith("/")
             and not PurePosixPath(n).name.startswith(".") and "__MACOSX" not in n]
    shps = [n for n in names if n.lower().endswith(".shp")]
    if not shps:
        raise AoiFileError("the zip holds no .shp file (a Shapefile is .shp, .shx, .dbf and "
                           "usually .prj)")
    polygons: list[BaseGeometry] = []
    ignored = 0
    crs: CRS | None = None
    for shp in shps:
        try:
            found, skipped = read_polygons(_read_member(archive, shp), max_vertices)
        except ShapefileError as exc:
            raise AoiFileError(f"{PurePosixPath(shp).name}: {exc}") from None
        layer_crs = _prj_crs(archive, shp, names)
        if crs is not None and found and not layer_crs.equals(crs, ignore_axis_order=True):
            raise AoiFileError("the zip's Shapefiles are in different coordinate systems; "
                               "upload one at a time")
        crs = layer_crs if found else crs
        polygons.extend(found)
        ignored += skipped
    return polygons, ignored, crs or WGS84


def _prj_crs(archive: zipfile.ZipFile, shp: str, names: Iterable[str]) -> CRS:
    stem = shp[:-4].lower()
    prj = next((n for n in names if n.lower() == stem + ".prj"), None)
    if prj is None:
        return WGS84
    text = _read_member(archive, prj).decode("utf-8", errors="replace").strip()
    try:
        return CRS.from_wkt(text)
    except CRSError:
        raise AoiFileError(f"{PurePosixPath(prj).name} is not a coordinate system pyproj "
                           "can read") from None


# ---------------------------------------------------------------- zip archives


def _open_zip(data: bytes, what: str) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise AoiFileError(f"the file is not a valid zip ({what})") from None
    total = sum(info.file_size for info in archive.infolist())
    if total > MAX_UNZIPPED_BYTES:
        raise AoiFileError(f"the zip unpacks to {total / 1e6:.0f} MB, over the limit of "
                           f"{MAX_UNZIPPED_BYTES / 1e6:.0f} MB")
    return archive


def _read_member(archive: zipfile.ZipFile, name: str) -> bytes:
    try:
        # The declared sizes were checked; read no more than declared in case they lie.
        with archive.open(name) as member:
            data = member.read(MAX_UNZIPPED_BYTES + 1)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise AoiFileError(f"cannot unpack {name} from the zip: {exc}") from None
    if len(data) > MAX_UNZIPPED_BYTES:
        raise AoiFileError(f"{name} unpacks to more than {MAX_UNZIPPED_BYTES / 1e6:.0f} MB")
    return data


def _zip_member(data: bytes, suffixes: tuple[str, ...], what: str, prefer: str) -> bytes:
    archive = _open_zip(data, what)
    names = [n for n in archive.namelist() if n.lower().endswith(suffixes)]
    if not names:
        raise AoiFileError(f"the {what} holds no {' or '.join(suffixes)} file")
    name = next((n for n in names if PurePosixPath(n).name.lower() == prefer), names[0])
    return _read_member(archive, name)
