"""My requests (filter, queue position, re-order), the product page and product expiry."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from hub.mosaics.models import MosaicRequest, ProductFile, Status
from hub.mosaics.services import (
    create_request,
    expire_products,
    process_request,
    read_order,
)
from tests.conftest import TEST_AOI_BBOX
from tests.hub.stored_requests import stored_request

pytestmark = pytest.mark.django_db

ORDER = {"name": "svc", "aoi": list(TEST_AOI_BBOX), "start": "2023-06-01", "period": "month",
         "resolution": 60, "crs": "UTM", "bands": ["B02", "B03", "B04"],
         "aux": ["valid_obs", "source_index"], "metadata": ["json", "inspire"]}


def make_request(owner, name="r", status=Status.QUEUED, created=None, **fields):
    req = stored_request(owner, name, status, **fields)
    if created is not None:  # created_at is auto_now_add: set it after the insert
        MosaicRequest.objects.filter(pk=req.pk).update(created_at=created)
        req.refresh_from_db()
    return req


def done_product(owner, capture, **changes) -> MosaicRequest:
    """A request run through the real pipeline to DONE."""
    with capture(execute=False):
        req = create_request(read_order({**ORDER, **changes}), owner)
    process_request(str(req.pk))
    req.refresh_from_db()
    assert req.status == Status.DONE, req.error
    return req


def page_html(response) -> str:
    return unescape(response.content.decode())


def page_text(response) -> str:
    """What a reader sees: the page without tags, whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", page_html(response)).split())


# ---------------------------------------------------------------- My requests


def test_the_name_filter_is_case_insensitive_own_only_and_kept_in_the_box(client, alice, bob):
    for name in ("June-Meath", "july", "early_JUNE"):
        make_request(alice, name)
    make_request(bob, "june-bob")
    client.force_login(alice)
    response = client.get("/requests/", {"q": "june"})
    shown = [row.req.name for row in response.context["rows"]]
    assert sorted(shown) == ["June-Meath", "early_JUNE"]
    html, text = page_html(response), page_text(response)
    assert 'name="q" value="june"' in html and "2 of 3 requests" in text
    assert "june-bob" not in html and "july" not in text
    nothing = client.get("/requests/", {"q": "zzz"})
    assert nothing.context["rows"] == [] and "No request name contains" in page_text(nothing)
    assert len(client.get("/requests/").context["rows"]) == 3


def test_the_list_comes_in_pages_of_twenty_newest_first_with_the_filter_kept(client, alice,
                                                                              bob):
    t0 = timezone.now() - timedelta(days=1)
    for n in range(45):
        make_request(alice, f"r{n:02d}", Status.FAILED, created=t0 + timedelta(minutes=n),
                     error="the archive could not be searched")
    make_request(bob, "bobs", Status.FAILED)
    client.force_login(alice)
    first = client.get("/requests/")
    assert [r.req.name for r in first.context["rows"]] == [f"r{n:02d}" for n in range(44, 24, -1)]
    text = page_text(first)
    assert "Page 1 of 3 · requests 1–20 of 45" in text and "Older ›" in text
    assert 'href="?page=2" rel="next"' in page_html(first)
    last = client.get("/requests/", {"page": "3"})
    assert [r.req.name for r in last.context["rows"]] == [f"r{n:02d}" for n in range(4, -1, -1)]
    # Not a page: the nearest one, never an error.
    assert client.get("/requests/", {"page": "99"}).context["page"].number == 3
    assert client.get("/requests/", {"page": "x"}).context["page"].number == 1
    # The filter is kept from page to page.
    filtered = client.get("/requests/", {"q": "r1", "page": "1"})
    assert len(filtered.context["rows"]) == 10 and "10 of 45 requests" in page_text(filtered)
    assert "Page" not in page_text(filtered)
    many = client.get("/requests/", {"q": "r"})
    assert 'href="?q=r&amp;page=2"' in many.content.decode()
    # A failed row links to its page, where the whole reason is.
    row = first.content.decode().split('data-name="r44"')[1].split("</tr>")[0]
    assert re.search(r'<a class="why" href="/requests/[0-9a-f-]+/">What went wrong', row)


def test_queue_position_counts_every_users_queued_requests_in_order(client, alice, bob):
    t0 = timezone.now() - timedelta(hours=1)
    make_request(bob, "bobs-first", created=t0)
    make_request(alice, "running", status=Status.RUNNING, created=t0 - timedelta(minutes=5))
    second = make_request(alice, "second", created=t0 + timedelta(minutes=1))
    third = make_request(alice, "third", created=t0 + timedelta(minutes=2))
    make_request(alice, "finished", status=Status.DONE, created=t0 - timedelta(minutes=9))
    client.force_login(alice)
    rows = {r.req.name: r for r in client.get("/requests/").context["rows"]}
    assert rows["second"].queue_position == 2 and rows["third"].queue_position == 3
    assert rows["running"].queue_position is None and rows["finished"].queue_position is None
    assert "3 in queue" in page_text(client.get("/requests/"))
    api = client.get(f"/api/v1/mosaics/{third.pk}").json()
    assert api["queue_position"] == 3
    MosaicRequest.objects.filter(name="bobs-first").update(status=Status.RUNNING)
    assert client.get(f"/api/v1/mosaics/{third.pk}").json()["queue_position"] == 2
    assert client.get(f"/api/v1/mosaics/{second.pk}").json()["queue_position"] == 1


def test_reorder_prefills_the_form_and_places_a_new_request(
        client, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        old = create_request(read_order({**ORDER, "name": "first", "period": "custom",
                              "end": "2023-06-20", "cloud_buffer": 2}), alice)
    old.refresh_from_db()  # the options as stored (JSON lists, not the spec's tuples)
    client.force_login(alice)
    response = client.get("/requests/new/", {"from": str(old.pk)})
    assert response.status_code == 200
    initial = response.context["form"].initial
    assert json.loads(initial["aoi"]) == old.options["aoi"]
    assert initial["period"] == "custom" and initial["end"] == "2023-06-20"
    assert initial["start"] == "2023-06-01" and initial["crs"] == f"EPSG:{old.spec.crs}"
    assert initial["bands"] == ["B02", "B03", "B04"] and initial["cloud_buffer"] == 2
    html = page_html(response)
    assert "Options copied from first" in html
    assert re.search(r'<input[^>]*name="bands" value="B03"[^>]*checked', html)
    assert not re.search(r'<input[^>]*name="bands" value="B01"[^>]*checked', html)
    form = response.context["form"]
    data = {name: form[name].value() for name in form.fields}
    data = {k: v for k, v in data.items() if v not in (None, "")}
    data.update(name="second", resolution="20")
    with django_capture_on_commit_callbacks(execute=False):
        placed = client.post(f"/requests/new/?from={old.pk}", data)
    assert placed.status_code == 302, placed.context["form"].errors
    new = MosaicRequest.objects.exclude(pk=old.pk).get()
    assert new.name == "second" and new.spec.resolution == 20
    assert new.options | {"name": "x", "resolution": 0} == \
        old.options | {"name": "x", "resolution": 0}
    old.refresh_from_db()
    assert old.name == "first" and old.spec.resolution == 60 and old.status == Status.QUEUED


def test_reorder_of_someone_elses_or_a_malformed_id_is_404(client, alice, bob):
    theirs = make_request(bob, "bobs")
    client.force_login(alice)
    assert client.get("/requests/new/", {"from": str(theirs.pk)}).status_code == 404
    assert client.get("/requests/new/", {"from": "not-a-uuid"}).status_code == 404


def test_other_users_get_404_for_the_product_page_and_actions(client, alice, bob):
    req = make_request(alice, "mine", status=Status.DONE)
    client.force_login(bob)
    assert client.get(f"/requests/{req.pk}/").status_code == 404
    assert client.post(f"/requests/{req.pk}/remove/").status_code == 404
    assert "mine" not in page_text(client.get("/requests/"))
    assert MosaicRequest.objects.filter(pk=req.pk, status=Status.DONE).exists()


# ---------------------------------------------------------------- product page


def test_the_product_page_places_the_quicklook_and_renders_the_metadata(
        client, alice, hub_dirs, django_capture_on_commit_callbacks):
    req = done_product(alice, django_capture_on_commit_callbacks)
    client.force_login(alice)
    response = client.get(f"/requests/{req.pk}/")
    html = page_text(response)
    quicklook = response.context["map_data"]["quicklook"]
    assert quicklook["url"].endswith(".png") and client.get(quicklook["url"]).status_code == 200
    west, south, east, north = TEST_AOI_BBOX
    (tl_lat, tl_lon), (tr_lat, tr_lon), (bl_lat, bl_lon) = quicklook["corners"]
    # The grid covers the AOI snapped outwards to whole 60 m pixels, in UTM (rotated slightly).
    assert tl_lon == pytest.approx(west, abs=0.003) and tl_lat == pytest.approx(north, abs=0.003)
    assert tr_lon == pytest.approx(east, abs=0.003) and bl_lat == pytest.approx(south, abs=0.003)
    assert tr_lat != tl_lat  # a UTM grid is not aligned with lon/lat: corners, not a bbox
    assert response.context["map_data"]["aoi"] == req.options["aoi"]
    for text in ("EPSG:32629 (WGS 84 / UTM zone 29N)", "Monthly, 2023-06-01 to 2023-06-30",
                 "60 m", "490 nm", "560 nm", "665 nm", "65535", "0.0001", "29UNU", "29UPU",
                 "04.00", "Processing version", "Contains modified Copernicus Sentinel data"):
        assert text in html, text
    links = dict(response.context["links"])
    assert set(links) >= {"INSPIRE metadata (ISO 19139 XML)", "Metadata (JSON)", "STAC Item",
                          "All files (zip)", "Metalink (.meta4) for download managers"}
    for url in links.values():
        assert client.get(url).status_code == 200, url
    for f in req.files.all():
        assert f.sha256 in html and f.name in html


def test_a_queued_request_page_shows_the_area_and_no_product(client, alice):
    req = make_request(alice, "waiting", options={"aoi": {"type": "Polygon", "coordinates": [
        [[-7.46, 52.73], [-7.43, 52.73], [-7.43, 52.75], [-7.46, 52.73]]]}})
    client.force_login(alice)
    response = client.get(f"/requests/{req.pk}/")
    assert response.status_code == 200 and response.context["metadata"] is None
    assert response.context["map_data"] == {"aoi": req.options["aoi"], "quicklook": None}
    assert "1 in queue" in page_text(response)


# ---------------------------------------------------------------- expiry


def files_under(folder: Path, media: Path) -> list[str]:
    """The files of a product folder, as ProductFile paths (relative to the media root)."""
    return sorted(str(p.relative_to(media)) for p in folder.rglob("*") if p.is_file())


def test_products_expire_after_the_retention_files_gone_410_and_idempotent(
        client, alice, hub_dirs, settings, django_capture_on_commit_callbacks):
    settings.HUB_RETENTION_DAYS = 3
    req = done_product(alice, django_capture_on_commit_callbacks)
    assert req.expires_at - req.finished_at == pytest.approx(timedelta(days=3),
                                                             abs=timedelta(seconds=5))
    folder = hub_dirs["media"] / req.product_folder
    listed = sorted(req.files.values_list("path", flat=True))
    assert listed == files_under(folder, hub_dirs["media"]) != []
    name = req.files.first().name
    client.force_login(alice)
    assert f"expires {req.expires_at:%Y-%m-%d}" in page_text(client.get("/requests/"))

    assert expire_products(req.expires_at - timedelta(seconds=1)) == []
    # not due yet: the rows and the files stay
    assert sorted(req.files.values_list("path", flat=True)) == listed
    assert files_under(folder, hub_dirs["media"]) == listed

    expired = expire_products(req.expires_at + timedelta(seconds=1))
    assert [r.pk for r in expired] == [req.pk]
    req.refresh_from_db()
    assert req.status == Status.EXPIRED and not folder.exists()
    assert ProductFile.objects.filter(request=req).count() == 0
    for url in (f"/api/v1/mosaics/{req.pk}/files/{name}", f"/api/v1/mosaics/{req.pk}/zip",
                f"/api/v1/mosaics/{req.pk}/metalink"):
        gone = client.get(url)
        assert gone.status_code == 410, url
        assert f"expired on {req.expires_at:%Y-%m-%d}" in gone.json()["error"]
    listing = client.get("/requests/")
    assert f"expired on {req.expires_at:%Y-%m-%d}" in page_text(listing)
    assert "status-expired" in page_html(listing)
    assert expire_products(req.expires_at + timedelta(days=30)) == []
    req.refresh_from_db()
    assert req.status == Status.EXPIRED


def test_expiry_tolerates_files_already_gone_and_leaves_other_requests(alice, hub_dirs):
    past = timezone.now() - timedelta(minutes=1)
    vanished = make_request(alice, "vanished", status=Status.DONE, expires_at=past,
                            product_folder="gone-already")
    ProductFile.objects.create(request=vanished, name="a.tif", path="gone-already/a.tif",
                               size=1, sha256="0" * 64)
    make_request(alice, "fresh", status=Status.DONE,
                         expires_at=timezone.now() + timedelta(days=1), product_folder="fresh")
    (hub_dirs["media"] / "fresh").mkdir()
    make_request(alice, "running", status=Status.RUNNING, expires_at=past)
    assert [r.name for r in expire_products()] == ["vanished"]
    statuses = dict(MosaicRequest.objects.values_list("name", "status"))
    assert statuses == {"vanished": Status.EXPIRED, "fresh": Status.DONE,
                        "running": Status.RUNNING}
    assert (hub_dirs["media"] / "fresh").is_dir()


def test_the_operator_command_and_the_scheduled_task_expire_due_products(alice, hub_dirs):
    from io import StringIO

    from workers.tasks import expire_products as task

    past = timezone.now() - timedelta(hours=1)
    make_request(alice, "a", status=Status.DONE, expires_at=past, product_folder="a")
    out = StringIO()
    call_command("expire_products", stdout=out)
    assert "1 product(s) expired" in out.getvalue()
    make_request(alice, "b", status=Status.DONE, expires_at=past, product_folder="b")
    assert task() == 1 and task() == 0


def test_beat_schedules_a_registered_task_and_keeps_its_state_under_the_state_dir(settings):
    from workers.celery import app

    app.loader.import_default_modules()
    entry = settings.CELERY_BEAT_SCHEDULE["expire-products"]
    assert entry["task"] in app.tasks
    assert entry["schedule"] == settings.HUB_EXPIRY_INTERVAL_S
    assert app.conf.beat_schedule_filename.startswith(str(settings.HUB_STATE_DIR))


@pytest.mark.parametrize(("seconds", "text"), [(0, "0 s"), (59.4, "59 s"), (185, "3 min 05 s"),
                                               (7620, "2 h 07 min")])
def test_time_taken_reads_at_a_glance(seconds, text):
    from hub.mosaics.listing import format_duration

    assert format_duration(timedelta(seconds=seconds)) == text
