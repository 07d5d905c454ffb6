"""Catalogue admin: staff create and edit families, non-staff are refused; migrated portfolio."""

from __future__ import annotations

import importlib

import pytest
from django.core.exceptions import ValidationError

from hub.catalogue.models import Document, Item, ProductFamily

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/catalogue/productfamily/add/"


def inline_management(prefix: str, total: int = 0) -> dict[str, str]:
    """The management form of an empty admin inline."""
    return {f"{prefix}-TOTAL_FORMS": str(total), f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"}


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_superuser("carol", password="carol-secret-1")


def family_post() -> dict[str, str]:
    """A family with one linked document, as the admin add form posts it."""
    return {
        "slug": "demo-ndwi", "name": "Demo NDWI", "theme": "water", "variable": "NDWI",
        "resolutions": "300 m, 1 km", "temporal_frequency": "10-daily", "coverage": "global",
        "status": "in production", "licence": "CC-BY-4.0", "description": "test family",
        "ordering_url": "",
        **inline_management("documents", 1), **inline_management("items"),
        "documents-0-kind": "PUM", "documents-0-title": "Demo NDWI manual",
        "documents-0-version": "1.0", "documents-0-url": "https://example.org/pum.pdf",
    }


def test_staff_create_a_family_with_a_document_through_the_admin(client, staff) -> None:
    client.force_login(staff)
    assert client.get(ADD_URL).status_code == 200
    response = client.post(ADD_URL, family_post())
    assert response.status_code == 302, response.context["adminform"].form.errors
    family = ProductFamily.objects.get(slug="demo-ndwi")
    assert family.resolutions == ["300 m", "1 km"]
    assert family.documents.get().url == "https://example.org/pum.pdf"


def test_staff_change_list_filter_and_delete(client, staff) -> None:
    client.force_login(staff)
    client.post(ADD_URL, family_post())
    family = ProductFamily.objects.get(slug="demo-ndwi")
    listing = client.get("/admin/catalogue/productfamily/", {"resolution": "300 m",
                                                             "theme__exact": "water"})
    names = [f.name for f in listing.context["cl"].result_list]
    assert "Demo NDWI" in names and "Lake Ice Extent" not in names
    found = client.get("/admin/catalogue/productfamily/", {"q": "NDWI"}).context["cl"]
    assert [f.slug for f in found.result_list] == ["demo-ndwi"]
    response = client.post(f"/admin/catalogue/productfamily/{family.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not ProductFamily.objects.filter(slug="demo-ndwi").exists()


def test_a_document_without_file_or_url_is_refused(client, staff) -> None:
    client.force_login(staff)
    data = family_post()
    data["documents-0-url"] = ""
    response = client.post(ADD_URL, data)
    assert response.status_code == 200
    assert not ProductFamily.objects.filter(slug="demo-ndwi").exists()


def test_the_item_admin_lists_and_filters_by_period(client, staff) -> None:
    lwq = ProductFamily.objects.get(slug="lwq")
    Item.objects.create(family=lwq, identifier="c_gls_LWQ1km_201808110000_GL",
                        start="2018-08-11", end="2018-08-20",
                        footprint={"type": "Polygon",
                                   "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]})
    client.force_login(staff)
    response = client.get("/admin/catalogue/item/", {"start__year": "2018",
                                                     "family__theme__exact": "water"})
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 1
    assert client.get("/admin/catalogue/item/", {"start__year": "2019"}).context[
        "cl"].result_count == 0


@pytest.mark.parametrize("url", [ADD_URL, "/admin/catalogue/item/"])
def test_non_staff_are_sent_to_the_admin_login(client, alice, url: str) -> None:
    client.force_login(alice)
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert client.post(ADD_URL, family_post()).status_code == 302
    assert not ProductFamily.objects.filter(slug="demo-ndwi").exists()


def test_the_data_migration_loaded_the_portfolio() -> None:
    assert ProductFamily.objects.count() == 20
    mosaic = ProductFamily.objects.get(slug="sentinel-2-global-mosaic")
    assert mosaic.ordering_url == "/requests/new/"
    assert (mosaic.theme, mosaic.resolutions) == ("imagery", ["10 m", "20 m", "60 m"])
    assert ProductFamily.objects.get(slug="land-cover").resolutions == ["100 m"]
    assert Document.objects.filter(family__slug="ndvi").count() == 3
    # Metadata only: no document copies, no items.
    assert not Document.objects.exclude(file="").exists()
    assert not Item.objects.exists()


def test_every_clms_family_links_its_official_page_and_documents() -> None:
    clms = ProductFamily.objects.exclude(slug="sentinel-2-global-mosaic")
    assert clms.count() == 19
    for family in clms:
        assert family.product_page_url.startswith("https://land.copernicus.eu/en/products/")
        documents = list(family.documents.all())
        assert [d.kind for d in documents] == ["ATBD", "PUM", "QAR"], family.slug
        # Links to the page that lists them, not copies and not guessed file addresses.
        assert {d.url for d in documents} == {family.product_page_url}, family.slug
    assert ProductFamily.objects.get(slug="sentinel-2-global-mosaic").product_page_url == ""
    assert set(Document.objects.filter(family__slug="lai").values_list("version", flat=True)) \
        == {"V2"}  # the version of the product the page describes


def test_unlinking_restores_the_seeded_references() -> None:
    from django.apps import apps

    migration = importlib.import_module("hub.catalogue.migrations.0004_clms_product_pages")
    migration.unlink(apps, None)
    assert not ProductFamily.objects.exclude(product_page_url="").exists()
    assert not Document.objects.exclude(url="").exists()
    assert set(Document.objects.filter(family__slug="lai").values_list("version", flat=True)) \
        == {"V1"}
    migration.link(apps, None)
    assert Document.objects.filter(family__slug="lai", version="V2").exclude(url="").count() == 3


def test_item_footprints_are_validated() -> None:
    lwq = ProductFamily.objects.get(slug="lwq")
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    item = Item(family=lwq, identifier="x", start="2018-08-20", end="2018-08-11",
                footprint=bowtie)
    with pytest.raises(ValidationError) as raised:
        item.full_clean()
    assert set(raised.value.message_dict) == {"end", "footprint"}


def test_a_document_with_both_file_and_url_is_refused(settings, tmp_path) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.HUB_MEDIA_ROOT = tmp_path
    doc = Document(family=ProductFamily.objects.get(slug="ndvi"), kind="ATBD", title="t",
                   url="https://example.org/atbd.pdf",
                   file=SimpleUploadedFile("atbd.pdf", b"%PDF-1.4"))
    with pytest.raises(ValidationError, match="not both"):
        doc.full_clean()
