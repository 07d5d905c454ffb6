"""Per-person limits on orders queued or processing: a 429 naming the limit, nothing saved."""

from __future__ import annotations

import pytest

from hub.mosaics.models import MosaicRequest, Status
from tests.hub.stored_requests import stored_request
from tests.hub.test_mosaics_api import ORDER, post

pytestmark = pytest.mark.django_db


def test_orders_beyond_the_active_limit_get_429_and_nothing_is_queued(
        client, alice, alice_token, bob, settings, django_capture_on_commit_callbacks):
    settings.HUB_MAX_ACTIVE_ORDERS = 2
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert post(client, ORDER, alice_token).status_code == 201
        assert post(client, ORDER, alice_token).status_code == 201
        refused = post(client, ORDER, alice_token)
    assert refused.status_code == 429
    assert "HUB_MAX_ACTIVE_ORDERS = 2" in refused.json()["error"]
    assert MosaicRequest.objects.filter(owner=alice).count() == 2 and len(queued) == 2
    # a finished order frees its place; others' orders do not count
    MosaicRequest.objects.filter(owner=alice).update(status=Status.DONE)
    with django_capture_on_commit_callbacks(execute=False):
        assert post(client, ORDER, alice_token).status_code == 201


def test_orders_beyond_the_queued_megapixels_get_429(
        client, alice_token, settings, django_capture_on_commit_callbacks):
    settings.HUB_MAX_QUEUED_MPX = 1  # the order: ~3.3 x 3.4 km at 20 m, 0.03 Mpx
    big = {**ORDER, "aoi": [-7.9, 53.0, -7.5, 53.3], "resolution": 10}
    with django_capture_on_commit_callbacks(execute=False):
        assert post(client, ORDER, alice_token).status_code == 201
        refused = post(client, big, alice_token)
    assert refused.status_code == 429
    body = refused.json()
    assert "HUB_MAX_QUEUED_MPX = 1" in body["error"] and "megapixels" in body["error"]
    assert MosaicRequest.objects.count() == 1


def test_a_change_order_queues_the_pixels_of_both_its_mosaics(
        client, alice_token, settings, django_capture_on_commit_callbacks):
    from hub.mosaics.services import order_pixels, read_order

    mosaic = read_order(ORDER)
    change = {**ORDER, "period": "tenday", "compare_start": "2023-06-21"}
    assert order_pixels(read_order(change)) == 2 * order_pixels(mosaic)
    # A limit between one mosaic's pixels and two takes the mosaic, not the change.
    settings.HUB_MAX_QUEUED_MPX = 1.5 * order_pixels(mosaic) / 1e6
    with django_capture_on_commit_callbacks(execute=False):
        assert post(client, change, alice_token).status_code == 429
        assert post(client, ORDER, alice_token).status_code == 201
    assert MosaicRequest.objects.count() == 1


def test_the_ordering_form_says_which_limit_was_reached(
        client, alice, settings, django_capture_on_commit_callbacks):
    settings.HUB_MAX_ACTIVE_ORDERS = 1
    stored_request(alice, status=Status.RUNNING)
    client.force_login(alice)
    form = {**ORDER, "aoi": ",".join(map(str, ORDER["aoi"])), "bands": ORDER["bands"]}
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post("/requests/new/", form)
    assert response.status_code == 200
    assert "HUB_MAX_ACTIVE_ORDERS = 1" in response.content.decode()
    assert MosaicRequest.objects.count() == 1 and not queued
