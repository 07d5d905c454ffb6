"""The order form's period grid: the scenes over the AOI in each aligned period of a year."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from compositing.archive.scenes import search_scenes
from compositing.orders.periods import period_bounds
from hub.mosaics.operator import mosaic_settings
from tests.conftest import TEST_AOI_BBOX

pytestmark = pytest.mark.django_db
BBOX = ",".join(map(str, TEST_AOI_BBOX))


def _scene_days(aoi_bbox) -> list[date]:
    """The acquisition days of the demo archive's granules over the AOI, from the scene search
    an order makes."""
    from shapely.geometry import box

    scenes = search_scenes(mosaic_settings().archives, box(*aoi_bbox), date(2015, 6, 23),
                           date(2026, 12, 31))
    return [s.datetime.date() for s in scenes]


@pytest.mark.parametrize("period", ["day", "tenday", "month", "quarter"])
def test_each_period_of_the_year_has_the_scenes_an_order_of_it_would_search(
        client, alice, hub_dirs, period):
    client.force_login(alice)
    response = client.get("/requests/periods", {"aoi": BBOX, "period": period,
                                                "start": "2023-02-14"})
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["year"] == 2023 and data["years"] == [2023, 2023] and data["complete"]
    want = Counter(period_bounds(period, day)[0].isoformat() for day in _scene_days(TEST_AOI_BBOX))
    got = {p["start"]: p["scenes"] for p in data["periods"]}
    assert {k: v for k, v in got.items() if v} == dict(want)
    assert sum(got.values()) == 12  # six passes over two tiles, all in June 2023
    assert data["periods"][0]["start"] == "2023-01-01"
    assert data["periods"][-1]["end"] == "2023-12-31"
    assert len(data["periods"]) == {"day": 365, "tenday": 36, "month": 12, "quarter": 4}[period]


def test_yearly_periods_are_the_archives_years(client, alice, hub_dirs):
    client.force_login(alice)
    data = client.post("/requests/periods", {"aoi": BBOX, "period": "year"}).json()
    assert data["periods"] == [{"start": "2023-01-01", "end": "2023-12-31", "scenes": 12,
                                "orderable": True}]


def test_an_area_without_scenes_has_only_empty_periods(client, alice, hub_dirs):
    client.force_login(alice)
    data = client.get("/requests/periods", {"aoi": "-20,50,-19.9,50.1", "period": "month",
                                            "start": "2023-06-01"}).json()
    assert data["complete"] and all(p["scenes"] == 0 for p in data["periods"])


def test_a_year_outside_the_archive_shows_the_nearest_year_it_holds(client, alice, hub_dirs):
    client.force_login(alice)
    data = client.get("/requests/periods", {"aoi": BBOX, "start": "2019-03-01"}).json()
    assert data["year"] == 2023 and data["period"] == "month"


@pytest.mark.parametrize(("query", "field"), [
    ({"aoi": "", "period": "month"}, "aoi"),
    ({"aoi": "1,2,3", "period": "month"}, "aoi"),
    ({"aoi": BBOX, "period": "custom"}, "period"),
    ({"aoi": BBOX, "period": "fortnight"}, "period"),
    ({"aoi": BBOX, "period": "month", "start": "2023-13-01"}, "start"),
])
def test_what_it_cannot_read_is_a_400_naming_the_field(client, alice, hub_dirs, query, field):
    client.force_login(alice)
    response = client.get("/requests/periods", query)
    assert response.status_code == 400 and response.json()["field"] == field


def test_the_grid_needs_a_login(client):
    assert client.get("/requests/periods").status_code == 302
