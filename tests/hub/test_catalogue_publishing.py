"""Publishing a finished mosaic into the catalogue: an item with the product's files, checksums,
INSPIRE record and STAC item; idempotent; refused for unfinished requests; files outlive the
request; public downloads with byte ranges."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pystac
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from shapely.geometry import shape

from hub.catalogue.models import Item, ItemFile, ProductFamily, catalogue_root
from hub.catalogue.publishing import (
    MOSAIC_FAMILY,
    PublishError,
    item_identifier,
    publish_request,
)
from hub.mosaics.models import MosaicRequest, Status
from hub.mosaics.services import cancel_or_delete, expire_products, process_request, read_order
from tests.compositing.products.test_inspire import load_iso_schema
from tests.conftest import TEST_AOI_BBOX
from tests.hub.stored_requests import stored_request
from tests.hub.test_stac_schema import errors as stac_errors

pytestmark = pytest.mark.django_db

ORDER = {"name": "wicklow", "aoi": list(TEST_AOI_BBOX), "start": "2023-06-01",
         "period": "month", "resolution": 60, "crs": "EPSG:32629",
         "bands": ["B02", "B03", "B04"], "aux": ["valid_obs"]}


@pytest.fixture
def done(hub_dirs, alice) -> MosaicRequest:
    """A finished 60 m mosaic of June 2023 over the demo area, composed here."""
    req = MosaicRequest.from_spec(read_order(ORDER), alice)
    req.save()
    process_request(str(req.pk))
    req.refresh_from_db()
    assert req.status == Status.DONE, req.error
    return req


@pytest.fixture
def mosaics() -> ProductFamily:
    return ProductFamily.objects.get(slug=MOSAIC_FAMILY)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_publishing_makes_an_item_with_the_products_files(done, mosaics, hub_dirs) -> None:
    published = publish_request(done, mosaics)
    assert published.outcome == "created"
    item = published.item
    assert item.identifier == Path(done.product_folder).name == item_identifier(done)
    assert item.identifier.startswith("S2GM_M60_20230601_20230630_wicklow_")
    assert (item.family, str(item.start), str(item.end)) == (mosaics, "2023-06-01", "2023-06-30")
    assert shape(item.footprint).equals(done.spec.aoi)
    assert (item.epsg, item.resolution_m) == (32629, 60.0)
    assert item.credit == "Contains modified Copernicus Sentinel data 2023"
    assert "Inputs (" in item.lineage and "L2A granules" in item.lineage
    product = {f.name: f for f in done.files.all()}
    files = {f.name: f for f in item.files.all()}
    assert set(files) == set(product) and "metadata.json" in files
    for name, entry in files.items():
        local = entry.local_file()
        assert local is not None and local.is_relative_to(catalogue_root())
        assert (entry.size, entry.sha256) == (product[name].size, product[name].sha256)
        assert local.stat().st_size == entry.size and sha256(local) == entry.sha256
        # A hard link of the product's file: the same bytes, no second copy.
        assert local.samefile(hub_dirs["media"] / product[name].path)


def test_published_files_outlive_the_request(client, done, mosaics, hub_dirs) -> None:
    item = publish_request(done, mosaics).item
    MosaicRequest.objects.filter(pk=done.pk).update(expires_at=timezone.now())
    assert [r.pk for r in expire_products()] == [done.pk]
    assert not (hub_dirs["media"] / done.product_folder).exists()
    cancel_or_delete(MosaicRequest.objects.get(pk=done.pk))  # the owner deletes it too
    for entry in ItemFile.objects.filter(item=item):
        local = entry.local_file()
        assert local is not None and sha256(local) == entry.sha256
    assert client.get(item.get_absolute_url()).status_code == 200


def test_publishing_twice_changes_nothing(done, mosaics) -> None:
    first = publish_request(done, mosaics)
    files = sorted(first.item.files.values_list("pk", "name", "sha256"))
    again = publish_request(done, mosaics)
    assert (again.outcome, again.item.pk) == ("unchanged", first.item.pk)
    assert sorted(again.item.files.values_list("pk", "name", "sha256")) == files
    assert Item.objects.count() == 1
    # Once expired, the request is still "published": that item stands.
    MosaicRequest.objects.filter(pk=done.pk).update(expires_at=timezone.now())
    expire_products()
    done.refresh_from_db()
    assert publish_request(done, mosaics).outcome == "unchanged"


def test_a_missing_catalogue_file_is_linked_again(done, mosaics) -> None:
    item = publish_request(done, mosaics).item
    lost = item.files.get(name="metadata.json").local_file()
    assert lost is not None
    lost.unlink()
    assert publish_request(done, mosaics).outcome == "unchanged"
    assert lost.is_file()


def test_a_tiled_product_keeps_its_tile_folders(client, hub_dirs, alice, mosaics) -> None:
    req = MosaicRequest.from_spec(read_order({**ORDER, "name": "tiled", "tiling": "mgrs"}),
                                  alice)
    req.save()
    process_request(str(req.pk))
    req.refresh_from_db()
    item = publish_request(req, mosaics).item
    tiled = [f for f in item.files.all() if "/" in f.name]
    assert {f.name.split("/")[0] for f in tiled} == {"29UNU", "29UPU"}
    for entry in tiled:
        local = entry.local_file()
        assert local is not None and local.parent.name == entry.name.split("/")[0]
        response = client.get(f"/catalogue/files/{entry.pk}/")
        assert hashlib.sha256(b"".join(response.streaming_content)).hexdigest() == entry.sha256


def test_a_change_product_is_published_over_both_its_periods(hub_dirs, alice, mosaics) -> None:
    order = {**ORDER, "name": "june-change", "period": "tenday", "compare_start": "2023-06-21",
             "bands": ["B02", "B03", "B04", "B08"], "aux": []}
    req = MosaicRequest.from_spec(read_order(order), alice)
    req.save()
    process_request(str(req.pk))
    req.refresh_from_db()
    assert req.status == Status.DONE, req.error
    item = publish_request(req, mosaics).item
    assert (str(item.start), str(item.end)) == ("2023-06-01", "2023-06-30")
    assert "2023-06-21 to 2023-06-30 are compared by Change Vector Analysis" in item.lineage
    assert item.description.startswith("Change in Copernicus Sentinel-2")
    names = {f.name for f in item.files.all()}
    assert {f"{layer}_T60_20230601_june-change.tif" for layer in
            ("change_class", "change_mask", "before", "after")} <= names


@pytest.mark.parametrize("status", [Status.QUEUED, Status.RUNNING, Status.FAILED,
                                    Status.CANCELLED, Status.EXPIRED])
def test_a_request_that_is_not_finished_is_refused(hub_dirs, alice, mosaics, status) -> None:
    req = stored_request(alice, "unfinished", status=status)
    with pytest.raises(PublishError, match="only a finished mosaic"):
        publish_request(req, mosaics)
    assert not Item.objects.exists()
    assert not catalogue_root().exists()


def test_a_product_whose_files_are_gone_is_refused(done, mosaics, hub_dirs) -> None:
    (hub_dirs["media"] / done.files.get(name="metadata.json").path).unlink()
    with pytest.raises(PublishError, match="missing from product storage: metadata.json"):
        publish_request(done, mosaics)
    assert not Item.objects.exists() and not catalogue_root().exists()


def test_an_item_stays_in_the_family_it_was_published_in(done, mosaics) -> None:
    publish_request(done, mosaics)
    with pytest.raises(PublishError, match="already published in Sentinel-2 Global Mosaic"):
        publish_request(done, ProductFamily.objects.get(slug="ndvi"))
    assert Item.objects.get().family == mosaics


@pytest.mark.heavy
def test_the_inspire_record_of_a_published_mosaic_is_valid_iso19139(client, done,
                                                                    mosaics) -> None:
    item = publish_request(done, mosaics).item
    response = client.get(f"{item.get_absolute_url()}inspire.xml")
    assert response.status_code == 200
    errors = list(load_iso_schema().iter_errors(response.content.decode("utf-8")))
    assert errors == [], "\n".join(str(e.reason) for e in errors[:5])


def test_the_inspire_record_says_what_the_product_is(client, done, mosaics) -> None:
    etree = pytest.importorskip("lxml.etree")
    iso = pytest.importorskip("owslib.iso")
    item = publish_request(done, mosaics).item
    record = client.get(f"{item.get_absolute_url()}inspire.xml").content
    md = iso.MD_Metadata(etree.fromstring(record))
    assert md.identifier == item.identifier
    assert md.referencesystem.code == "EPSG:32629"
    ident = md.identification[0]
    assert (ident.distance, ident.uom) == (["60"], ["m"])
    assert ident.abstract.startswith("Best-available-pixel composite")
    assert [k.name for k in ident.keywords[0].keywords] == ["Orthoimagery"]
    assert b"Copernicus Land Monitoring Service" not in record
    urls = [o.url for o in md.distribution.online]
    assert len(urls) == item.files.count()
    assert all(u.startswith("http://testserver/catalogue/files/") for u in urls)
    assert item.lineage == md.dataquality.lineage


def test_the_stac_item_of_a_published_mosaic_is_valid_stac(client, done, mosaics) -> None:
    item = publish_request(done, mosaics).item
    url = f"/catalogue/stac/collections/{MOSAIC_FAMILY}/items/{item.identifier}"
    document = client.get(url).json()
    assert stac_errors("item", document) == []
    stac = pystac.Item.from_dict(document)
    assert stac.properties["proj:code"] == "EPSG:32629" and stac.properties["gsd"] == 60.0
    files = {f.name: f for f in item.files.all()}
    for name, entry in files.items():
        asset = stac.assets[name]
        assert asset.extra_fields["file:checksum"] == "1220" + entry.sha256
        assert asset.extra_fields["file:size"] == entry.size
    quicklook = next(n for n in files if n.startswith("quicklook"))
    assert stac.assets[quicklook].roles == ["overview"]
    assert stac.assets["metadata.json"].roles == ["metadata"]


def test_anyone_downloads_a_published_file_and_resumes_it(client, done, mosaics) -> None:
    item = publish_request(done, mosaics).item
    entry = next(f for f in item.files.all() if f.name.startswith("bands_"))
    url = f"/catalogue/files/{entry.pk}/"
    whole = client.get(url)
    assert whole.status_code == 200 and whole["Accept-Ranges"] == "bytes"
    body = b"".join(whole.streaming_content)
    assert hashlib.sha256(body).hexdigest() == entry.sha256
    assert whole["Content-Disposition"] == f'attachment; filename="{entry.name}"'
    part = client.get(url, HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 100-199/{entry.size}"
    assert b"".join(part.streaming_content) == body[100:200]
    resumed = client.get(url, HTTP_RANGE=f"bytes={entry.size - 10}-",
                         HTTP_IF_RANGE=f'"{entry.sha256}"')
    assert b"".join(resumed.streaming_content) == body[-10:]
    stale = client.get(url, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"another"')
    assert stale.status_code == 200  # the file changed since: all of it
    assert client.head(url)["Content-Length"] == str(entry.size)


def test_the_item_page_lists_its_files_and_the_product(client, done, mosaics) -> None:
    item = publish_request(done, mosaics).item
    page = client.get(item.get_absolute_url())
    assert page.status_code == 200
    text = page.content.decode()
    for entry in item.files.all():
        assert f'href="/catalogue/files/{entry.pk}/"' in text and entry.sha256 in text
    assert "EPSG:32629 (WGS 84 / UTM zone 29N)" in text
    assert "Source acquisitions" in text  # the product's metadata.json, as its page shows it
    assert page.context["map_data"]["quicklook"]["url"].startswith("/catalogue/files/")
    family = client.get(f"/catalogue/families/{MOSAIC_FAMILY}/").content.decode()
    assert f'href="{item.get_absolute_url()}"' in family


def test_staff_publish_from_the_product_page(client, done, alice) -> None:
    client.force_login(alice)
    detail = f"/requests/{done.pk}/"
    assert 'id="publish"' not in client.get(detail).content.decode()
    assert client.post(f"/catalogue/publish/{done.pk}/",
                       {"family": MOSAIC_FAMILY}).status_code == 403
    assert not Item.objects.exists()
    alice.is_staff = True
    alice.save()
    assert 'id="publish"' in client.get(detail).content.decode()
    response = client.post(f"/catalogue/publish/{done.pk}/", {"family": MOSAIC_FAMILY})
    item = Item.objects.get()
    assert response.status_code == 302 and response["Location"] == item.get_absolute_url()
    page = client.get(detail).content.decode()
    assert 'id="publish"' not in page and f'href="{item.get_absolute_url()}"' in page


def test_staff_publish_finished_requests_with_the_admin_action(client, done, alice,
                                                               django_user_model) -> None:
    queued = stored_request(alice, "still-queued")
    staff = django_user_model.objects.create_superuser("carol", password="carol-secret-1")
    client.force_login(staff)
    response = client.post("/admin/mosaics/mosaicrequest/", {
        "action": "publish_to_catalogue", "family": MOSAIC_FAMILY,
        "_selected_action": [str(done.pk), str(queued.pk)]}, follow=True)
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert any(m.startswith(f"{item_identifier(done)} created in") for m in shown), shown
    assert any("still-queued is order placed" in m for m in shown), shown
    assert Item.objects.get().identifier == item_identifier(done)


def test_the_publish_mosaic_command(done, capsys) -> None:
    call_command("publish_mosaic", str(done.pk))
    out = capsys.readouterr().out
    assert f"{item_identifier(done)} created in Sentinel-2 Global Mosaic" in out
    call_command("publish_mosaic", str(done.pk), "--family", MOSAIC_FAMILY)
    assert "unchanged" in capsys.readouterr().out
    with pytest.raises(CommandError, match="no mosaic request"):
        call_command("publish_mosaic", "not-a-uuid")
    with pytest.raises(CommandError, match="no product family 'nope'"):
        call_command("publish_mosaic", str(done.pk), "--family", "nope")


def test_the_command_refuses_an_unfinished_request(hub_dirs, alice) -> None:
    req = stored_request(alice, "running", status=Status.RUNNING,
                         started_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(CommandError, match="not published: request running is processing"):
        call_command("publish_mosaic", str(req.pk))
    assert not Item.objects.exists()
