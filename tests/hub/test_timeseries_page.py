"""The time-series page (login required, defaults from the archive) and its pixel snapping."""

from __future__ import annotations

from datetime import date

import pytest
from pyproj import Transformer
from shapely.geometry import Point, shape

from compositing.demo.archive import DEMO_CENTER_32629
from hub.mosaics.timeseries_views import default_range

pytestmark = pytest.mark.django_db

TO_LONLAT = Transformer.from_crs(32629, 4326, always_xy=True)
LON, LAT = TO_LONLAT.transform(DEMO_CENTER_32629[0] + 7.0, DEMO_CENTER_32629[1] - 13.0)


def test_the_page_renders_for_a_logged_in_user(client, alice, hub_dirs):
    client.force_login(alice)
    response = client.get("/timeseries/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="ts-map"' in html and 'data-api="/api/v1/timeseries"' in html
    assert "vendor/leaflet/leaflet.js" in html and "js/ts_chart.js" in html
    for band in ("B02", "B03", "B04", "B08"):
        assert f'value="{band}" checked' in html
    assert 'value="B11">' in html  # offered, not ticked
    # The demo archive holds June 2023 (passes 2 to 27 June): the range defaults to it.
    assert 'value="2023-06-01"' in html and 'value="2023-06-27"' in html
    assert '<option value="month" selected>' in html
    assert 'href="/timeseries/"' in html  # the navigation link


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/timeseries/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/timeseries/")


def test_default_range_is_a_year_ending_on_the_last_day_without_an_archive(settings, tmp_path):
    settings.HUB_ARCHIVE_DIR = tmp_path
    assert default_range(date(2024, 3, 15)) == (date(2023, 4, 1), date(2024, 3, 14))


@pytest.mark.parametrize("window,size", [("1", 20.0), ("3", 60.0)])
def test_pixel_snaps_to_the_output_pixel_and_outlines_the_window(client, alice, window, size):
    client.force_login(alice)
    response = client.get("/timeseries/pixel", {"lon": LON, "lat": LAT, "resolution": "20",
                                                "window": window})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["epsg"] == 32629 and body["x"] % 20 == 10 and body["y"] % 20 == 10
    assert abs(body["x"] - (DEMO_CENTER_32629[0] + 7.0)) <= 10
    assert abs(body["y"] - (DEMO_CENTER_32629[1] - 13.0)) <= 10
    assert (body["lon"], body["lat"]) == pytest.approx(TO_LONLAT.transform(body["x"], body["y"]))
    outline = shape(body["outline"])
    to_utm = Transformer.from_crs(4326, 32629, always_xy=True)
    xs, ys = zip(*(to_utm.transform(*c) for c in body["outline"]["coordinates"][0]), strict=True)
    assert max(xs) - min(xs) == pytest.approx(size) and max(ys) - min(ys) == pytest.approx(size)
    assert outline.contains(Point(LON, LAT)) and outline.contains(Point(body["lon"], body["lat"]))


@pytest.mark.parametrize("params,field", [
    ({"lon": "", "lat": "52.7"}, "lon"),
    ({"lon": "x", "lat": "52.7"}, "lon"),
    ({"lon": "-7", "lat": "85"}, "lat"),
    ({"lon": "-7", "lat": "52.7", "resolution": "30"}, "resolution"),
    ({"lon": "-7", "lat": "52.7", "window": "5"}, "window"),
])
def test_pixel_errors_name_the_field(client, alice, params, field):
    client.force_login(alice)
    response = client.get("/timeseries/pixel", params)
    assert response.status_code == 400
    assert response.json()["field"] == field and response.json()["error"]


def test_pixel_needs_a_user(client):
    assert client.get("/timeseries/pixel", {"lon": "-7", "lat": "52.7"}).status_code == 401


def test_every_csv_column_is_documented_on_the_page_and_in_openapi(client, alice):
    from compositing.timeseries import column_doc, composite_columns, observation_columns

    bands = ("B02", "B8A", "B12")
    columns = {*composite_columns(bands, 1), *composite_columns(bands, 3, quality=True),
               *observation_columns(bands, quality=True)}
    assert all(column_doc(name) for name in columns)
    client.force_login(alice)
    page = client.get("/timeseries/").content.decode()
    described = client.get("/api/v1/openapi.json").json()["paths"]["/timeseries"]["get"][
        "responses"]["200"]["description"]
    for name in ("period_start", "<band>_std", "n_pixels", "valid", "all_scene_ids",
                 "quality_aot", "sun_azimuth"):
        assert f"<code>{name.replace('<', '&lt;').replace('>', '&gt;')}</code>" in page
        assert f"`{name}`" in described
