"""CPU seconds of reading each hostile AOI upload (`read_aoi_file`, as the upload view calls it).

Each case is built here, then parsed in a child process limited to `--cpu-limit` CPU seconds
(RLIMIT_CPU), so that a parser that never finishes shows as "> limit" instead of holding the
machine. Usage: `python bench/uploads.py [--members 30000] [--cpu-limit 60] [CASE ...]`.
Run it on an older checkout to get the 'before' figures: it calls only `read_aoi_file(name, data)`.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import resource
import struct
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from pyproj import CRS

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FILE_BYTES = 10 * 1024 * 1024  # the upload size limit the view applies first
SQUARE = [(-7.5, 52.7), (-7.5, 52.8), (-7.4, 52.8), (-7.4, 52.7), (-7.5, 52.7)]  # clockwise


def _zip(members: dict[str, bytes] | list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    items = members.items() if isinstance(members, dict) else members
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in items:
            z.writestr(name, data)
    return out.getvalue()


def _shp(records: int, polygon: bool = True) -> bytes:
    """A .shp of `records` records: the square, or null shapes."""
    if polygon:
        content = struct.pack("<i4d2i", 5, -7.5, 52.7, -7.4, 52.8, 1, 5) + struct.pack("<i", 0)
        content += b"".join(struct.pack("<2d", x, y) for x, y in SQUARE)
    else:
        content = struct.pack("<i", 0)
    body = b"".join(struct.pack(">2i", n, len(content) // 2) + content
                    for n in range(1, records + 1))
    header = struct.pack(">7i", 9994, 0, 0, 0, 0, 0, (100 + len(body)) // 2)
    return header + struct.pack("<2i", 1000, 5) + bytes(64) + body


def empty_shp_members(members: int) -> tuple[str, bytes]:
    """The issue's case: a zip of empty .shp files, a header and no record (3.4 MB at 30,000)."""
    return "many.zip", _zip([(f"d/{i}.shp", _shp(0)) for i in range(members)])


def tiny_members(_: int) -> tuple[str, bytes]:
    """As many empty stored members as 10 MB holds (names of up to five characters)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for i in range(FILE_BYTES // 86):
            z.writestr(f"{i:x}", b"")
    return "tiny.zip", out.getvalue()


def square_shp_members(members: int) -> tuple[str, bytes]:
    """As many one-square Shapefiles, each readable, each with its .prj."""
    shp, prj = _shp(1), CRS.from_epsg(4326).to_wkt("WKT1_ESRI").encode()
    return "squares.zip", _zip([m for i in range(members // 2)
                                for m in ((f"{i}.shp", shp), (f"{i}.prj", prj))])


def zip_bomb(_: int) -> tuple[str, bytes]:
    """One 1 GB member of zeros (about 1 MB zipped)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z, z.open("bomb.shp", "w",
                                                                       force_zip64=True) as m:
        block = bytes(16 * 1024 * 1024)
        for _ in range(64):
            m.write(block)
    return "bomb.zip", out.getvalue()


def null_records(_: int) -> tuple[str, bytes]:
    """A 48 MB .shp of 4 million null records, under the old 50 MB unzipped limit."""
    return "nulls.zip", _zip({"n.shp": _shp(4_000_000, polygon=False)})


def null_records_10mb(_: int) -> tuple[str, bytes]:
    """A 10 MB .shp of 830,000 null records, under the per-file limit."""
    return "nulls10.zip", _zip({"n.shp": _shp(830_000, polygon=False)})


def nested_kml(_: int) -> tuple[str, bytes]:
    """10 MB of nested elements inside <kml>."""
    depth = (FILE_BYTES - 100) // 7
    return "deep.kml", b"<kml>" + b"<a>" * depth + b"</a>" * depth + b"</kml>"


def flat_kml(_: int) -> tuple[str, bytes]:
    """10 MB of empty elements (2.5 million) inside <kml>."""
    return "flat.kml", b"<kml>" + b"<a/>" * ((FILE_BYTES - 20) // 4) + b"</kml>"


def kmz_of_big_kml(_: int) -> tuple[str, bytes]:
    """A KMZ whose doc.kml unpacks to 48 MB of empty elements."""
    return "big.kmz", _zip({"doc.kml": b"<kml>" + b"<a/>" * 12_000_000 + b"</kml>"})


def nested_geojson(_: int) -> tuple[str, bytes]:
    """GeometryCollections nested 100,000 deep."""
    depth = 100_000
    return "deep.geojson", (b'{"type":"GeometryCollection","geometries":[' * depth
                            + b"]}" * depth)


def nested_json_arrays(_: int) -> tuple[str, bytes]:
    """A Polygon whose coordinates are arrays nested 5 million deep."""
    depth = (FILE_BYTES - 100) // 2
    return "arrays.geojson", (b'{"type":"Polygon","coordinates":' + b"[" * depth + b"]" * depth
                              + b"}")


def empty_polygons(_: int) -> tuple[str, bytes]:
    """10 MB of empty Polygons in one GeometryCollection."""
    one = b'{"type":"Polygon","coordinates":[]},'
    count = (FILE_BYTES - 100) // len(one)
    return "empty.geojson", (b'{"type":"GeometryCollection","geometries":[' + one * count
                             + b'{"type":"Point","coordinates":[0,0]}]}')


def many_points(_: int) -> tuple[str, bytes]:
    """10 MB of Points."""
    one = b'{"type":"Point","coordinates":[1,2]},'
    count = (FILE_BYTES - 200) // len(one)
    return "points.geojson", (b'{"type":"GeometryCollection","geometries":[' + one * count
                              + json.dumps({"type": "Polygon",
                                            "coordinates": [SQUARE]}).encode()
                              + b"]}")


CASES: dict[str, Callable[[int], tuple[str, bytes]]] = {
    "empty-shp-members": empty_shp_members, "square-shp-members": square_shp_members,
    "tiny-members-10mb": tiny_members, "zip-bomb-1gb": zip_bomb,
    "null-records-48mb": null_records, "null-records-10mb": null_records_10mb,
    "nested-kml": nested_kml,
    "flat-kml": flat_kml, "kmz-48mb-kml": kmz_of_big_kml, "nested-geojson": nested_geojson,
    "nested-json-arrays": nested_json_arrays, "empty-polygons": empty_polygons,
    "many-points": many_points,
}


def _parse(name: str, data: bytes, limit: int, results: multiprocessing.Queue) -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (limit, limit + 5))
    from compositing.orders.aoi_files import read_aoi_file

    start = time.process_time()
    try:
        read_aoi_file(name, data)
        outcome = "accepted"
    except Exception as exc:  # the outcome is reported, whatever it is
        outcome = f"{type(exc).__name__}: {str(exc)[:90]}"
    results.put((time.process_time() - start, outcome))


def measure(name: str, data: bytes, limit: int) -> tuple[float | None, str]:
    """CPU seconds of the child's parse, and its outcome; None when it hit the limit or died."""
    results: multiprocessing.Queue = multiprocessing.Queue()
    child = multiprocessing.get_context("fork").Process(target=_parse,
                                                       args=(name, data, limit, results))
    child.start()
    child.join()
    if results.empty():
        return None, f"killed (exit code {child.exitcode})"
    return results.get()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", help=", ".join(CASES))
    parser.add_argument("--members", type=int, default=30_000)
    parser.add_argument("--cpu-limit", type=int, default=60)
    args = parser.parse_args()
    unknown = set(args.cases) - set(CASES)
    if unknown:
        parser.error(f"unknown cases {sorted(unknown)}; choose from {', '.join(CASES)}")
    print(f"{'case':20} {'upload':>9} {'CPU s':>8}  outcome")
    for case in args.cases or CASES:
        name, data = CASES[case](args.members)
        seconds, outcome = measure(name, data, args.cpu_limit)
        shown = f"> {args.cpu_limit}" if seconds is None else f"{seconds:.3f}"
        print(f"{case:20} {len(data) / 1e6:7.2f}MB {shown:>8}  {outcome}", flush=True)


if __name__ == "__main__":
    main()
