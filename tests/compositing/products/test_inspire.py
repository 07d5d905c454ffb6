"""INSPIRE (ISO 19139) metadata: valid against the 2007 XSDs offline, readable by OWSLib."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from compositing.products.inspire import NS, inspire_xml
from tests.compositing.products.test_metadata import HUB_LINKS, SCENE_IDS, build_info
from tests.conftest import SHARED_DATA

SCHEMAS = SHARED_DATA.parent / "schemas"  # ../shared beside the clone
GML_NS = "http://www.opengis.net/gml/3.2"
XLINK_NS = "http://www.w3.org/1999/xlink"


@pytest.fixture(scope="module")
def iso_schema():
    return load_iso_schema()


def load_iso_schema():
    """The ISO 19139 2007 schemas (gmx, which imports gmd/gco/gml 3.2.1), loaded offline."""
    xmlschema = pytest.importorskip("xmlschema")
    if not SCHEMAS.is_dir():
        pytest.skip(f"schemas not found at {SCHEMAS} (../shared beside the clone)")
    root = SCHEMAS / "iso" / "19139" / "20070417"
    gml = (SCHEMAS / "ogc" / "gml" / "3.2.1" / "gml.xsd").as_uri()
    xlink = (SCHEMAS / "w3c" / "xlink.xsd").as_uri()
    # gcoBase.xsd imports xlink from w3.org and GML from a path that does not exist here.
    remap = {"http://www.w3.org/1999/xlink.xsd": xlink,
             (root / ".." / "schemas" / "ogc" / "gml" / "3.2.1" / "gml.xsd").resolve().as_uri():
                 gml}
    return xmlschema.XMLSchema10(
        str(root / "gmx" / "gmx.xsd"), allow="local",  # "local": no network access at all
        uri_mapper=lambda uri: remap.get(uri, uri),
        locations={GML_NS: gml, XLINK_NS: xlink})


@pytest.fixture(scope="module")
def record() -> bytes:
    return inspire_xml(build_info())


@pytest.fixture(scope="module")
def md(record):
    etree = pytest.importorskip("lxml.etree")
    iso = pytest.importorskip("owslib.iso")
    return iso.MD_Metadata(etree.fromstring(record))


@pytest.mark.heavy
def test_schemas_load_from_the_shared_copies(iso_schema):
    assert iso_schema.validity == "valid"
    for ns in (GML_NS, XLINK_NS):
        urls = [s.url for s in iso_schema.maps.namespaces[ns]]
        assert urls and all(str(SCHEMAS) in u for u in urls), urls


@pytest.mark.heavy
@pytest.mark.parametrize("changes", [
    {}, {"order": {"crs": "EPSG:4326"}},
    {"links": HUB_LINKS},
])
def test_record_validates_against_iso19139_2007(iso_schema, changes):
    info = build_info(changes.get("order"), **{k: v for k, v in changes.items() if k != "order"})
    errors = list(iso_schema.iter_errors(inspire_xml(info).decode("utf-8")))
    assert errors == [], "\n".join(str(e.reason) for e in errors[:5])


@pytest.mark.heavy
def test_validation_does_catch_a_broken_record(iso_schema, record):
    broken = record.replace(b"<gmd:explanation>", b"<gmd:explanationX>").replace(
        b"</gmd:explanation>", b"</gmd:explanationX>")
    assert not iso_schema.is_valid(broken.decode("utf-8"))


def test_owslib_reads_the_metadata_elements(md):
    assert md.identifier == "S2GM_M20_20230601_20230630_Midlands_STD_v0.1.0_ab12cd34"
    assert (md.languagecode, md.charset, md.hierarchy) == ("eng", "utf8", "dataset")
    assert md.datestamp == "2023-07-02"
    assert [(c.organization, c.email, c.role) for c in md.contact] == \
        [("Example Mosaic Hub", "mosaics@example.org", "pointOfContact")]
    assert md.referencesystem.code == "EPSG:32629"
    assert md.referencesystem.code_url == "http://www.opengis.net/def/crs/EPSG/0/32629"


def test_owslib_reads_the_identification(md):
    ident = md.identification[0]
    assert ident.title == "Sentinel-2 L2A monthly mosaic Midlands"
    assert ident.abstract.startswith("Best-available-pixel composite of Copernicus Sentinel-2")
    assert ident.uricode == [md.identifier] and ident.uricodespace == ["mosaichub"]
    assert sorted((d.date, d.type) for d in ident.date) == \
        [("2023-07-02", "creation"), ("2023-07-02", "publication")]
    assert [c.email for c in ident.contact] == ["mosaics@example.org"]
    theme = ident.keywords[0]
    assert [(k.name, k.url) for k in theme.keywords] == \
        [("Orthoimagery", "http://inspire.ec.europa.eu/theme/oi")]
    assert theme.thesaurus["title"] == "GEMET - INSPIRE themes, version 1.0"
    assert (theme.thesaurus["date"], theme.thesaurus["datetype"]) == ("2008-06-01",
                                                                      "publication")
    assert theme.thesaurus["url"] == "http://www.eionet.europa.eu/gemet/inspire_themes"
    assert ident.topiccategory == ["imageryBaseMapsEarthCover"]
    assert ident.spatialrepresentationtype == ["grid"]
    assert (ident.distance, ident.uom) == (["20"], ["m"])
    assert ident.resourcelanguagecode == ["zxx"]
    bbox = ident.bbox
    assert [float(v) for v in (bbox.minx, bbox.miny, bbox.maxx, bbox.maxy)] == \
        pytest.approx([-7.6, 53.2, -7.55, 53.23])
    assert (ident.temporalextent_start, ident.temporalextent_end) == ("2023-06-01",
                                                                      "2023-06-30")


def test_owslib_reads_the_constraints(md):
    ident = md.identification[0]
    assert ident.accessconstraints == ["otherRestrictions"]
    assert ident.useconstraints == ["otherRestrictions"]
    urls = ident.otherconstraints_url
    assert ("http://inspire.ec.europa.eu/metadata-codelist/LimitationsOnPublicAccess/"
            "noLimitations") in urls
    assert ("http://inspire.ec.europa.eu/metadata-codelist/ConditionsApplyingToAccessAndUse/"
            "noConditionsApply") in urls
    assert any("Contains modified Copernicus Sentinel data 2023" in text
               for text in ident.otherconstraints)


def test_owslib_reads_distribution_and_quality(md):
    dist = md.distribution
    assert (dist.format, dist.version) == ("GeoTIFF", "1.0")
    urls = [o.url for o in dist.online]
    assert urls[0] == "bands_M20_20230601_Midlands.tif"  # beside inspire.xml
    assert {o.function for o in dist.online} == {"download"}
    quality = md.dataquality
    assert quality.conformancetitle[0].startswith("Commission Regulation (EU) No 1089/2010")
    assert (quality.conformancedate, quality.conformancedatetype) == (["2010-12-08"],
                                                                      ["publication"])
    assert quality.conformancedegree == []  # not evaluated: nil, no gco:Boolean
    assert "medoid" in quality.lineage and "B02, B03, B04, B06, B08, B11, B12" in quality.lineage
    assert "STC" in quality.lineage
    for scene_id in SCENE_IDS:
        assert scene_id in quality.lineage


def test_conformity_is_declared_not_evaluated(record):
    root = ET.fromstring(record)
    passes = root.findall(".//gmd:DQ_ConformanceResult/gmd:pass", NS)
    assert len(passes) == 1 and len(passes[0]) == 0
    assert passes[0].get(f"{{{NS['gco']}}}nilReason") == "unknown"
    scope = root.find(".//gmd:DQ_DataQuality/gmd:scope//gmd:MD_ScopeCode", NS)
    assert scope is not None and scope.get("codeListValue") == "dataset"


def test_every_input_scene_is_a_lineage_source(record):
    root = ET.fromstring(record)
    titles = [e.text for e in root.findall(
        ".//gmd:LI_Lineage/gmd:source/gmd:LI_Source/gmd:sourceCitation/gmd:CI_Citation/"
        "gmd:title/gco:CharacterString", NS)]
    assert titles == list(SCENE_IDS)
    period = root.find(".//gml:TimePeriod", NS)
    assert period is not None and period.get(f"{{{NS['gml']}}}id")


def test_wgs84_product_and_download_links():
    etree = pytest.importorskip("lxml.etree")
    iso = pytest.importorskip("owslib.iso")
    info = build_info({"crs": "EPSG:4326"}, links=HUB_LINKS)
    md = iso.MD_Metadata(etree.fromstring(inspire_xml(info)))
    assert md.referencesystem.code_url == "http://www.opengis.net/def/crs/EPSG/0/4326"
    ident = md.identification[0]
    assert (ident.distance, ident.uom) == (["20"], ["m"])  # metre equivalent of the degrees
    assert "degrees" in ident.supplementalinformation
    assert [o.url for o in md.distribution.online][0] == \
        "https://hub.example.org/api/v1/mosaics/abc/files/bands_M20_20230601_Midlands.tif"
