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


def test_the_time_is_estimated_from_this_hubs_finished_orders(client, alice, hub_dirs):
    from datetime import timedelta

    from django.utils import timezone

    from hub.mosaics.models import MosaicRequest, Status
    from hub.mosaics.services import read_order

    client.force_login(alice)
    query = {"aoi": BBOX, "period": "month", "start": "2023-06-17", "resolution": "20"}
    data = client.get("/requests/preview", query).json()
    # The 2 km AOI lies where the two tiles overlap, in part: six passes of two granules, each
    # pass over every pixel once or twice.
    assert 6 < data["work_mpx_obs"] / (data["width"] * data["height"] / 1e6) < 12
    assert data["estimated_seconds"] is None and data["rate_orders"] == 0

    finished = timezone.now()
    spec = read_order({**query, "bands": ["B04"], "crs": "UTM"})
    for work, seconds in ((1.0, 3.0), (2.0, 5.0), (4.0, 9.0)):  # 1 s + 2 s per Mpx-obs
        req = MosaicRequest.from_spec(spec, alice)
        req.status, req.work = Status.DONE, work
        req.started_at, req.finished_at = finished - timedelta(seconds=seconds), finished
        req.save()
    MosaicRequest.objects.create(owner=alice, options=spec.to_json(), status=Status.FAILED,
                                 work=50.0, started_at=finished - timedelta(hours=1),
                                 finished_at=finished)  # failed: not a measured rate
    data = client.get("/requests/preview", query).json()
    assert data["rate_orders"] == 3
    assert data["estimated_seconds"] == pytest.approx(1 + 2 * data["work_mpx_obs"], abs=0.1)


CHANGE_QUERY = {"aoi": BBOX, "period": "tenday", "start": "2023-06-01", "resolution": "20",
                "compare_start": "2023-06-21"}


def test_a_change_preview_describes_both_periods_and_every_delivered_layer(
        client, alice, hub_dirs):
    client.force_login(alice)
    data = client.get("/requests/preview", CHANGE_QUERY).json()
    first = client.get("/requests/preview", {**CHANGE_QUERY, "compare_start": ""}).json()
    second = client.get("/requests/preview", {**CHANGE_QUERY, "start": "2023-06-21",
                                              "compare_start": ""}).json()
    assert data["change"] is True and first["change"] is False
    assert data["bands"] == ["B02", "B03", "B04", "B08"]
    assert (data["start"], data["end"]) == ("2023-06-01", "2023-06-10")
    assert (data["compare_start"], data["compare_end"]) == ("2023-06-21", "2023-06-30")
    assert data["confidence"] == 0.9999 and data["change_classes"] == 4
    assert data["scenes"] == first["scenes"] > 0
    assert data["compare_scenes"] == second["scenes"] > 0
    assert data["compare_coverage"] == second["coverage"] == 1.0
    # Both periods are read: the work is the two mosaics' work.
    assert data["work_mpx_obs"] == pytest.approx(first["work_mpx_obs"] + second["work_mpx_obs"],
                                                 rel=1e-4)
    # Four bands by default in both mosaics, the change layers and each period's provenance.
    per_pixel = 2 * 4 * 2 + (2 + 2 + 1 + 1) + 2 * (2 + 4)
    assert data["estimated_bytes"] == int(data["width"] * data["height"] * per_pixel
                                          * COMPRESSION_RATIO)
    assert "warning" not in data


def test_a_change_preview_warns_when_the_second_period_has_no_scenes(client, alice, hub_dirs):
    client.force_login(alice)
    data = client.get("/requests/preview", {**CHANGE_QUERY, "compare_start": "2023-07-01"}).json()
    assert data["coverage"] == 1.0 and data["compare_scenes"] == 0
    assert data["compare_coverage"] == 0.0 and data["confirm"] is True
    assert data["warning"]["kind"] == "period"
    assert data["warning"]["message"].startswith("The second period (2023-07-01 to 2023-07-10)")
