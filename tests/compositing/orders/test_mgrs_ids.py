"""Any Sentinel-2 tile from its id, against tiles read from real products."""

from __future__ import annotations

import json
import re
from xml.etree import ElementTree

import pytest
from pyproj import Geod

from compositing.orders.mgrs import TILES, tile_footprint_wgs84, tile_from_id
from compositing.orders.spec import SpecError, parse_aoi


@pytest.mark.parametrize("tile_id", sorted(TILES))
def test_every_tile_of_the_table_is_computed_from_its_id(tile_id):
    assert tile_from_id(tile_id) == TILES[tile_id]


def _stac_tiles(shared_data):
    """(tile id, epsg, ulx, uly) from every real STAC item's B02 (or blue) asset."""
    found = {}
    for path in sorted((shared_data / "real" / "stac_items").glob("*.json")):
        doc = json.loads(path.read_text())
        items = doc if isinstance(doc, list) else doc.get("features", [doc])
        for item in items:
            props = item.get("properties", {})
            tile_id = props.get("s2:mgrs_tile") or "".join(
                str(props.get(k, "")) for k in ("mgrs:utm_zone", "mgrs:latitude_band",
                                                "mgrs:grid_square"))
            if not tile_id:
                match = re.search(r"_(\d{2}[C-X][A-Z]{2})_", item.get("id", ""))
                tile_id = match.group(1) if match else ""
            asset = item.get("assets", {}).get("B02") or item.get("assets", {}).get("blue")
            if tile_id and asset and "proj:transform" in asset:
                t = asset["proj:transform"]
                found[tile_id.zfill(5)] = (props["proj:epsg"], t[2], t[5])
    return found


def _safe_tiles(shared_data):
    """(tile id, epsg, ulx, uly) from every real MTD_TL.xml (10 m geoposition)."""
    found = {}
    for path in sorted((shared_data / "real").rglob("*MTD_TL.xml")):
        root = ElementTree.parse(path).getroot()
        tile_id = re.search(r"_T(\d{2}[C-X][A-Z]{2})_", str(path))
        code = next(e.text for e in root.iter() if e.tag.endswith("HORIZONTAL_CS_CODE"))
        geo = next(e for e in root.iter() if e.tag.endswith("Geoposition")
                   and e.find("ULX") is not None)
        found[tile_id.group(1)] = (int(code.split(":")[1]), int(geo.findtext("ULX")),
                                   int(geo.findtext("ULY")))
    return found


def test_computed_tiles_match_the_grids_of_real_products(shared_data):
    truth = {**_stac_tiles(shared_data), **_safe_tiles(shared_data)}
    # Both hemispheres, all three column sets, odd and even zones, bands H to X.
    assert {"29UNU", "29RKH", "28QCH", "06VVN", "47XML", "46XER", "07HFE",
            "01KAB"} <= set(truth)
    for tile_id, (epsg, ulx, uly) in truth.items():
        t = tile_from_id(tile_id)
        assert (t.epsg, t.ulx, t.uly) == (epsg, ulx, uly), tile_id


@pytest.mark.parametrize("text,message", [
    ("29UNJ", "names no 100 km square in latitude band U"),
    ("29UAU", "columns of zone 29 are lettered JKLMNPQR"),
    ("61UNU", "zones run from 1 to 60"),
    ("29INU", "latitude band 'I'"),
    ("29UNO", "not an MGRS row letter"),
    ("hello", "not an MGRS tile id"),
])
def test_impossible_ids_are_refused_with_the_reason(text, message):
    with pytest.raises(ValueError, match=message):
        tile_from_id(text)


def test_the_footprint_is_the_tile_square_in_lon_lat():
    t = tile_from_id("T29unu")
    footprint = tile_footprint_wgs84(t)
    area_km2 = abs(Geod(ellps="WGS84").geometry_area_perimeter(footprint)[0]) / 1e6
    # 109.8 km square; UTM's scale factor is 0.9996 at the central meridian (-9 W).
    assert area_km2 == pytest.approx(109.8 ** 2, rel=2e-3)
    west, south, east, north = footprint.bounds
    assert west == pytest.approx(-9.0003, abs=1e-3) and 53.2 < north < 53.3


def test_a_tile_across_the_antimeridian_is_split_there():
    footprint = tile_footprint_wgs84(tile_from_id("01KAB"))
    assert footprint.geom_type == "MultiPolygon"
    assert footprint.bounds[0] == -180 and footprint.bounds[2] == 180
    area_km2 = abs(Geod(ellps="WGS84").geometry_area_perimeter(footprint)[0]) / 1e6
    assert area_km2 == pytest.approx(109.8 ** 2, rel=1e-2)


def test_an_order_aoi_may_be_a_tile_id():
    aoi = parse_aoi(" t29unu ")
    assert aoi.equals(tile_footprint_wgs84(TILES["29UNU"]))
    with pytest.raises(SpecError) as caught:
        parse_aoi("29UNJ")
    assert caught.value.field == "aoi" and "no 100 km square" in caught.value.message
