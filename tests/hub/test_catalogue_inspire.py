"""INSPIRE records of catalogue items: valid ISO 19139 (offline XSDs), readable by OWSLib."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from compositing.products.inspire import NS
from hub.catalogue.inspire import resolution_metres
from hub.catalogue.models import Item, ProductFamily
from tests.compositing.products.test_inspire import load_iso_schema
from tests.hub.catalogue_items import LWQ, create_lwq_item

pytestmark = pytest.mark.django_db

FOOTPRINT = {"type": "Polygon", "coordinates": [[[10.5, 40.25], [12, 40.25], [12, 42],
                                                  [10.5, 42], [10.5, 40.25]]]}
URL = f"/catalogue/families/lwq/items/{LWQ}/inspire.xml"


@pytest.fixture(scope="module")
def iso_schema():
    return load_iso_schema()


@pytest.fixture
def lwq_item() -> Item:
    """An LWQ item with an external NetCDF file and a local one."""
    return create_lwq_item(FOOTPRINT, local_quicklook=True)


def parse(body: bytes):
    etree = pytest.importorskip("lxml.etree")
    iso = pytest.importorskip("owslib.iso")
    return iso.MD_Metadata(etree.fromstring(body))


@pytest.mark.heavy
def test_an_item_record_is_served_and_valid_iso19139(client, lwq_item, iso_schema) -> None:
    response = client.get(URL)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    errors = list(iso_schema.iter_errors(response.content.decode("utf-8")))
    assert errors == [], "\n".join(str(e.reason) for e in errors[:5])


def test_owslib_reads_title_identifier_extent_and_links(client, lwq_item, settings) -> None:
    md = parse(client.get(URL).content)
    assert md.identifier == LWQ
    ident = md.identification[0]
    assert ident.title == "Lake Water Quality 2018-08-11 to 2018-08-20"
    assert ident.uricode == [LWQ]
    bbox = ident.bbox
    assert [float(v) for v in (bbox.minx, bbox.miny, bbox.maxx, bbox.maxy)] == \
        pytest.approx([10.5, 40.25, 12.0, 42.0])
    assert (ident.temporalextent_start, ident.temporalextent_end) == ("2018-08-11",
                                                                      "2018-08-20")
    theme = ident.keywords[0]
    assert [(k.name, k.url) for k in theme.keywords] == \
        [("Hydrography", "http://inspire.ec.europa.eu/theme/hy")]
    assert theme.thesaurus["title"] == "GEMET - INSPIRE themes, version 1.0"
    assert ident.topiccategory == ["inlandWaters"]
    assert (ident.distance, ident.uom) == (["100", "300", "1000"], ["m", "m", "m"])
    assert [c.email for c in ident.contact] == [settings.HUB_CONTACT_EMAIL]
    assert md.referencesystem.code == "EPSG:4326"
    assert (md.distribution.format, md.distribution.version) == ("NetCDF-4", "CF-1.6 or later")
    urls = [o.url for o in md.distribution.online]
    file_pk = lwq_item.files.get(path="lwq/ql.tif").pk
    assert urls == ["https://example.org/lwq.nc", f"http://testserver/catalogue/files/{file_pk}/"]
    assert LWQ in md.dataquality.lineage


def test_every_file_format_is_listed_once(client, lwq_item) -> None:
    root = ET.fromstring(client.get(URL).content)
    names = [e.text for e in root.findall(
        ".//gmd:distributionFormat/gmd:MD_Format/gmd:name/gco:CharacterString", NS)]
    assert names == ["NetCDF-4", "GeoTIFF"]


def test_a_family_without_licence_declares_conditions_unknown(client, lwq_item) -> None:
    ProductFamily.objects.filter(slug="lwq").update(licence="")
    ident = parse(client.get(URL).content).identification[0]
    assert ("http://inspire.ec.europa.eu/metadata-codelist/ConditionsApplyingToAccessAndUse/"
            "conditionsUnknown") in ident.otherconstraints_url


@pytest.mark.heavy
def test_an_odd_identifier_still_gives_a_valid_record(client, iso_schema) -> None:
    odd = "2018 08:11/LWQ"  # not an XML NCName: the gml:id is derived, not copied
    Item.objects.create(family=ProductFamily.objects.get(slug="ndvi"), identifier=odd.replace(
        "/", "-"), start="2018-08-11", end="2018-08-11", footprint=FOOTPRINT)
    response = client.get(f"/catalogue/families/ndvi/items/{odd.replace('/', '-')}/inspire.xml")
    assert response.status_code == 200
    assert iso_schema.is_valid(response.content.decode("utf-8"))


@pytest.mark.parametrize("path", [
    f"/catalogue/families/lwq/items/{LWQ}x/inspire.xml",
    f"/catalogue/families/ndvi/items/{LWQ}/inspire.xml",  # the item is not in this family
    f"/catalogue/families/nope/items/{LWQ}/inspire.xml",
])
def test_unknown_items_are_404(client, lwq_item, path) -> None:
    assert client.get(path).status_code == 404


def test_the_stac_item_and_the_family_page_link_the_record(client, lwq_item) -> None:
    item = client.get(f"/catalogue/stac/collections/lwq/items/{LWQ}").json()
    asset = item["assets"]["inspire"]
    assert asset["roles"] == ["metadata"] and asset["href"] == f"http://testserver{URL}"
    assert {"rel": "describedby", "href": f"http://testserver{URL}", "type": "application/xml",
            "title": "INSPIRE metadata (ISO 19139)"} in item["links"]
    page = client.get("/catalogue/families/lwq/")
    assert f'href="{URL}"' in page.content.decode()


@pytest.mark.parametrize(("text", "metres"), [("300 m", 300), ("1 km", 1000),
                                              ("12.5 km", 12500), ("0.1 degree", None)])
def test_resolutions_are_read_in_metres(text, metres) -> None:
    assert resolution_metres(text) == metres
