"""INSPIRE metadata: ISO 19139 (2007 schemas, GML 3.2.1) per the INSPIRE Metadata Technical
Guidelines 2.0 for a dataset, built with the standard library only.

`record_xml` writes a record from a neutral `RecordDescription`, so the mosaics
(`inspire_xml`, from a `ProductInfo`) and the land-product catalogue share one XML builder.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date

from compositing.products.indices import INDICES
from compositing.products.metadata import (
    Contact,
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
INSPIRE_THEME_URI = "http://inspire.ec.europa.eu/theme/{code}"
THEME = ("Orthoimagery", INSPIRE_THEME_URI.format(code="oi"))
THEMES_THESAURUS = ("GEMET - INSPIRE themes, version 1.0",
                    "http://www.eionet.europa.eu/gemet/inspire_themes", date(2008, 6, 1))
REGULATION = (
    "Commission Regulation (EU) No 1089/2010 of 23 November 2010 implementing Directive "
    "2007/2/EC of the European Parliament and of the Council as regards interoperability of "
    "spatial data sets and services",
    "http://data.europa.eu/eli/reg/2010/1089", date(2010, 12, 8))
NO_CONDITIONS = ("No conditions apply to access and use.",
                 f"{INSPIRE_CODELIST}/ConditionsApplyingToAccessAndUse/noConditionsApply")
CONDITIONS_UNKNOWN = ("Conditions to access and use are unknown.",
                      f"{INSPIRE_CODELIST}/ConditionsApplyingToAccessAndUse/conditionsUnknown")
NO_LIMITATIONS = ("No limitations to public access.",
                  f"{INSPIRE_CODELIST}/LimitationsOnPublicAccess/noLimitations")
FREE_KEYWORDS: tuple[str, ...] = ("Copernicus", "Sentinel-2", "Level-2A", "surface reflectance",
                                  "mosaic", "best-available-pixel composite", "medoid")
_NOT_NCNAME = re.compile(r"[^\w.-]")
CHANGE_KEYWORDS: tuple[str, ...] = ("change detection", "Change Vector Analysis")

for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)


@dataclass(frozen=True)
class Source:
    """One input of the lineage: a cited dataset (e.g. an L2A granule)."""

    title: str
    description: str
    created: date


@dataclass(frozen=True)
class OnlineResource:
    """A download link of the resource."""

    url: str
    name: str


@dataclass(frozen=True)
class Constraint:
    """A condition or limitation: plain text, or an INSPIRE code-list value when `href` is set."""

    text: str
    href: str | None = None


@dataclass(frozen=True)
class RecordDescription:
    """What an INSPIRE dataset record says, independent of where the dataset comes from.

    `theme` is an INSPIRE theme (label, URI) of the GEMET thesaurus; `resolutions_m` are the
    spatial resolutions in metres (at the equator for geographic grids); `formats` are
    (name, version) pairs; `created` is the resource's creation and publication date.
    """

    identifier: str
    title: str
    abstract: str
    contact: Contact
    created: date
    metadata_date: date
    bbox: tuple[float, float, float, float]
    start: date
    end: date
    lineage: str
    epsg: int
    formats: tuple[tuple[str, str], ...]
    online: tuple[OnlineResource, ...]
    resolutions_m: tuple[float, ...] = ()
    id_namespace: str = "mosaichub"
    theme: tuple[str, str] = THEME
    topic_category: str = "imageryBaseMapsEarthCover"
    keywords: tuple[str, ...] = ()
    credit: str | None = None
    use_conditions: tuple[Constraint, ...] = (Constraint(*NO_CONDITIONS),)
    access_limitations: tuple[Constraint, ...] = (Constraint(*NO_LIMITATIONS),)
    sources: tuple[Source, ...] = ()
    supplemental: str | None = None
    language: str = "eng"
    local_id: str = ""  # short id for the record's gml:id values (the identifier if empty)


def inspire_xml(info: ProductInfo) -> bytes:
    """The product's ISO 19139 / INSPIRE TG 2.0 dataset metadata record, UTF-8 encoded."""
    return record_xml(describe_product(info))


def describe_product(info: ProductInfo) -> RecordDescription:
    """The record of a finished mosaic product."""
    product_format = info.spec.product_format
    fmt = (product_format.title, product_format.version)
    links = [OnlineResource(file_url(info, f.name), f.name) for f in data_files(info)]
    supplemental = None
    if info.grid.crs.is_geographic:
        supplemental = (f"Pixel size {info.grid.resolution:.9f} degrees, the equivalent of "
                        f"{resolution_m(info)} m at the equator.")
    return RecordDescription(
        identifier=info.folder_name, id_namespace=info.id_namespace, title=title(info),
        abstract=summary(info), contact=info.contact, created=info.created.date(),
        metadata_date=info.created.date(), bbox=wgs84_bbox(info),
        start=info.spec.covered_period[0], end=info.spec.covered_period[1],
        lineage=lineage_statement(info), epsg=info.grid.epsg,
        formats=(fmt,),
        online=tuple(links) or (OnlineResource(product_url(info), info.folder_name),),
        resolutions_m=(resolution_m(info),), keywords=(*FREE_KEYWORDS, *(
            f"{INDICES[name].title} ({name.upper()})" for name in info.spec.aux
            if name in INDICES), *(CHANGE_KEYWORDS if info.spec.is_change else ())),
        credit=attribution(info),
        use_conditions=(Constraint(NO_CONDITIONS[0], NO_CONDITIONS[1]),
                        Constraint(f"Attribution: \"{attribution(info)}\" (Copernicus "
                                   f"Sentinel data legal notice).")),
        sources=tuple(
            Source(s.id, f"Sentinel-2 L2A granule from {s.platform or 'Sentinel-2'}, sensed "
                         f"{s.datetime.isoformat()}, processing baseline "
                         f"{s.processing_baseline or 'unknown'}", s.datetime.date())
            for s in scenes(info)),
        supplemental=supplemental, local_id=info.product_id,
    )


def record_xml(desc: RecordDescription) -> bytes:
    """An ISO 19139 / INSPIRE TG 2.0 dataset metadata record, UTF-8 encoded."""
    root = ET.Element(_q("gmd:MD_Metadata"), {_q("xsi:schemaLocation"): SCHEMA_LOCATION})
    _text(root, "gmd:fileIdentifier", desc.identifier)
    _language(root, desc.language)
    _code(_sub(root, "gmd:characterSet"), "MD_CharacterSetCode", "utf8")
    _code(_sub(root, "gmd:hierarchyLevel"), "MD_ScopeCode", "dataset")
    _party(_sub(root, "gmd:contact"), desc.contact, "pointOfContact")
    _date(_sub(root, "gmd:dateStamp"), desc.metadata_date)
    _text(root, "gmd:metadataStandardName", "ISO 19115")
    _text(root, "gmd:metadataStandardVersion", "2003/Cor 1:2006")
    _reference_system(root, desc.epsg)
    _identification(_sub(root, "gmd:identificationInfo"), desc)
    _distribution(_sub(root, "gmd:distributionInfo"), desc)
    _data_quality(_sub(root, "gmd:dataQualityInfo"), desc)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _identification(parent: ET.Element, desc: RecordDescription) -> None:
    ident = _sub(parent, "gmd:MD_DataIdentification")
    citation = _sub(_sub(ident, "gmd:citation"), "gmd:CI_Citation")
    _text(citation, "gmd:title", desc.title)
    for kind in ("creation", "publication"):
        _ci_date(citation, desc.created, kind)
    rs_id = _sub(_sub(citation, "gmd:identifier"), "gmd:RS_Identifier")
    _text(rs_id, "gmd:code", desc.identifier)
    _text(rs_id, "gmd:codeSpace", desc.id_namespace)
    _text(ident, "gmd:abstract", desc.abstract)
    if desc.credit:
        _text(ident, "gmd:credit", desc.credit)
    _party(_sub(ident, "gmd:pointOfContact"), desc.contact, "pointOfContact")
    _keywords(ident, desc)
    _constraints(ident, desc)
    _code(_sub(ident, "gmd:spatialRepresentationType"), "MD_SpatialRepresentationTypeCode",
          "grid")
    for metres in desc.resolutions_m:
        resolution = _sub(_sub(ident, "gmd:spatialResolution"), "gmd:MD_Resolution")
        distance = _sub(_sub(resolution, "gmd:distance"), "gco:Distance", uom="m")
        distance.text = str(int(metres)) if float(metres).is_integer() else str(metres)
    _language(ident, "zxx")
    _sub(_sub(ident, "gmd:topicCategory"), "gmd:MD_TopicCategoryCode").text = \
        desc.topic_category
    _extent(_sub(ident, "gmd:extent"), desc)
    if desc.supplemental:
        _text(ident, "gmd:supplementalInformation", desc.supplemental)


def _keywords(ident: ET.Element, desc: RecordDescription) -> None:
    theme = _sub(_sub(ident, "gmd:descriptiveKeywords"), "gmd:MD_Keywords")
    _anchor(theme, "gmd:keyword", desc.theme[1], desc.theme[0])
    _code(_sub(theme, "gmd:type"), "MD_KeywordTypeCode", "theme")
    thesaurus = _sub(_sub(theme, "gmd:thesaurusName"), "gmd:CI_Citation")
    _anchor(thesaurus, "gmd:title", THEMES_THESAURUS[1], THEMES_THESAURUS[0])
    _ci_date(thesaurus, THEMES_THESAURUS[2], "publication")
    if desc.keywords:
        free = _sub(_sub(ident, "gmd:descriptiveKeywords"), "gmd:MD_Keywords")
        for word in desc.keywords:
            _text(free, "gmd:keyword", word)


def _constraints(ident: ET.Element, desc: RecordDescription) -> None:
    use = _sub(_sub(ident, "gmd:resourceConstraints"), "gmd:MD_LegalConstraints")
    _code(_sub(use, "gmd:useConstraints"), "MD_RestrictionCode", "otherRestrictions")
    for constraint in desc.use_conditions:
        _constraint(use, constraint)
    access = _sub(_sub(ident, "gmd:resourceConstraints"), "gmd:MD_LegalConstraints")
    _code(_sub(access, "gmd:accessConstraints"), "MD_RestrictionCode", "otherRestrictions")
    for constraint in desc.access_limitations:
        _constraint(access, constraint)


def _constraint(parent: ET.Element, constraint: Constraint) -> None:
    if constraint.href:
        _anchor(parent, "gmd:otherConstraints", constraint.href, constraint.text)
    else:
        _text(parent, "gmd:otherConstraints", constraint.text)


def _extent(parent: ET.Element, desc: RecordDescription) -> None:
    extent = _sub(parent, "gmd:EX_Extent")
    box = _sub(_sub(extent, "gmd:geographicElement"), "gmd:EX_GeographicBoundingBox")
    west, south, east, north = desc.bbox
    for tag, value in (("westBoundLongitude", west), ("eastBoundLongitude", east),
                       ("southBoundLatitude", south), ("northBoundLatitude", north)):
        _sub(_sub(box, f"gmd:{tag}"), "gco:Decimal").text = f"{value:.6f}"
    temporal = _sub(_sub(extent, "gmd:temporalElement"), "gmd:EX_TemporalExtent")
    # gml:id must be an XML NCName: no spaces, slashes or colons.
    gml_id = _NOT_NCNAME.sub("_", f"period-{desc.local_id or desc.identifier}")
    period = _sub(_sub(temporal, "gmd:extent"), "gml:TimePeriod", {_q("gml:id"): gml_id})
    _sub(period, "gml:beginPosition").text = desc.start.isoformat()
    _sub(period, "gml:endPosition").text = desc.end.isoformat()


def _distribution(parent: ET.Element, desc: RecordDescription) -> None:
    dist = _sub(parent, "gmd:MD_Distribution")
    for name, version in desc.formats or (("unknown", "unknown"),):
        fmt = _sub(_sub(dist, "gmd:distributionFormat"), "gmd:MD_Format")
        _text(fmt, "gmd:name", name)
        _text(fmt, "gmd:version", version)
    if not desc.online:
        return
    options = _sub(_sub(dist, "gmd:transferOptions"), "gmd:MD_DigitalTransferOptions")
    for link in desc.online:
        online = _sub(_sub(options, "gmd:onLine"), "gmd:CI_OnlineResource")
        _sub(_sub(online, "gmd:linkage"), "gmd:URL").text = link.url
        _text(online, "gmd:name", link.name)
        _code(_sub(online, "gmd:function"), "CI_OnLineFunctionCode", "download")


def _data_quality(parent: ET.Element, desc: RecordDescription) -> None:
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
    _text(lineage, "gmd:statement", desc.lineage)
    for item in desc.sources:
        source = _sub(_sub(lineage, "gmd:source"), "gmd:LI_Source")
        _text(source, "gmd:description", item.description)
        cited = _sub(_sub(source, "gmd:sourceCitation"), "gmd:CI_Citation")
        _text(cited, "gmd:title", item.title)
        _ci_date(cited, item.created, "creation")


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


def _party(parent: ET.Element, contact: Contact, role: str) -> None:
    party = _sub(parent, "gmd:CI_ResponsibleParty")
    if contact.name:
        _text(party, "gmd:individualName", contact.name)
    _text(party, "gmd:organisationName", contact.organisation)
    address = _sub(_sub(_sub(_sub(party, "gmd:contactInfo"), "gmd:CI_Contact"), "gmd:address"),
                   "gmd:CI_Address")
    _text(address, "gmd:electronicMailAddress", contact.email)
    _code(_sub(party, "gmd:role"), "CI_RoleCode", role)


def _reference_system(root: ET.Element, epsg: int) -> None:
    system = _sub(_sub(root, "gmd:referenceSystemInfo"), "gmd:MD_ReferenceSystem")
    rs_id = _sub(_sub(system, "gmd:referenceSystemIdentifier"), "gmd:RS_Identifier")
    _anchor(rs_id, "gmd:code", EPSG_URI.format(code=epsg), f"EPSG:{epsg}")
    _text(rs_id, "gmd:codeSpace", "EPSG")
