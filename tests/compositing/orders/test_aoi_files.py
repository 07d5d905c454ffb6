"""AOI files: GeoJSON, KML, KMZ and zipped Shapefiles (written byte by byte here) to WGS 84."""

from __future__ import annotations

import io
import json
import struct
import zipfile

import pytest
from pyproj import CRS, Transformer
from shapely.geometry import Polygon, box

from compositing.orders.aoi_files import MAX_UNZIPPED_BYTES, AoiFileError, read_aoi_file

SQUARE = [(-7.5, 52.7), (-7.4, 52.7), (-7.4, 52.8), (-7.5, 52.8), (-7.5, 52.7)]
OTHER = [(-7.2, 52.7), (-7.1, 52.7), (-7.1, 52.8), (-7.2, 52.8), (-7.2, 52.7)]


def geojson(doc) -> bytes:
    return json.dumps(doc).encode()


def polygon(ring):
    return {"type": "Polygon", "coordinates": [[list(p) for p in ring]]}


# ---------------------------------------------------------------- shapefile writing (the spec)


def shp_bytes(records: list[list[list[tuple[float, float]]]], shape_type: int = 5) -> bytes:
    """A .shp file, per the ESRI technical description: each record a list of rings."""
    body = b""
    for number, rings in enumerate(records, start=1):
        points = [p for ring in rings for p in ring]
        starts, at = [], 0
        for ring in rings:
            starts.append(at)
            at += len(ring)
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        content = struct.pack("<i4d2i", shape_type, min(xs), min(ys), max(xs), max(ys),
                              len(rings), len(points))
        content += struct.pack(f"<{len(rings)}i", *starts)
        content += b"".join(struct.pack("<2d", x, y) for x, y in points)
        if shape_type == 15:  # PolygonZ: z range and values, then m range and values
            zeros = struct.pack(f"<{len(points) + 2}d", *[0.0] * (len(points) + 2))
            content += zeros + zeros
        body += struct.pack(">2i", number, len(content) // 2) + content
    header = struct.pack(">7i", 9994, 0, 0, 0, 0, 0, (100 + len(body)) // 2)
    header += struct.pack("<2i", 1000, shape_type) + struct.pack("<8d", *[0.0] * 8)
    return header + body


def zipped(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return out.getvalue()


def clockwise(ring):
    return ring if not Polygon(ring).exterior.is_ccw else list(reversed(ring))


def anticlockwise(ring):
    return list(reversed(clockwise(ring)))


# ---------------------------------------------------------------- GeoJSON


@pytest.mark.parametrize("doc", [
    polygon(SQUARE),
    {"type": "Feature", "properties": {}, "geometry": polygon(SQUARE)},
    {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": polygon(SQUARE)},
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point",
                                                           "coordinates": [0, 0]}}]},
], ids=["geometry", "feature", "collection"])
def test_geojson_polygon_in_any_wrapper(doc):
    found = read_aoi_file("area.geojson", geojson(doc))
    assert found.geometry.equals(Polygon(SQUARE)) and found.kind == "GeoJSON"
    assert found.ignored == (1 if doc["type"] == "FeatureCollection" else 0)


def test_geojson_multipolygon_parts_are_united():
    doc = {"type": "MultiPolygon", "coordinates": [[[list(p) for p in SQUARE]],
                                                   [[list(p) for p in OTHER]]]}
    found = read_aoi_file("two.json", geojson(doc))
    assert found.geometry.geom_type == "MultiPolygon" and found.polygons == 2
    assert found.geometry.area == pytest.approx(Polygon(SQUARE).area + Polygon(OTHER).area)


def test_geojson_with_a_named_projected_crs_is_reprojected():
    to_utm = Transformer.from_crs(4326, 32629, always_xy=True)
    ring = [to_utm.transform(x, y) for x, y in SQUARE]
    doc = {"type": "FeatureCollection",
           "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32629"}},
           "features": [{"type": "Feature", "properties": {}, "geometry": polygon(ring)}]}
    found = read_aoi_file("utm.geojson", geojson(doc))
    assert "UTM zone 29N" in found.source_crs
    assert found.geometry.bounds == pytest.approx(Polygon(SQUARE).bounds, abs=1e-3)


@pytest.mark.parametrize("data,message", [
    (b"{not json", "not valid JSON"),
    (b"", "empty"),
    (geojson({"type": "Point", "coordinates": [1, 2]}), "no polygon"),
    (geojson({"type": "FeatureCollection", "features": []}), "no polygon"),
    (geojson({"type": "Banana"}), "not a GeoJSON type"),
    (geojson({"type": "Polygon", "coordinates": [[[0, 0], [1]]]}), "invalid GeoJSON"),
    (geojson(polygon([(500000, 5800000), (510000, 5800000), (510000, 5810000),
                      (500000, 5800000)])), "not longitude/latitude"),
])
def test_bad_geojson_is_refused_with_a_reason(data, message):
    with pytest.raises(AoiFileError, match=message):
        read_aoi_file("bad.geojson", data)


def test_a_bow_tie_is_repaired_into_its_two_triangles():
    bow = [(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)]
    found = read_aoi_file("bow.geojson", geojson(polygon(bow)))
    assert found.repaired and found.geometry.is_valid
    assert found.geometry.area == pytest.approx(0.5)


def test_unsupported_suffix_names_what_is_supported():
    with pytest.raises(AoiFileError, match="GeoJSON.*KML.*Shapefile"):
        read_aoi_file("area.gpx", b"<gpx/>")


# ---------------------------------------------------------------- KML and KMZ

KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>fields</name>
<Placemark><name>pin</name><Point><coordinates>-7.45,52.75,0</coordinates></Point></Placemark>
<Placemark><name>field</name><MultiGeometry>
 <Polygon><outerBoundaryIs><LinearRing><coordinates>
   -7.5,52.7,0 -7.4,52.7,0 -7.4,52.8,0 -7.5,52.8,0 -7.5,52.7,0
 </coordinates></LinearRing></outerBoundaryIs>
 <innerBoundaryIs><LinearRing><coordinates>
   -7.46,52.74 -7.44,52.74 -7.44,52.76 -7.46,52.76 -7.46,52.74
 </coordinates></LinearRing></innerBoundaryIs></Polygon>
 <Polygon><outerBoundaryIs><LinearRing><coordinates>
   -7.2,52.7 -7.1,52.7 -7.1,52.8 -7.2,52.8 -7.2,52.7
 </coordinates></LinearRing></outerBoundaryIs></Polygon>
</MultiGeometry></Placemark></Document></kml>"""


def test_kml_polygons_with_holes_and_multigeometry():
    found = read_aoi_file("fields.kml", KML.encode())
    hole = box(-7.46, 52.74, -7.44, 52.76)
    expected = Polygon(SQUARE).difference(hole).union(Polygon(OTHER))
    assert found.geometry.symmetric_difference(expected).area < 1e-12
    assert (found.kind, found.polygons, found.ignored) == ("KML", 2, 1)


def test_kmz_is_a_zipped_kml():
    found = read_aoi_file("fields.KMZ", zipped({"doc.kml": KML.encode(), "files/x.png": b"."}))
    assert found.kind == "KMZ" and found.polygons == 2


@pytest.mark.parametrize("data,message", [
    (b"<kml><Document>", "not valid XML"),
    (b"<gpx></gpx>", "not <kml>"),
    (b'<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY a "aaaa">]><kml>&a;</kml>', "DTD"),
    (b"<kml><Placemark><Point><coordinates>1,2</coordinates></Point></Placemark></kml>",
     "no polygon"),
    (b"<kml><Polygon><outerBoundaryIs><LinearRing><coordinates>1;2 3;4 5;6"
     b"</coordinates></LinearRing></outerBoundaryIs></Polygon></kml>", "lon,lat"),
])
def test_bad_kml_is_refused_with_a_reason(data, message):
    with pytest.raises(AoiFileError, match=message):
        read_aoi_file("bad.kml", data)


def test_a_kmz_without_kml_or_not_a_zip_is_refused():
    with pytest.raises(AoiFileError, match="no .kml"):
        read_aoi_file("a.kmz", zipped({"readme.txt": b"hello"}))
    with pytest.raises(AoiFileError, match="not a valid zip"):
        read_aoi_file("a.kmz", b"PK this is not a zip")


# ---------------------------------------------------------------- zipped Shapefile

WGS84_PRJ = ('GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,'
             '298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]')


def test_zipped_shapefile_with_a_hole_and_two_records():
    shell = clockwise(SQUARE)
    hole = anticlockwise([(-7.46, 52.74), (-7.44, 52.74), (-7.44, 52.76), (-7.46, 52.76),
                          (-7.46, 52.74)])
    shp = shp_bytes([[shell, hole], [clockwise(OTHER)]])
    data = zipped({"fields/fields.shp": shp, "fields/fields.shx": b"", "fields/fields.dbf": b"",
                   "fields/fields.prj": WGS84_PRJ.encode()})
    found = read_aoi_file("fields.zip", data)
    expected = Polygon(SQUARE).difference(box(-7.46, 52.74, -7.44, 52.76)).union(
        Polygon(OTHER))
    assert found.kind == "Shapefile" and found.polygons == 2
    assert found.geometry.symmetric_difference(expected).area < 1e-12


def test_polygonz_shapefile_without_prj_is_taken_as_wgs84():
    found = read_aoi_file("z.zip", zipped({"z.shp": shp_bytes([[clockwise(SQUARE)]], 15)}))
    assert found.geometry.equals(Polygon(SQUARE)) and found.source_crs == "WGS 84"


def test_shapefile_in_utm_is_reprojected_by_its_prj():
    to_utm = Transformer.from_crs(4326, 32629, always_xy=True)
    # A 10 km square in UTM zone 29N: its lon/lat outline is no longer an axis-aligned box.
    utm = [(500000, 5840000), (510000, 5840000), (510000, 5850000), (500000, 5850000),
           (500000, 5840000)]
    prj = CRS.from_epsg(32629).to_wkt("WKT1_ESRI")
    data = zipped({"utm.shp": shp_bytes([[clockwise(utm)]]), "utm.prj": prj.encode()})
    found = read_aoi_file("utm.zip", data)
    assert "UTM zone 29N" in found.source_crs
    back = [to_utm.transform(x, y) for x, y in found.geometry.exterior.coords]
    # Only the 1e-7 degree (about 1 cm) rounding of the outline separates them.
    assert Polygon(back).symmetric_difference(Polygon(utm)).area < 1e-6 * Polygon(utm).area
    west, south, _, _ = found.geometry.bounds
    assert west == pytest.approx(-9.0, abs=1e-6) and 52.7 < south < 52.71


@pytest.mark.parametrize("files,message", [
    ({"readme.txt": b"no shapes"}, "no .shp"),
    ({"a.shp": b"\x00" * 40}, "shorter than"),
    ({"a.shp": b"\x00" * 100}, "9994"),
    ({"a.shp": shp_bytes([[[(0, 0), (1, 1)]]], shape_type=3)}, "shape type 3"),
    ({"a.shp": shp_bytes([[clockwise(SQUARE)]])[:-40]}, "past the end"),
    ({"a.shp": shp_bytes([[clockwise(SQUARE)]]), "a.prj": b"GEOGCS[nonsense"}, "pyproj"),
])
def test_corrupt_shapefiles_are_refused_with_a_reason(files, message):
    with pytest.raises(AoiFileError, match=message):
        read_aoi_file("bad.zip", zipped(files))


def test_a_zip_bomb_is_refused_before_unpacking():
    data = zipped({"big.shp": b"\x00" * (MAX_UNZIPPED_BYTES + 1)})
    assert len(data) < 1_000_000
    with pytest.raises(AoiFileError, match="unpacks to"):
        read_aoi_file("bomb.zip", data)


def test_a_shapefile_with_too_many_vertices_is_refused_before_unpacking():
    two = zipped({"a.shp": shp_bytes([[clockwise(SQUARE)], [clockwise(OTHER)]])})
    assert read_aoi_file("ok.zip", zipped({"a.shp": shp_bytes([[clockwise(SQUARE)]])}),
                         max_vertices=8)
    with pytest.raises(AoiFileError, match="more than 8 vertices"):
        read_aoi_file("many.zip", two, max_vertices=8)
