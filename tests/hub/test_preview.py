"""The ordering dialogue's preview: area, aligned period, CRS, scene count, size estimate."""

from __future__ import annotations

import pytest
from shapely.geometry import box

from compositing.grid import OutputGrid
from compositing.orders.size import COMPRESSION_RATIO
from tests.conftest import TEST_AOI_BBOX

pytestmark = pytest.mark.django_db
BBOX = ",".join(map(str, TEST_AOI_BBOX))


def test_preview_summarises_the_order(client, alice, hub_dirs):
    client.force_login(alice)
    response = client.get("/requests/preview", {"aoi": BBOX, "period": "month",
                                                "start": "2023-06-17", "resolution": "20",
                                                "bands": ["B02", "B04"]})
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["start"], data["end"]) == ("2023-06-01", "2023-06-30")
    assert data["epsg"] == 32629 and "UTM zone 29N" in data["crs_name"]
    assert 3 < data["area_km2"] < 5
    assert data["scenes"] == 12  # six passes over two tiles
    grid = OutputGrid.for_aoi(box(*TEST_AOI_BBOX), 32629, 20)
    assert (data["width"], data["height"]) == (grid.width, grid.height)
    uint16_bands = 2 * 2  # B02 and B04, two bytes each
    assert data["estimated_bytes"] == int(grid.width * grid.height * uint16_bands
                                          * COMPRESSION_RATIO)


def test_preview_names_the_bad_field(client, alice, hub_dirs):
    client.force_login(alice)
    response = client.get("/requests/preview", {"aoi": BBOX, "start": "2023-06-01",
                                                "resolution": "15", "period": "month"})
    assert response.status_code == 400 and response.json()["field"] == "resolution"


def test_preview_needs_a_login(client):
    assert client.get("/requests/preview").status_code == 302
