"""An area of interest read from an uploaded file: GeoJSON, KML/KMZ or a zipped Shapefile.

Whatever the file, the result is one WGS 84 lon/lat geometry: the union of the file's polygons.
Points and lines are not areas and are counted as ignored; a file without any polygon is an
error. Invalid rings (self-touching, bow-ties) are repaired, keeping their polygonal parts, as
GIS tools do when they read such files.

No upload may hold a web worker for more than about a second of CPU, so everything whose count
drives the work is bounded, and refused as soon as it passes its limit: the file's size; a
zip's members (their number, their declared sizes, before anything is unpacked); the
features, records or placemarks read, and their vertices (counted before they are built); XML
elements and nesting (counted by expat before a tree is built; DTDs are refused, against
entity expansion); GeoJSON nesting. `bench/uploads.py` measures the hostile cases.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, NoReturn
from xml.etree import ElementTree
from xml.parsers import expat

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely.geometry import Polygon, shape
from shapely.geometry.base import BaseGeometry

from compositing.orders.shapefile import ShapefileError, ShapefileLimitError, read_polygons
from compositing.orders.spec import MAX_AOI_VERTICES

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_UNZIPPED_BYTES = 50 * 1024 * 1024  # a zip's members, as declared (unread .dbf included)
MAX_MEMBERS = 200  # files in a zip: dozens of Shapefile layers of 7 or 8 files each
MAX_PRJ_BYTES = 64 * 1024  # a .prj is one WKT string of a few hundred bytes
MAX_FEATURES = 20_000  # GeoJSON geometries, Shapefile records (null ones too), KML geometries
MAX_XML_ELEMENTS = 200_000
MAX_DEPTH = 64  # XML elements, GeoJSON nesting: a KML in folders is a dozen deep
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


class _Budget:
    """What is left to read of one upload: vertices and features, spent as they are found."""

    def __init__(self, vertices: int, features: int = MAX_FEATURES) -> None:
        self.vertices, self.features = vertices, features
        self.max_vertices, self.max_features = vertices, features

    def spend(self, *, vertices: int = 0, features: int = 0) -> None:
        self.vertices -= vertices
        self.features -= features
        if self.vertices < 0:
            self.exceeded("vertices")
        if self.features < 0:
            self.exceeded("features")

    def exceeded(self, what: str) -> NoReturn:
        if what == "vertices":
            raise AoiFileError(f"the file has more than {self.max_vertices:,} vertices, the "
                               "limit; simplify it first")
        raise AoiFileError(f"the file has more than {self.max_features:,} {what}, the limit "
                           "(points, lines and empty records included); keep only the areas")


def read_aoi_file(name: str, data: bytes, *, max_vertices: int = MAX_AOI_VERTICES,
                  max_members: int = MAX_MEMBERS) -> AoiFile:
    """The AOI of an uploaded file, chosen by its name's suffix; AoiFileError if unusable.

    `max_vertices` is the order's vertex limit (`spec.parse_aoi` applies it again to the
    result); here it also bounds what is parsed and unioned. `max_members` bounds the files
    in a zip (Shapefile, KMZ).
    """
    if len(data) > MAX_FILE_BYTES:
        raise AoiFileError(f"the file is {len(data) / 1e6:.1f} MB, over the limit of "
                           f"{MAX_FILE_BYTES / 1e6:.0f} MB")
    if not data.strip():
        raise AoiFileError("the file is empty")
    suffix = PurePosixPath(name.lower()).suffix
    budget = _Budget(max_vertices)
    if suffix in (".geojson", ".json"):
        polygons, ignored, crs = _geojson_polygons(data, budget)
        kind = "GeoJSON"
    elif suffix == ".kml":
        polygons, ignored = _kml_polygons(data, budget)
        kind, crs = "KML", WGS84
    elif suffix == ".kmz":
        kml = _zip_member(data, (".kml",), "KMZ", prefer="doc.kml", max_members=max_members)
        polygons, ignored = _kml_polygons(kml, budget)
        kind, crs = "KMZ", WGS84
    elif suffix == ".zip":
        polygons, ignored, crs = _shapefile_polygons(data, budget, max_members)
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


def _geojson_polygons(data: bytes, budget: _Budget) -> tuple[list[BaseGeometry], int, CRS]:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AoiFileError(f"the file is not valid JSON: {exc}") from None
    except RecursionError:  # the C decoder stops at the interpreter's recursion limit
        raise AoiFileError("the JSON is nested too deeply to be GeoJSON") from None
    if not isinstance(doc, dict) or "type" not in doc:
        raise AoiFileError("the JSON is not GeoJSON (no 'type' member)")
    crs = _geojson_crs(doc)
    polygons: list[BaseGeometry] = []
    ignored = 0
    for geometry in _geojson_geometries(doc):
        budget.spend(features=1)
        if geometry["type"] not in ("Polygon", "MultiPolygon"):
            ignored += 1  # not an area: nothing of it is needed, so nothing is built
            continue
        budget.spend(vertices=_positions(geometry))
        try:
            geom = shape(geometry)
        except Exception as exc:  # shapely raises several types for malformed coordinates
            raise AoiFileError(f"invalid GeoJSON geometry: {exc}") from None
        polygons.extend(_areas(geom))
    return polygons, ignored, crs


def _positions(geometry: dict[str, Any]) -> int:
    """The positions of a Polygon or MultiPolygon, counted before shapely builds them (0 for
    malformed coordinates, which shapely then refuses)."""
    coordinates = geometry.get("coordinates")
    polygons = coordinates if geometry["type"] == "MultiPolygon" else [coordinates]
    if not isinstance(polygons, list):
        return 0
    return sum(len(ring) for polygon in polygons if isinstance(polygon, list)
               for ring in polygon if isinstance(ring, list))


def _geojson_geometries(doc: dict[str, Any], depth: int = 0) -> Iterator[dict[str, Any]]:
    if depth > MAX_DEPTH:
        raise AoiFileError(f"the GeoJSON nests collections more than {MAX_DEPTH} deep")
    kind = doc.get("type")
    if kind == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list):
            raise AoiFileError("the FeatureCollection has no 'features' list")
        for feature in features:
            if isinstance(feature, dict):
                yield from _geojson_geometries(feature, depth + 1)
    elif kind == "Feature":
        if isinstance(doc.get("geometry"), dict):
            yield from _geojson_geometries(doc["geometry"], depth + 1)
    elif kind == "GeometryCollection":
        geometries = doc.get("geometries") or []
        for geometry in geometries if isinstance(geometries, list) else []:
            if isinstance(geometry, dict):
                yield from _geojson_geometries(geometry, depth + 1)
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


def _kml_polygons(data: bytes, budget: _Budget) -> tuple[list[BaseGeometry], int]:
    _check_xml(data)
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise AoiFileError(f"the file is not valid XML: {exc}") from None
    if _local(root.tag) != "kml":
        raise AoiFileError(f"the XML's root is <{_local(root.tag)}>, not <kml>")
    polygons: list[BaseGeometry] = []
    ignored = 0
    for element in root.iter():
        kind = _local(element.tag)
        if kind == "Polygon":
            budget.spend(features=1)
            polygons.append(_kml_polygon(element, budget))
        elif kind in ("Point", "LineString"):
            budget.spend(features=1)
            ignored += 1
    return polygons, ignored


def _check_xml(data: bytes) -> None:
    """Refuse a document type declaration: ElementTree expands internal entities (a billion
    laughs), and KML never needs one. Expat itself looks, so the check holds in every
    encoding it reads (UTF-16 hides `<!DOCTYPE` from a byte search). Count elements and
    their depth on the way, stopping at the first over a limit, before a tree is built."""

    def refuse(*_: Any) -> None:
        raise AoiFileError("the KML declares a DTD or entities, which KML never needs")

    elements = depth = 0

    def start(*_: Any) -> None:
        nonlocal elements, depth
        elements, depth = elements + 1, depth + 1
        if elements > MAX_XML_ELEMENTS:
            raise AoiFileError(f"the KML has more than {MAX_XML_ELEMENTS:,} elements")
        if depth > MAX_DEPTH:
            raise AoiFileError(f"the KML nests elements more than {MAX_DEPTH} deep")

    def end(_: str) -> None:
        nonlocal depth
        depth -= 1

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = end
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


def _kml_polygon(element: ElementTree.Element, budget: _Budget) -> Polygon:
    outer: list[tuple[float, float]] | None = None
    holes = []
    for boundary in element:
        kind = _local(boundary.tag)
        if kind not in ("outerBoundaryIs", "innerBoundaryIs"):
            continue
        ring = next((_kml_coordinates(e.text or "", budget) for e in boundary.iter()
                     if _local(e.tag) == "coordinates"), [])
        if kind == "outerBoundaryIs":
            outer = ring
        elif len(ring) >= 3:
            holes.append(ring)
    if not outer or len(outer) < 3:
        raise AoiFileError("a KML Polygon has no outer boundary of three or more points")
    return Polygon(outer, holes)


def _kml_coordinates(text: str, budget: _Budget) -> list[tuple[float, float]]:
    """KML's 'lon,lat[,alt]' tuples separated by whitespace."""
    items = text.split()
    budget.spend(vertices=len(items))
    points = []
    for item in items:
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


def _shapefile_polygons(data: bytes, budget: _Budget,
                        max_members: int) -> tuple[list[BaseGeometry], int, CRS]:
    archive = _open_zip(data, "zipped Shapefile", max_members)
    members = {info.filename.lower(): info for info in archive.infolist()
               if not info.is_dir() and not PurePosixPath(info.filename).name.startswith(".")
               and "__MACOSX" not in info.filename}
    shps = [info for lower, info in members.items() if lower.endswith(".shp")]
    if not shps:
        raise AoiFileError("the zip holds no .shp file (a Shapefile is .shp, .shx, .dbf and "
                           "usually .prj)")
    polygons: list[BaseGeometry] = []
    ignored = 0
    crs: CRS | None = None
    for shp in shps:
        try:
            layer = read_polygons(_read_member(archive, shp), max_points=budget.vertices,
                                  max_records=budget.features)
        except ShapefileLimitError as exc:  # the limit is the upload's, over all its layers
            budget.exceeded(exc.what)
        except ShapefileError as exc:
            raise AoiFileError(f"{PurePosixPath(shp.filename).name}: {exc}") from None
        budget.spend(vertices=layer.points, features=layer.records)
        # The .prj beside it, found by name in the index: one look-up, not a scan per layer.
        prj = members.get(shp.filename[:-4].lower() + ".prj")
        layer_crs = _prj_crs(archive, prj) if prj is not None else WGS84
        found = layer.polygons
        if crs is not None and found and not layer_crs.equals(crs, ignore_axis_order=True):
            raise AoiFileError("the zip's Shapefiles are in different coordinate systems; "
                               "upload one at a time")
        crs = layer_crs if found else crs
        polygons.extend(found)
        ignored += layer.skipped
    return polygons, ignored, crs or WGS84


def _prj_crs(archive: zipfile.ZipFile, prj: zipfile.ZipInfo) -> CRS:
    text = _read_member(archive, prj, MAX_PRJ_BYTES).decode("utf-8", errors="replace").strip()
    try:
        return CRS.from_wkt(text)
    except CRSError:
        raise AoiFileError(f"{PurePosixPath(prj.filename).name} is not a coordinate system "
                           "pyproj can read") from None


# ---------------------------------------------------------------- zip archives


def _open_zip(data: bytes, what: str, max_members: int) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise AoiFileError(f"the file is not a valid zip ({what})") from None
    members = archive.infolist()
    if len(members) > max_members:
        raise AoiFileError(f"the zip holds {len(members):,} files, over the limit of "
                           f"{max_members:,}")
    total = sum(info.file_size for info in members)
    if total > MAX_UNZIPPED_BYTES:
        raise AoiFileError(f"the zip unpacks to {total / 1e6:.0f} MB, over the limit of "
                           f"{MAX_UNZIPPED_BYTES / 1e6:.0f} MB")
    return archive


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo,
                 limit: int = MAX_FILE_BYTES) -> bytes:
    """A member's bytes, if it unpacks to no more than `limit` (a file read from a zip is
    bounded as if it had been uploaded by itself)."""
    if info.file_size > limit:
        raise AoiFileError(f"{info.filename} unpacks to {info.file_size / 1e6:.1f} MB, over "
                           f"the limit of {limit / 1e6:.1f} MB")
    try:
        # zipfile stops at the declared size and checks the CRC, but read no more regardless.
        with archive.open(info) as member:
            data = member.read(limit + 1)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise AoiFileError(f"cannot unpack {info.filename} from the zip: {exc}") from None
    if len(data) > limit:
        raise AoiFileError(f"{info.filename} unpacks to more than {limit / 1e6:.1f} MB")
    return data


def _zip_member(data: bytes, suffixes: tuple[str, ...], what: str, prefer: str,
                max_members: int) -> bytes:
    archive = _open_zip(data, what, max_members)
    found = [i for i in archive.infolist() if i.filename.lower().endswith(suffixes)]
    if not found:
        raise AoiFileError(f"the {what} holds no {' or '.join(suffixes)} file")
    info = next((i for i in found if PurePosixPath(i.filename).name.lower() == prefer),
                found[0])
    return _read_member(archive, info)
