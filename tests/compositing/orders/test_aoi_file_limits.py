"""Hostile AOI files, built here, are refused with AoiFileError before they cost much CPU:
member counts, zip bombs, record, feature and vertex counts, XML and JSON nesting.
(`bench/uploads.py` measures what each costs; these tests assert only the outcome.)"""

from __future__ import annotations

import io
import json
import struct
import zipfile

import pytest
from pyproj import CRS

from compositing.orders.aoi_files import (
    MAX_DEPTH,
    MAX_FEATURES,
    MAX_FILE_BYTES,
    MAX_MEMBERS,
    MAX_XML_ELEMENTS,
    AoiFileError,
    read_aoi_file,
)
from tests.compositing.orders.test_aoi_files import SQUARE, clockwise, shp_bytes, zipped

EMPTY_SHP = shp_bytes([])  # a header and no record: a valid, empty layer


def null_records(count: int) -> bytes:
    """A .shp of `count` null-shape records (12 bytes each)."""
    body = b"".join(struct.pack(">2i", n, 2) + struct.pack("<i", 0) for n in range(1, count + 1))
    return (struct.pack(">7i", 9994, 0, 0, 0, 0, 0, (100 + len(body)) // 2)
            + struct.pack("<2i", 1000, 5) + bytes(64) + body)


# ---------------------------------------------------------------- zip members


def test_the_issues_zip_of_30000_empty_shapefiles_is_refused_by_its_member_count():
    data = zipped({f"d/{i}.shp": EMPTY_SHP for i in range(30_000)})
    assert len(data) < MAX_FILE_BYTES
    with pytest.raises(AoiFileError, match=f"holds 30,000 files, over the limit of {MAX_MEMBERS}"):
        read_aoi_file("many.zip", data)


def test_the_member_limit_is_an_argument_counting_every_file():
    layer = {"a.shp": shp_bytes([[clockwise(SQUARE)]]), "a.shx": b"", "a.dbf": b""}
    assert read_aoi_file("a.zip", zipped(layer), max_members=3).polygons == 1
    with pytest.raises(AoiFileError, match="holds 3 files, over the limit of 2"):
        read_aoi_file("a.zip", zipped(layer), max_members=2)
    kmz = zipped({"doc.kml": b"<kml/>", "a.png": b"", "b.png": b""})
    with pytest.raises(AoiFileError, match="holds 3 files, over the limit of 2"):
        read_aoi_file("a.kmz", kmz, max_members=2)


def test_many_layers_each_find_their_own_prj_by_name():
    """Every .prj is looked up in one index of the members, whatever their case: a layer whose
    .prj names another CRS is still told apart among thousands."""
    utm = CRS.from_epsg(32629).to_wkt("WKT1_ESRI").encode()
    files = {f"L{i}.SHP": EMPTY_SHP for i in range(3_000)}
    files["last.shp"] = shp_bytes([[clockwise([(500000, 5840000), (510000, 5840000),
                                               (510000, 5850000), (500000, 5840000)])]])
    files["LAST.PRJ"] = utm
    found = read_aoi_file("layers.zip", zipped(files), max_members=5_000)
    assert "UTM zone 29N" in found.source_crs and found.polygons == 1


# ---------------------------------------------------------------- zip bombs


def _bomb(name: str, size: int) -> bytes:
    """A zip of one member of `size` zeros, written in blocks (it zips to about size / 1000)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z, z.open(
            name, "w", force_zip64=True) as member:
        block = bytes(1024 * 1024)
        for _ in range(size // len(block)):
            member.write(block)
    return out.getvalue()


def test_a_zip_bomb_of_a_huge_compressible_member_is_refused_before_unpacking():
    data = _bomb("bomb.shp", 1024 * 1024 * 1024)
    assert len(data) < 2_000_000
    with pytest.raises(AoiFileError, match="the zip unpacks to 1074 MB, over the limit"):
        read_aoi_file("bomb.zip", data)


@pytest.mark.parametrize("name,upload", [("doc.kml", "a.kmz"), ("a.shp", "a.zip"),
                                         ("a.prj", "a.zip")])
def test_a_member_is_bounded_as_if_uploaded_alone(name, upload):
    """Under the zip's total, but more than an upload of its own may be (a .prj far less)."""
    size = MAX_FILE_BYTES + 1024 * 1024 if name != "a.prj" else 1024 * 1024
    files = {"a.shp": shp_bytes([[clockwise(SQUARE)]])} if name == "a.prj" else {}
    data = zipped({**files, name: bytes(size)})
    with pytest.raises(AoiFileError, match=f"{name} unpacks to .* MB, over the limit"):
        read_aoi_file(upload, data)


# ---------------------------------------------------------------- records, features, vertices


def test_a_shapefile_of_null_records_is_refused_by_its_record_count():
    data = zipped({"n.shp": null_records(MAX_FEATURES + 1)})
    with pytest.raises(AoiFileError, match=f"more than {MAX_FEATURES:,} records"):
        read_aoi_file("nulls.zip", data)


def test_vertices_and_records_are_counted_across_layers():
    square = shp_bytes([[clockwise(SQUARE)]])  # 5 vertices
    with pytest.raises(AoiFileError, match="more than 8 vertices"):
        read_aoi_file("two.zip", zipped({"a.shp": square, "b.shp": square}), max_vertices=8)
    half = null_records(MAX_FEATURES // 2 + 1)
    with pytest.raises(AoiFileError, match=f"more than {MAX_FEATURES:,} records"):
        read_aoi_file("two.zip", zipped({"a.shp": half, "b.shp": half}))


def test_geojson_features_are_counted_points_included():
    point = {"type": "Point", "coordinates": [1, 2]}
    doc = {"type": "GeometryCollection",
           "geometries": [point] * MAX_FEATURES + [{"type": "Polygon", "coordinates": [SQUARE]}]}
    with pytest.raises(AoiFileError, match=f"more than {MAX_FEATURES:,} features"):
        read_aoi_file("points.geojson", json.dumps(doc).encode())
    empty = {"type": "GeometryCollection",
             "geometries": [{"type": "Polygon", "coordinates": []}] * (MAX_FEATURES + 1)}
    with pytest.raises(AoiFileError, match="features"):
        read_aoi_file("empty.geojson", json.dumps(empty).encode())


def test_geojson_and_kml_vertices_are_counted_before_they_are_built():
    ring = [[i * 1e-4, 0] for i in range(30)] + [[0, 1], [0, 0]]
    with pytest.raises(AoiFileError, match="more than 20 vertices"):
        read_aoi_file("a.geojson", json.dumps({"type": "Polygon", "coordinates": [ring]}).encode(),
                      max_vertices=20)
    coordinates = " ".join(f"{x},{y}" for x, y in ring)
    kml = (f"<kml><Placemark><Polygon><outerBoundaryIs><LinearRing><coordinates>{coordinates}"
           "</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></kml>")
    with pytest.raises(AoiFileError, match="more than 20 vertices"):
        read_aoi_file("a.kml", kml.encode(), max_vertices=20)


# ---------------------------------------------------------------- nesting and elements


def test_deeply_nested_kml_is_refused():
    depth = 1_000_000
    data = b"<kml>" + b"<a>" * depth + b"</a>" * depth + b"</kml>"
    assert len(data) < MAX_FILE_BYTES
    with pytest.raises(AoiFileError, match=f"nests elements more than {MAX_DEPTH} deep"):
        read_aoi_file("deep.kml", data)
    kmz = zipped({"doc.kml": data})
    with pytest.raises(AoiFileError, match="deep"):
        read_aoi_file("deep.kmz", kmz)


def test_kml_of_too_many_elements_is_refused():
    data = b"<kml>" + b"<a/>" * MAX_XML_ELEMENTS + b"</kml>"
    with pytest.raises(AoiFileError, match=f"more than {MAX_XML_ELEMENTS:,} elements"):
        read_aoi_file("flat.kml", data)


def test_deeply_nested_geojson_is_refused():
    def collections(depth: int) -> bytes:
        return b'{"type":"GeometryCollection","geometries":[' * depth + b"]}" * depth

    with pytest.raises(AoiFileError, match=f"nests collections more than {MAX_DEPTH} deep"):
        read_aoi_file("deep.geojson", collections(MAX_DEPTH + 2))
    with pytest.raises(AoiFileError, match="nested too deeply"):
        read_aoi_file("deeper.geojson", collections(100_000))
    arrays = b'{"type":"Polygon","coordinates":' + b"[" * 1_000_000 + b"]" * 1_000_000 + b"}"
    with pytest.raises(AoiFileError, match="nested too deeply"):
        read_aoi_file("arrays.geojson", arrays)
