"""Orders too big for one product (MGRS tiles or a refusal) and for product storage."""

from __future__ import annotations

import pytest

from compositing import l2a
from compositing.orders.size import product_size
from hub.mosaics.models import MosaicRequest
from hub.mosaics.services import free_storage_bytes, read_order
from tests.hub.test_mosaics_api import post

pytestmark = pytest.mark.django_db

ALL_BANDS = list(l2a.SURFACE_BAND_NAMES)
# About 120 x 110 km in UTM zone 29, every band: 12,000 x 11,000 px, about 1.7 GB.
BIG = {"name": "big", "aoi": [-8.6, 53.0, -6.8, 54.0], "period": "month", "start": "2023-06-01",
       "resolution": 10, "crs": "UTM", "bands": ALL_BANDS}


def test_a_big_utm_order_is_accepted_as_mgrs_tiles_and_the_preview_says_so(
        client, alice, alice_token, settings, hub_dirs, django_capture_on_commit_callbacks):
    settings.HUB_MAX_PRODUCT_GB = 1
    with django_capture_on_commit_callbacks(execute=False):
        response = post(client, BIG, alice_token)
    assert response.status_code == 201, response.content
    assert response.json()["options"]["tiling"] == "mgrs"
    tiles = product_size(read_order(BIG)).tiles
    assert tiles >= 4

    client.force_login(alice)
    preview = client.get("/requests/preview", {**BIG, "aoi": ",".join(map(str, BIG["aoi"]))})
    assert preview.status_code == 200, preview.content
    body = preview.json()
    assert body["tiles"] == tiles
    assert body["delivery"].startswith(f"will be delivered as {tiles} MGRS tiles, about ")
    assert body["fits_storage"] is True and body["free_bytes"] > 0


def test_a_big_order_outside_utm_is_refused_before_anything_is_queued(
        client, alice_token, settings, django_capture_on_commit_callbacks):
    settings.HUB_MAX_PRODUCT_GB = 1
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = post(client, {**BIG, "crs": "EPSG:3035"}, alice_token)
    assert response.status_code == 400
    body = response.json()
    assert body["field"] == "crs" and "MGRS tiles" in body["error"]
    assert MosaicRequest.objects.count() == 0 and not queued


def test_an_order_larger_than_free_storage_gets_503_and_nothing_is_queued(
        client, alice_token, settings, hub_dirs, django_capture_on_commit_callbacks):
    settings.HUB_MAX_PRODUCT_GB = 10**6
    settings.HUB_MAX_QUEUED_MPX = 10**6
    # Every band over 1,000,000 km2 at 10 m needs some 600 GB while it is made.
    huge = {**BIG, "aoi": [-10.0, 45.0, 2.0, 54.0], "crs": "EPSG:3035"}
    need = product_size(read_order(huge)).working_bytes
    if need <= free_storage_bytes():
        pytest.skip(f"product storage has more room than the largest order needs ({need} B)")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = post(client, huge, alice_token)
    assert response.status_code == 503, response.content
    assert "free; this order needs about" in response.json()["error"]
    assert MosaicRequest.objects.count() == 0 and not queued
