"""INSPIRE metadata for a product: ISO 19139 (2007 schemas, GML 3.2.1) per the INSPIRE Metadata
Technical Guidelines 2.0 for a dataset, built with the standard library only."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

from compositing.metadata import (
    ProductInfo,
    attribution,
    data_files,
    file_url,
    lineage_statement,
    product_url,
    resolution_m,
    scenes,
    summary,
    title,
    wgs84_bbox,
)
from compositing.order import FORMATS

NS: dict[str, str] = {
    "gmd": "http://www.isotc211.org/2005/gmd",
    "gco": "http://www.isotc211.org/2005/gco",
    "gmx": "http://www.isotc211.org/2005/gmx",
    "gml": "http://www.opengis.net/gml/3.2",
    "xlink": "http://www.w3.org/1999/xlink",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
SCHEMA_LOCATION = ("http://www.isotc211.org/2005/gmd "
                   "http://schemas.opengis.net/iso/19139/20070417/gmd/gmd.xsd "
                   "http://www.isotc211.org/2005/gmx "
                   "http://schemas.opengis.net/iso/19139/20070417/gmx/gmx.xsd")
ISO_CODELISTS = "http://standards.iso.org/iso/19139/resources/gmxCodelists.xml"
LANGUAGE_CODELIST = "http://www.loc.gov/standards/iso639-2/"
INSPIRE_CODELIST = "http://inspire.ec.europa.eu/metadata-codelist"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{code}"
THEME = ("Orthoimagery", "http://inspire.ec.europa.eu/theme/oi")
THEMES_THESAURUS = ("GEMET - INSPIRE themes, version 1.0",
                    "http://www.eionet.europa.eu/gemet/inspire_themes", date(2008, 6, 1))
REGULATION = (
    "Commission Regulation (EU) No 1089/2010 of 23 November 2010 implementing Directive "
    "2007/2/EC of the European Parliament and of the Council as regards interoperability of "
    "spatial data sets and services",
    "http://data.europa.eu/eli/reg/2010/1089", date(2010, 12, 8))
NO_CONDITIONS = ("No conditions apply to access and use.",
                 f"{INSPIRE_CODELIST}/ConditionsApplyingToAccessAndUse/noConditionsApply")
NO_LIMITATIONS = ("No limitations to public access.",
                  f"{INSPIRE_CODELIST}/LimitationsOnPublicAccess/noLimitations")
FREE_KEYWORDS: tuple[str, ...] = ("Copernicus", "Sentinel-2", "Level-2A", "surface reflectance",
                                  "mosaic", "best-available-pixel composite", "medoid")
FORMAT_VERSIONS: dict[str, tuple[str, str]] = {
    "GTiff": ("GeoTIFF", "1.0"),
    "JP2": ("JPEG 2000", "ISO/IEC 15444-1"),
    "NetCDF": ("NetCDF-4", "CF-1.8"),
}

for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)


def inspire_xml(info: ProductInfo) -> bytes:
    """The product's ISO 19139 / INSPIRE TG 2.0 dataset metadata record, UTF-8 encoded."""
    root = ET.Element(_q("gmd:MD_Metadata"), {_q("xsi:schemaLocation"): SCHEMA_LOCATION})
    _text(root, "gmd:fileIdentifier", info.folder_name)
    _language(root)
    _code(_sub(root, "gmd:characterSet"), "MD_CharacterSetCode", "utf8")
    _code(_sub(root, "gmd:hierarchyLevel"), "MD_ScopeCode", "dataset")
    _party(_sub(root, "gmd:contact"), info, "pointOfContact")
    _date(_sub(root, "gmd:dateStamp"), info.created.date())
    _text(root, "gmd:metadataStandardName", "ISO 19115")
    _text(root, "gmd:metadataStandardVersion", "2003/Cor 1:2006")
    _reference_system(root, info.grid.epsg)
    _identification(_sub(root, "gmd:identificationInfo"), info)
    _distribution(_sub(root, "gmd:distributionInfo"), info)
    _data_quality(_sub(root, "gmd:dataQualityInfo"), info)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _identification(parent: ET.Element, info: ProductInfo) -> None:
    ident = _sub(parent, "gmd:MD_DataIdentification")
    citation = _sub(_sub(ident, "gmd:citation"), "gmd:CI_Citation")
    _text(citation, "gmd:title", title(info))
    for kind in ("creation", "publication"):
        _ci_date(citation, info.created.date(), kind)
    rs_id = _sub(_sub(citation, "gmd:identifier"), "gmd:RS_Identifier")
    _text(rs_id, "gmd:code", info.folder_name)
    _text(rs_id, "gmd:codeSpace", info.id_namespace)
    _text(ident, "gmd:abstract", summary(info))
    _text(ident, "gmd:credit", attribution(info))
    _party(_sub(ident, "gmd:pointOfContact"), info, "pointOfContact")
    _keywords(ident)
    _constraints(ident, info)
    _code(_sub(ident, "gmd:spatialRepresentationType"), "MD_SpatialRepresentationTypeCode",
          "grid")
    resolution = _sub(_sub(ident, "gmd:spatialResolution"), "gmd:MD_Resolution")
    distance = _sub(_sub(resolution, "gmd:distance"), "gco:Distance", uom="m")
    distance.text = str(resolution_m(info))
    _language(ident, "zxx")
    _sub(_sub(ident, "gmd:topicCategory"), "gmd:MD_TopicCategoryCode").text = \
        "imageryBaseMapsEarthCover"
    _extent(_sub(ident, "gmd:extent"), info)
    if info.grid.crs.is_geographic:
        _text(ident, "gmd:supplementalInformation",
              f"Pixel size {info.grid.resolution:.9f} degrees, the equivalent of "
              f"{resolution_m(info)} m at the equator.")


def _keywords(ident: ET.Element) -> None:
    theme = _sub(_sub(ident, "gmd:descriptiveKeywords"), "gmd:MD_Keywords")
    _anchor(theme, "gmd:keyword", THEME[1], THEME[0])
    _code(_sub(theme, "gmd:type"), "MD_KeywordTypeCode", "theme")
    thesaurus = _sub(_sub(theme, "gmd:thesaurusName"), "gmd:CI_Citation")
    _anchor(thesaurus, "gmd:title", THEMES_THESAURUS[1], THEMES_THESAURUS[0])
    _ci_date(thesaurus, THEMES_THESAURUS[2], "publication")
    free = _sub(_sub(ident, "gmd:descriptiveKeywords"), "gmd:MD_Keywords")
    for word in FREE_KEYWORDS:
        _text(free, "gmd:keyword", word)


def _constraints(ident: ET.Element, info: ProductInfo) -> None:
    use = _sub(_sub(ident, "gmd:resourceConstraints"), "gmd:MD_LegalConstraints")
    _code(_sub(use, "gmd:useConstraints"), "MD_RestrictionCode", "otherRestrictions")
    _anchor(use, "gmd:otherConstraints", NO_CONDITIONS[1], NO_CONDITIONS[0])
    _text(use, "gmd:otherConstraints",
          f"Attribution: \"{attribution(info)}\" (Copernicus Sentinel data legal notice).")
    access = _sub(_sub(ident, "gmd:resourceConstraints"), "gmd:MD_LegalConstraints")
    _code(_sub(access, "gmd:accessConstraints"), "MD_RestrictionCode", "otherRestrictions")
    _anchor(access, "gmd:otherConstraints", NO_LIMITATIONS[1], NO_LIMITATIONS[0])


def _extent(parent: ET.Element, info: ProductInfo) -> None:
    extent = _sub(parent, "gmd:EX_Extent")
    box = _sub(_sub(extent, "gmd:geographicElement"), "gmd:EX_GeographicBoundingBox")
    west, south, east, north = wgs84_bbox(info)
    for tag, value in (("westBoundLongitude", west), ("eastBoundLongitude", east),
                       ("southBoundLatitude", south), ("northBoundLatitude", north)):
        _sub(_sub(box, f"gmd:{tag}"), "gco:Decimal").text = f"{value:.6f}"
    temporal = _sub(_sub(extent, "gmd:temporalElement"), "gmd:EX_TemporalExtent")
    period = _sub(_sub(temporal, "gmd:extent"), "gml:TimePeriod",
                  {_q("gml:id"): f"period-{info.product_id}".replace(" ", "_")})
    _sub(period, "gml:beginPosition").text = info.spec.start.isoformat()
    _sub(period, "gml:endPosition").text = info.spec.end.isoformat()


def _distribution(parent: ET.Element, info: ProductInfo) -> None:
    dist = _sub(parent, "gmd:MD_Distribution")
    fmt = _sub(_sub(dist, "gmd:distributionFormat"), "gmd:MD_Format")
    name, version = FORMAT_VERSIONS.get(info.spec.file_format,
                                        (FORMATS[info.spec.file_format], "unknown"))
    _text(fmt, "gmd:name", name)
    _text(fmt, "gmd:version", version)
    options = _sub(_sub(dist, "gmd:transferOptions"), "gmd:MD_DigitalTransferOptions")
    links = [(file_url(info, f.name), f.name) for f in data_files(info)]
    for url, label in links or [(product_url(info), info.folder_name)]:
        online = _sub(_sub(options, "gmd:onLine"), "gmd:CI_OnlineResource")
        _sub(_sub(online, "gmd:linkage"), "gmd:URL").text = url
        _text(online, "gmd:name", label)
        _code(_sub(online, "gmd:function"), "CI_OnLineFunctionCode", "download")


def _data_quality(parent: ET.Element, info: ProductInfo) -> None:
    quality = _sub(parent, "gmd:DQ_DataQuality")
    scope = _sub(_sub(quality, "gmd:scope"), "gmd:DQ_Scope")
    _code(_sub(scope, "gmd:level"), "MD_ScopeCode", "dataset")
    result = _sub(_sub(_sub(_sub(quality, "gmd:report"), "gmd:DQ_DomainConsistency"),
                       "gmd:result"), "gmd:DQ_ConformanceResult")
    spec = _sub(_sub(result, "gmd:specification"), "gmd:CI_Citation")
    _anchor(spec, "gmd:title", REGULATION[1], REGULATION[0])
    _ci_date(spec, REGULATION[2], "publication")
    _text(result, "gmd:explanation", "Conformity to the implementing rules has not been "
                                     "evaluated (degree: not evaluated).")
    _sub(result, "gmd:pass", {_q("gco:nilReason"): "unknown"})
    lineage = _sub(_sub(quality, "gmd:lineage"), "gmd:LI_Lineage")
    _text(lineage, "gmd:statement", lineage_statement(info))
    for scene in scenes(info):
        source = _sub(_sub(lineage, "gmd:source"), "gmd:LI_Source")
        _text(source, "gmd:description",
              f"Sentinel-2 L2A granule from {scene.platform or 'Sentinel-2'}, sensed "
              f"{scene.datetime.isoformat()}, processing baseline "
              f"{scene.processing_baseline or 'unknown'}")
        cited = _sub(_sub(source, "gmd:sourceCitation"), "gmd:CI_Citation")
        _text(cited, "gmd:title", scene.id)
        _ci_date(cited, scene.datetime.date(), "creation")


# ---------------------------------------------------------------- element helpers


def _q(name: str) -> str:
    prefix, local = name.split(":")
    return f"{{{NS[prefix]}}}{local}"


def _sub(parent: ET.Element, name: str, attrib: dict[str, str] | None = None,
         **extra: str) -> ET.Element:
    return ET.SubElement(parent, _q(name), {**(attrib or {}), **extra})


def _text(parent: ET.Element, name: str, value: str) -> ET.Element:
    element = _sub(parent, name)
    _sub(element, "gco:CharacterString").text = value
    return element


def _anchor(parent: ET.Element, name: str, href: str, value: str) -> ET.Element:
    element = _sub(parent, name)
    _sub(element, "gmx:Anchor", {_q("xlink:href"): href}).text = value
    return element


def _code(parent: ET.Element, codelist: str, value: str) -> ET.Element:
    element = _sub(parent, f"gmd:{codelist}", codeList=f"{ISO_CODELISTS}#{codelist}",
                   codeListValue=value)
    element.text = value
    return element


def _language(parent: ET.Element, code: str = "eng") -> None:
    element = _sub(_sub(parent, "gmd:language"), "gmd:LanguageCode",
                   codeList=LANGUAGE_CODELIST, codeListValue=code)
    element.text = code


def _date(parent: ET.Element, value: date) -> None:
    _sub(parent, "gco:Date").text = value.isoformat()


def _ci_date(citation: ET.Element, value: date, kind: str) -> None:
    ci_date = _sub(_sub(citation, "gmd:date"), "gmd:CI_Date")
    _date(_sub(ci_date, "gmd:date"), value)
    _code(_sub(ci_date, "gmd:dateType"), "CI_DateTypeCode", kind)


def _party(parent: ET.Element, info: ProductInfo, role: str) -> None:
    party = _sub(parent, "gmd:CI_ResponsibleParty")
    if info.contact.name:
        _text(party, "gmd:individualName", info.contact.name)
    _text(party, "gmd:organisationName", info.contact.organisation)
    address = _sub(_sub(_sub(_sub(party, "gmd:contactInfo"), "gmd:CI_Contact"), "gmd:address"),
                   "gmd:CI_Address")
    _text(address, "gmd:electronicMailAddress", info.contact.email)
    _code(_sub(party, "gmd:role"), "CI_RoleCode", role)


def _reference_system(root: ET.Element, epsg: int) -> None:
    system = _sub(_sub(root, "gmd:referenceSystemInfo"), "gmd:MD_ReferenceSystem")
    rs_id = _sub(_sub(system, "gmd:referenceSystemIdentifier"), "gmd:RS_Identifier")
    _anchor(rs_id, "gmd:code", EPSG_URI.format(code=epsg), f"EPSG:{epsg}")
    _text(rs_id, "gmd:codeSpace", "EPSG")
