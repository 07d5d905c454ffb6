"""REST API: ordering, validation that changes nothing, ownership, auth."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from shapely.geometry import shape

from hub.mosaics.models import MosaicRequest, ProductFile, Status
from tests.hub.stored_requests import stored_request

pytestmark = pytest.mark.django_db

ORDER = {
    "name": "api-test",
    "aoi": [-7.6, 53.2, -7.55, 53.23],
    "period": "month",
    "start": "2023-06-01",
    "resolution": 20,
    "crs": "EPSG:32629",
    "format": "GTiff",
    "bands": ["B02", "B03", "B04", "B08"],
}


def post(client, body, token=None):
    headers = {"HTTP_AUTHORIZATION": f"Token {token}"} if token else {}
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post("/api/v1/mosaics", data=data, content_type="application/json", **headers)


def test_an_order_is_saved_and_enqueued_after_commit(client, alice_token,
                                                     django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post(client, ORDER, alice_token)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "QUEUED" and body["progress"] == 0
    assert body["options"]["end"] == "2023-06-30"
    assert response["Location"] == f"/api/v1/mosaics/{body['id']}"
    assert len(callbacks) == 1
    req = MosaicRequest.objects.get()
    assert req.owner.username == "alice" and req.options["bands"] == ORDER["bands"]


@pytest.mark.parametrize("changes,field", [
    ({"aoi": '{"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]'}, "aoi"),
    ({"aoi": [-7.6, 53.2, -7.6, 53.23]}, "aoi"),
    ({"period": "custom", "start": "2023-06-20", "end": "2023-06-01"}, "end"),
    ({"bands": ["B02", "B99"]}, "bands"),
    ({"resolution": 15}, "resolution"),
    ({"crs": "EPSG:1"}, "crs"),
    ({"aoi": None}, "aoi"),
    ({"bands": None}, "bands"),  # a mosaic needs bands; only a change order has default ones
    ({"bands": []}, "bands"),
])
def test_bad_input_gets_400_naming_the_field_and_changes_nothing(
        client, alice_token, django_capture_on_commit_callbacks, changes, field):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post(client, {**ORDER, **changes}, alice_token)
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert response.json()["error"]
    assert MosaicRequest.objects.count() == 0
    assert callbacks == []


def test_a_body_that_is_not_json_gets_400(client, alice_token):
    response = post(client, "{not json", alice_token)
    assert response.status_code == 400 and response.json()["field"] == "body"


def test_anonymous_callers_get_401(client):
    assert client.get("/api/v1/mosaics").status_code == 401
    assert post(client, ORDER).status_code == 401
    assert client.get("/api/v1/mosaics", HTTP_AUTHORIZATION="Token nope").status_code == 401


def test_the_browser_pages_redirect_anonymous_users_to_login(client):
    response = client.get("/requests/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def make_done_request(owner, media, name="done"):
    req = stored_request(owner, name, Status.DONE, progress=100, product_folder="P1")
    (media / "P1").mkdir()
    (media / "P1" / "a.tif").write_bytes(b"tiff bytes")
    ProductFile.objects.create(request=req, name="a.tif", path="P1/a.tif", size=10,
                               sha256="0" * 64)
    return req


def test_bob_gets_404_for_alices_request_and_files(client, alice, bob, hub_dirs):
    req = make_done_request(alice, hub_dirs["media"])
    client.force_login(bob)
    assert client.get(f"/api/v1/mosaics/{req.id}").status_code == 404
    assert client.get(f"/api/v1/mosaics/{req.id}/files/a.tif").status_code == 404
    assert client.delete(f"/api/v1/mosaics/{req.id}").status_code == 404
    assert client.get(f"/requests/{req.id}/").status_code == 404
    assert client.get("/api/v1/mosaics").json()["count"] == 0
    assert MosaicRequest.objects.filter(pk=req.pk).exists()


def test_owner_downloads_lists_and_deletes(client, alice, hub_dirs):
    req = make_done_request(alice, hub_dirs["media"])
    client.force_login(alice)
    listing = client.get("/api/v1/mosaics").json()
    assert listing["count"] == 1 and listing["results"][0]["files"][0]["name"] == "a.tif"
    download = client.get(f"/api/v1/mosaics/{req.id}/files/a.tif")
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"tiff bytes"
    strict = type(client)(enforce_csrf_checks=True)
    strict.force_login(alice)
    assert strict.delete(f"/api/v1/mosaics/{req.id}").status_code == 403  # session needs CSRF
    assert client.delete(f"/api/v1/mosaics/{req.id}").status_code == 204
    assert not (hub_dirs["media"] / "P1").exists()
    assert not MosaicRequest.objects.filter(pk=req.pk).exists()


def test_deleting_an_active_request_cancels_it(client, alice, alice_token):
    req = stored_request(alice, "q")
    response = client.delete(f"/api/v1/mosaics/{req.id}", HTTP_AUTHORIZATION=f"Token {alice_token}")
    assert response.status_code == 200 and response.json()["status"] == "CANCELLED"


def test_openapi_document_describes_every_path(client):
    doc = client.get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert set(doc["paths"]) == {"/mosaics", "/mosaics/{id}", "/mosaics/{id}/files/{name}",
                                 "/mosaics/{id}/zip", "/mosaics/{id}/metalink", "/timeseries"}
    order = doc["components"]["schemas"]["Order"]
    assert "B8A" in order["properties"]["bands"]["items"]["enum"]


def list_queries(client, token) -> tuple[dict, int]:
    """The caller's request list and how many SQL queries serving it took."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/mosaics", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200
    return response.json(), len(queries)


def test_the_list_takes_as_many_queries_for_many_queued_requests_as_for_one(
        client, alice, bob, alice_token):
    from tests.hub.test_user_area import make_request

    t0 = timezone.now() - timedelta(hours=1)
    make_request(alice, "first", created=t0)
    list_queries(client, alice_token)  # the token's first use of the hour is written down
    _, few = list_queries(client, alice_token)
    # Interleave bob's queued requests, which take places in the queue alice cannot see, and
    # requests out of the queue (running, done with files) that have no place.
    for i in range(1, 25):
        owner = (alice, bob)[i % 2]
        status = (Status.QUEUED, Status.QUEUED, Status.RUNNING, Status.DONE)[i % 4]
        req = make_request(owner, f"r{i:02d}", status=status, created=t0 + timedelta(minutes=i))
        ProductFile.objects.create(request=req, name=f"f{i}.tif", path=f"x/f{i}.tif", size=i,
                                   sha256="0" * 64)
    body, many = list_queries(client, alice_token)
    assert many == few
    # The queue: first, then bob's r01 and alice's r04 alternately (r01, r04, r05, r08, ...).
    positions = {item["options"]["name"]: item["queue_position"] for item in body["results"]}
    queued = {"first": 1, **{f"r{4 * k:02d}": 2 * k + 1 for k in range(1, 7)}}
    assert {name: pos for name, pos in positions.items() if pos is not None} == queued
    assert body["count"] == 13 and len(body["results"]) == 13
    # The list and the single request agree on every position; the list gives the AOI's bbox.
    for item in body["results"]:
        single = client.get(item["links"]["self"], HTTP_AUTHORIZATION=f"Token {alice_token}")
        full = single.json()
        assert list(shape(full["options"].pop("aoi")).bounds) == item.pop("bbox")
        assert full == item


def test_the_list_gives_bboxes_and_never_reads_an_aoi(client, alice, alice_token):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.hub.test_hostile_input import polygon

    ring = polygon(19_000)
    for i in range(3):
        response = post(client, {**ORDER, "name": f"big{i}", "aoi": ring}, alice_token)
        assert response.status_code == 201, response.content
    single = client.get(response["Location"], HTTP_AUTHORIZATION=f"Token {alice_token}").json()
    assert single["options"]["aoi"]["coordinates"][0][:3] == ring["coordinates"][0][:3]
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/api/v1/mosaics", HTTP_AUTHORIZATION=f"Token {alice_token}")
    assert len(page.content) < 10_000
    item = page.json()["results"][0]
    assert "aoi" not in item["options"] and item["options"]["name"] == "big2"
    assert item["bbox"] == [round(v, 7) for v in shape(single["options"]["aoi"]).bounds]
    assert item["links"]["self"] == response["Location"]
    # The database leaves the geometry out: the page's rows name the options once, in the
    # expression that removes the AOI from them.
    (page_sql,) = [q["sql"] for q in queries if '"mosaics_mosaicrequest"."name"' in q["sql"]]
    assert page_sql.count('"options"') == 1 and "aoi'" in page_sql, page_sql


def test_requests_stored_before_the_bbox_field_get_it_from_their_aoi(client, alice,
                                                                      alice_token):
    req = stored_request(alice, "old")
    MosaicRequest.objects.filter(pk=req.pk).update(aoi_bbox=None)
    item = client.get("/api/v1/mosaics", HTTP_AUTHORIZATION=f"Token {alice_token}").json()[
        "results"][0]
    assert item["bbox"] == [round(v, 7) for v in req.spec.aoi.bounds]
