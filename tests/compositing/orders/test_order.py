"""Validation of ordering options: every bad option names its field."""

from datetime import date

import pytest

from compositing.orders.spec import ORDER_OPTIONS, SpecError, parse_spec
from compositing.timeseries import PointQuery

GOOD = {
    "aoi": [-7.6, 53.2, -7.55, 53.23],
    "start": "2023-06-01",
    "period": "month",
    "resolution": 20,
    "crs": "EPSG:32629",
    "format": "GTiff",
    "bands": ["B02", "B03", "B04", "B08"],
}


def spec_with(**changes):
    return parse_spec({**GOOD, **changes})


def field_of_error(**changes) -> str:
    with pytest.raises(SpecError) as err:
        spec_with(**changes)
    return err.value.field


def test_it_accepts_a_month_order_and_aligns_it():
    spec = spec_with(start="2023-06-17")
    assert (spec.start, spec.end, spec.period) == (date(2023, 6, 1), date(2023, 6, 30),
                                                        "month")
    assert spec.bands == ("B02", "B03", "B04", "B08")
    assert spec.crs == 32629


def test_it_round_trips_through_options():
    spec = spec_with(aux=["valid_obs", "source_index"])
    assert parse_spec(spec.to_json()) == spec


@pytest.mark.parametrize("aoi", [
    '{"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]',  # not JSON
    '{"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0]]]}',  # degenerate
    '{"type": "Point", "coordinates": [0, 0]}',
    "1,2,3",
    "1,2,1,3",  # zero width
    [10, 50, 200, 60],  # longitude out of range
    '{"type": "Polygon", "coordinates": [[[0,0],[1,1],[1,0],[0,1],[0,0]]]}',  # bow-tie
])
def test_it_rejects_bad_aois_naming_the_field(aoi):
    assert field_of_error(aoi=aoi) == "aoi"


def test_it_rejects_an_aoi_over_the_direct_order_limit():
    with pytest.raises(SpecError, match="limit"):
        parse_spec({**GOOD, "aoi": [0, 0, 20, 20]}, max_area_km2=1e6)


def test_it_reads_geojson_features():
    feature = ('{"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", '
               '"coordinates": [[[-7.6,53.2],[-7.55,53.2],[-7.55,53.23],[-7.6,53.2]]]}}')
    assert spec_with(aoi=feature).aoi.geom_type == "Polygon"


@pytest.mark.parametrize("changes,field", [
    ({"period": "custom", "start": "2023-06-10", "end": "2023-06-01"}, "end"),
    ({"start": "2023-13-01"}, "start"),
    ({"bands": ["B02", "B10"]}, "bands"),
    ({"bands": []}, "bands"),
    ({"resolution": 30}, "resolution"),
    ({"crs": "EPSG:999999"}, "crs"),
    ({"crs": "mercator"}, "crs"),
    ({"format": "PNG"}, "format"),
    ({"period": "fortnight"}, "period"),
    ({"aux": ["clouds"]}, "aux"),
    ({"name": "bad name/with slash"}, "name"),
    ({"period": "month", "end": "2023-06-20"}, "end"),
    ({"cloud_buffer": -1}, "cloud_buffer"),
    ({"cloud_buffer": "two"}, "cloud_buffer"),
    ({"cloud_buffer": 21}, "cloud_buffer"),
])
def test_it_rejects_bad_options_naming_the_field(changes, field):
    assert field_of_error(**changes) == field


def test_jpeg2000_refuses_a_layer_it_cannot_hold_at_validation():
    with pytest.raises(SpecError, match="acquisition_date") as err:
        spec_with(format="JP2", aux=["acquisition_date"])
    assert err.value.field == "aux"


def test_it_picks_the_aoi_utm_zone_for_utm():
    assert spec_with(crs="UTM").crs == 32629
    assert spec_with(crs="UTM", aoi=[2.1, 41.3, 2.2, 41.4]).crs == 32631


@pytest.mark.parametrize("name,fmt", [("GTiff", "GTiff"), ("geotiff", "GTiff"),
                                      ("jpeg2000", "JP2"), ("NetCDF", "NetCDF"), ("nc", "NetCDF")])
def test_every_format_is_offered_under_its_usual_names(name, fmt):
    assert spec_with(format=name).format == fmt


def test_band_names_are_normalised_and_ordered():
    assert spec_with(bands="b8,B04,b2").bands == ("B02", "B04", "B08")


@pytest.mark.parametrize("bands", ["B09", "B04,B09", "b9", "B10"])
def test_only_surface_reflectance_bands_are_offered(bands):
    """B09 (water vapour) is not a surface's reflectance; B10 (cirrus) is not in L2A: S2GM
    offered neither. The error names the field and the bands there are."""
    with pytest.raises(SpecError) as raised:
        spec_with(bands=bands)
    assert raised.value.field == "bands"
    assert "B8A, B11, B12" in raised.value.message
    assert "B09" not in ORDER_OPTIONS["bands"].choices


def test_the_time_series_offers_the_surface_reflectance_bands():
    assert "B09" not in PointQuery.bands and "B8A" in PointQuery.bands


@pytest.mark.parametrize("text", [
    "POLYGON ((-7.46 52.73, -7.42 52.73, -7.42 52.75, -7.46 52.75, -7.46 52.73))",
    "polygon((-7.46 52.73,-7.42 52.73,-7.42 52.75,-7.46 52.75,-7.46 52.73))",
    "SRID=4326;MULTIPOLYGON (((-7.46 52.73, -7.42 52.73, -7.42 52.75, -7.46 52.75, "
    "-7.46 52.73)))",
])
def test_a_wkt_polygon_is_an_aoi(text):
    """As GIS tools copy a geometry out (QGIS's Copy as WKT, PostGIS's EWKT)."""
    assert spec_with(aoi=text).aoi.bounds == pytest.approx((-7.46, 52.73, -7.42, 52.75))


@pytest.mark.parametrize(("text", "says"), [
    ("POLYGON ((-7.46 52.73, -7.42 52.73", "not valid WKT"),
    ("SRID=3857;POLYGON ((0 0, 1000 0, 1000 1000, 0 0))", "SRID 3857"),
    ("POLYGON EMPTY", "Polygon or MultiPolygon"),
])
def test_a_bad_wkt_is_refused_naming_the_aoi(text, says):
    with pytest.raises(SpecError, match=says) as raised:
        spec_with(aoi=text)
    assert raised.value.field == "aoi"
