"""Sentinel-2 L2A SAFE metadata: `MTD_MSIL2A.xml` (product) and `MTD_TL.xml` (granule).

Parsed with xml.etree matching local tag names only, since the namespaces change between
processing baselines (02.xx, 04.00, 05.xx). Angles are in degrees; angle grids keep the 5 km
sampling of the file (rows north to south, columns west to east, from the tile's corner).
`item_properties`, `stac_bbox` and `angles_document` turn the parsed metadata into STAC.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shapely.geometry import MultiPolygon, Polygon, box
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient
from shapely.ops import unary_union

from compositing import l2a
from compositing.orders.mgrs import Tile

PRODUCT_ROOT = "Level-2A_User_Product"
TILE_ROOT = "Level-2A_Tile_ID"
# Band order of the band_id / bandId attributes in both files (B10 kept in the numbering).
BAND_IDS: tuple[str, ...] = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A",
                             "B09", "B10", "B11", "B12")
_TILE_IN_ID = re.compile(r"_T(\d{2}[C-HJ-NP-X][A-HJ-NP-Z]{2})_")


class MetadataError(ValueError):
    """The XML is not the metadata file it should be, or lacks a required value."""


@dataclass(frozen=True)
class ProductMetadata:
    """What the hub needs from `MTD_MSIL2A.xml`."""

    product_uri: str
    start_time: datetime
    generation_time: str
    product_type: str
    processing_baseline: str
    datatake_id: str
    datatake_type: str
    spacecraft: str  # e.g. "Sentinel-2A"
    relative_orbit: int | None
    orbit_direction: str
    quantification: float  # BOA_QUANTIFICATION_VALUE
    aot_quantification: float
    wvp_quantification: float
    boa_add_offset: dict[str, int]  # band name -> DN offset; empty before baseline 04.00
    cloud_cover: float | None
    footprint: BaseGeometry  # lon/lat
    reflectance_conversion: float | None
    image_files: tuple[str, ...]  # IMAGE_FILE entries, without extension

    @property
    def platform(self) -> str:
        """STAC platform name, e.g. 'sentinel-2a'."""
        return self.spacecraft.lower()


@dataclass(frozen=True)
class AngleGrid:
    """A 5 km angle grid: values[row][col] in degrees, NaN where not covered."""

    col_step: float
    row_step: float
    values: list[list[float]]


@dataclass(frozen=True)
class TileMetadata:
    """What the hub needs from the granule's `MTD_TL.xml`."""

    tile_id: str  # MGRS id, e.g. "29UNU"
    granule_id: str
    sensing_time: str
    epsg: int
    ulx: dict[int, float]  # per resolution (m)
    uly: dict[int, float]
    shape: dict[int, tuple[int, int]]  # per resolution: (rows, cols)
    sun_zenith: float
    sun_azimuth: float
    view_zenith: dict[str, float]  # mean viewing incidence zenith per band
    view_azimuth: dict[str, float]
    sun_zenith_grid: AngleGrid | None = None
    sun_azimuth_grid: AngleGrid | None = None
    view_zenith_grids: dict[str, AngleGrid] = field(default_factory=dict)
    view_azimuth_grids: dict[str, AngleGrid] = field(default_factory=dict)
    percentages: dict[str, float] = field(default_factory=dict)

    @property
    def mean_view_zenith(self) -> float:
        """Mean viewing incidence zenith over the bands."""
        return sum(self.view_zenith.values()) / len(self.view_zenith)

    @property
    def mean_view_azimuth(self) -> float:
        """Circular mean of the bands' mean viewing incidence azimuths."""
        return _circular_mean(list(self.view_azimuth.values()))


def local(tag: str) -> str:
    """An element tag without its namespace."""
    return tag.rsplit("}", 1)[-1]


def _iter(elem: ET.Element, name: str) -> Iterator[ET.Element]:
    """Descendants (and elem itself) whose local name is `name`, in document order."""
    return (e for e in elem.iter() if local(e.tag) == name)


def _first(elem: ET.Element, name: str) -> ET.Element | None:
    """The first descendant with local name `name`."""
    return next(_iter(elem, name), None)


def _text(elem: ET.Element, name: str, required: bool = True) -> str:
    """Stripped text of the first `name` descendant; MetadataError when required and absent."""
    found = _first(elem, name)
    if found is None or not (found.text or "").strip():
        if required:
            raise MetadataError(f"no {name} element")
        return ""
    return (found.text or "").strip()


def _float(elem: ET.Element, name: str) -> float:
    """A required number."""
    text = _text(elem, name)
    try:
        return float(text)
    except ValueError:
        raise MetadataError(f"{name} is not a number: {text!r}") from None


def _root(data: bytes, expected: str) -> ET.Element:
    """Parse XML and check the root element's local name."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise MetadataError(f"not well-formed XML ({exc})") from None
    name = local(root.tag)
    if name != expected:
        raise MetadataError(f"root element is {name}, not {expected}"
                            + (" (a Level-1C product)" if "Level-1C" in name else ""))
    return root


def band_name(physical: str) -> str:
    """'B1' -> 'B01', 'B8A' -> 'B8A'."""
    p = physical.strip().upper()
    return f"B0{p[1]}" if len(p) == 2 and p[1].isdigit() else p


def _band_index(root: ET.Element) -> dict[str, str]:
    """bandId attribute -> band name, from Spectral_Information or the standard order."""
    names = {str(i): b for i, b in enumerate(BAND_IDS)}
    for info in _iter(root, "Spectral_Information"):
        if info.get("bandId") is not None and info.get("physicalBand"):
            names[str(info.get("bandId"))] = band_name(str(info.get("physicalBand")))
    return names


def parse_product(data: bytes) -> ProductMetadata:
    """Read `MTD_MSIL2A.xml`; MetadataError when it is not valid L2A product metadata."""
    root = _root(data, PRODUCT_ROOT)
    baseline = _text(root, "PROCESSING_BASELINE")
    if not re.fullmatch(r"\d{2}\.\d{2}", baseline):
        raise MetadataError(f"PROCESSING_BASELINE {baseline!r} is not like 04.00")
    start = _text(root, "PRODUCT_START_TIME")
    try:
        start_time = datetime.fromisoformat(start.replace("Z", "+00:00"))
    except ValueError:
        raise MetadataError(f"PRODUCT_START_TIME {start!r} is not a date-time") from None
    datatake = _first(root, "Datatake")
    if datatake is None or not datatake.get("datatakeIdentifier"):
        raise MetadataError("no Datatake element with a datatakeIdentifier")
    names = _band_index(root)
    offsets = {names.get(str(e.get("band_id")), str(e.get("band_id"))): int(float(e.text or 0))
               for e in _iter(root, "BOA_ADD_OFFSET")}
    if not offsets and tuple(int(p) for p in baseline.split(".")) >= (4, 0):
        raise MetadataError(f"baseline {baseline} but no BOA_ADD_OFFSET values")
    cloud = _text(root, "Cloud_Coverage_Assessment", required=False)
    orbit = _text(datatake, "SENSING_ORBIT_NUMBER", required=False)
    conversion = _first(root, "Reflectance_Conversion")
    u = _text(conversion, "U", required=False) if conversion is not None else ""
    return ProductMetadata(
        product_uri=_text(root, "PRODUCT_URI"),
        start_time=start_time,
        generation_time=_text(root, "GENERATION_TIME", required=False),
        product_type=_text(root, "PRODUCT_TYPE", required=False),
        processing_baseline=baseline,
        datatake_id=str(datatake.get("datatakeIdentifier")),
        datatake_type=_text(datatake, "DATATAKE_TYPE", required=False),
        spacecraft=_text(datatake, "SPACECRAFT_NAME"),
        relative_orbit=int(orbit) if orbit.isdigit() else None,
        orbit_direction=_text(datatake, "SENSING_ORBIT_DIRECTION", required=False).lower(),
        quantification=_float(root, "BOA_QUANTIFICATION_VALUE"),
        aot_quantification=_optional_float(root, "AOT_QUANTIFICATION_VALUE", 1000.0),
        wvp_quantification=_optional_float(root, "WVP_QUANTIFICATION_VALUE", 1000.0),
        boa_add_offset=offsets,
        cloud_cover=float(cloud) if cloud else None,
        footprint=footprint_from_pos_list(_text(root, "EXT_POS_LIST")),
        reflectance_conversion=float(u) if u else None,
        image_files=tuple((e.text or "").strip() for e in _iter(root, "IMAGE_FILE")),
    )


def _optional_float(elem: ET.Element, name: str, default: float) -> float:
    """A number that older products may leave out."""
    return _float(elem, name) if _first(elem, name) is not None else default


def footprint_from_pos_list(text: str) -> BaseGeometry:
    """The lon/lat footprint from an EXT_POS_LIST (latitude first!), split at 180°."""
    try:
        numbers = [float(v) for v in text.split()]
    except ValueError:
        raise MetadataError("EXT_POS_LIST holds something else than numbers") from None
    if len(numbers) < 8 or len(numbers) % 2:
        raise MetadataError("EXT_POS_LIST is not a list of at least 4 lat/lon pairs")
    lats, lons = numbers[0::2], numbers[1::2]
    if not all(-90 <= v <= 90 for v in lats) or not all(-180 <= v <= 180 for v in lons):
        raise MetadataError("EXT_POS_LIST coordinates are out of range")
    if max(lons) - min(lons) > 180:  # crosses the antimeridian: unwrap, then cut at 180°
        lons = [v + 360 if v < 0 else v for v in lons]
    shape = Polygon(zip(lons, lats, strict=True)).buffer(0)
    if max(lons) > 180:
        west = shape.intersection(box(-180, -90, 180, 90))
        east = shape.intersection(box(180, -90, 540, 90))
        east = Polygon([(x - 360, y) for x, y in east.exterior.coords]) if not east.is_empty \
            else east
        shape = unary_union([g for g in (west, east) if not g.is_empty])
    if shape.is_empty:
        raise MetadataError("EXT_POS_LIST describes an empty footprint")
    if isinstance(shape, MultiPolygon):
        return MultiPolygon([orient(p) for p in shape.geoms])
    return orient(shape)


def parse_tile(data: bytes) -> TileMetadata:
    """Read a granule's `MTD_TL.xml`; MetadataError when it is not valid L2A tile metadata."""
    root = _root(data, TILE_ROOT)
    granule_id = _text(root, "TILE_ID")
    match = _TILE_IN_ID.search(granule_id)
    if match is None:
        raise MetadataError(f"TILE_ID {granule_id!r} names no MGRS tile")
    code = _text(root, "HORIZONTAL_CS_CODE")
    if not re.fullmatch(r"EPSG:\d{4,5}", code):
        raise MetadataError(f"HORIZONTAL_CS_CODE {code!r} is not an EPSG code")
    ulx, uly, shape = {}, {}, {}
    for pos in _iter(root, "Geoposition"):
        res = int(pos.get("resolution") or 0)
        ulx[res], uly[res] = _float(pos, "ULX"), _float(pos, "ULY")
    for size in _iter(root, "Size"):
        shape[int(size.get("resolution") or 0)] = (int(_float(size, "NROWS")),
                                                    int(_float(size, "NCOLS")))
    if not ulx or not shape:
        raise MetadataError("no Geoposition/Size per resolution")
    sun = _first(root, "Mean_Sun_Angle")
    if sun is None:
        raise MetadataError("no Mean_Sun_Angle")
    names = {str(i): b for i, b in enumerate(BAND_IDS)}
    view_zenith, view_azimuth = {}, {}
    for mean in _iter(root, "Mean_Viewing_Incidence_Angle"):
        band = names.get(str(mean.get("bandId")), str(mean.get("bandId")))
        view_zenith[band] = _float(mean, "ZENITH_ANGLE")
        view_azimuth[band] = _float(mean, "AZIMUTH_ANGLE")
    if not view_zenith:
        raise MetadataError("no Mean_Viewing_Incidence_Angle")
    sun_grid = _first(root, "Sun_Angles_Grid")
    zen_grids, az_grids = _view_grids(root, names)
    qi = _first(root, "Image_Content_QI")
    percentages = {} if qi is None else {
        local(e.tag).lower(): float(e.text or "nan") for e in qi
        if local(e.tag).endswith("_PERCENTAGE") and _is_number(e.text)}
    return TileMetadata(
        tile_id=match.group(1), granule_id=granule_id,
        sensing_time=_text(root, "SENSING_TIME", required=False), epsg=int(code[5:]),
        ulx=ulx, uly=uly, shape=shape,
        sun_zenith=_float(sun, "ZENITH_ANGLE"), sun_azimuth=_float(sun, "AZIMUTH_ANGLE"),
        view_zenith=view_zenith, view_azimuth=view_azimuth,
        sun_zenith_grid=_grid(sun_grid, "Zenith") if sun_grid is not None else None,
        sun_azimuth_grid=_grid(sun_grid, "Azimuth") if sun_grid is not None else None,
        view_zenith_grids=zen_grids, view_azimuth_grids=az_grids, percentages=percentages,
    )


def _is_number(text: str | None) -> bool:
    try:
        float(text or "")
    except ValueError:
        return False
    return True


def _grid(parent: ET.Element, which: str) -> AngleGrid | None:
    """The Zenith or Azimuth grid under an angles element."""
    elem = next((c for c in parent if local(c.tag) == which), None)
    if elem is None:
        return None
    try:
        rows = [[float(v) for v in (r.text or "").split()] for r in _iter(elem, "VALUES")]
        return AngleGrid(_float(elem, "COL_STEP"), _float(elem, "ROW_STEP"), rows)
    except ValueError:
        raise MetadataError(f"{which} angle grid holds something else than numbers") from None


def _view_grids(root: ET.Element, names: dict[str, str]
                ) -> tuple[dict[str, AngleGrid], dict[str, AngleGrid]]:
    """Viewing incidence grids per band, the detectors merged (mean where they overlap)."""
    parts: dict[tuple[str, str], list[AngleGrid]] = {}
    for elem in _iter(root, "Viewing_Incidence_Angles_Grids"):
        band = names.get(str(elem.get("bandId")), str(elem.get("bandId")))
        for which in ("Zenith", "Azimuth"):
            grid = _grid(elem, which)
            if grid is not None and grid.values:
                parts.setdefault((band, which), []).append(grid)
    merged = {key: _merge(grids) for key, grids in parts.items()}
    zenith = {b: g for (b, w), g in merged.items() if w == "Zenith"}
    azimuth = {b: g for (b, w), g in merged.items() if w == "Azimuth"}
    return zenith, azimuth


def _merge(grids: list[AngleGrid]) -> AngleGrid:
    """Cell-wise mean of the non-NaN values of detector grids."""
    rows, cols = len(grids[0].values), len(grids[0].values[0])
    out = []
    for r in range(rows):
        row = []
        for c in range(cols):
            cell = [g.values[r][c] for g in grids
                    if r < len(g.values) and c < len(g.values[r]) and not math.isnan(
                        g.values[r][c])]
            row.append(sum(cell) / len(cell) if cell else math.nan)
        out.append(row)
    return AngleGrid(grids[0].col_step, grids[0].row_step, out)


def mean_grid(grids: list[AngleGrid]) -> AngleGrid | None:
    """Cell-wise mean over bands (the S2GM view_zenith_mean); None without grids."""
    return _merge(grids) if grids else None


def _circular_mean_grid(grids: list[AngleGrid]) -> AngleGrid | None:
    """Cell-wise mean direction of azimuth grids (NaN where none has a value)."""
    if not grids:
        return None
    out = []
    for r in range(len(grids[0].values)):
        row = []
        for c in range(len(grids[0].values[r])):
            cell = [g.values[r][c] for g in grids if r < len(g.values)
                    and c < len(g.values[r]) and not math.isnan(g.values[r][c])]
            row.append(_circular_mean(cell) if cell else math.nan)
        out.append(row)
    return AngleGrid(grids[0].col_step, grids[0].row_step, out)


def _circular_mean(degrees: list[float]) -> float:
    """Mean direction of angles in degrees, in [0, 360)."""
    s = sum(math.sin(math.radians(d)) for d in degrees)
    c = sum(math.cos(math.radians(d)) for d in degrees)
    return math.degrees(math.atan2(s, c)) % 360


def item_properties(meta: ProductMetadata, tile_meta: TileMetadata) -> dict[str, Any]:
    """STAC Item properties of a product (demo item names; s2:, view:, mgrs:, sat:)."""
    t = Tile(tile_meta.tile_id, tile_meta.epsg, tile_meta.ulx.get(10, 0.0),
             tile_meta.uly.get(10, 0.0))
    offsets = {meta.boa_add_offset.get(b, 0) for b in l2a.BAND_NAMES}
    props: dict[str, Any] = {
        "datetime": f"{meta.start_time:%Y-%m-%dT%H:%M:%S.%f}Z",
        "platform": meta.platform, "constellation": "sentinel-2", "instruments": ["msi"],
        "eo:cloud_cover": meta.cloud_cover,
        "proj:epsg": t.epsg, "proj:code": t.crs,
        "mgrs:utm_zone": t.utm_zone, "mgrs:latitude_band": t.latitude_band,
        "mgrs:grid_square": t.grid_square, "grid:code": f"MGRS-{t.id}",
        "view:sun_azimuth": tile_meta.sun_azimuth,
        "view:sun_elevation": 90 - tile_meta.sun_zenith,
        "view:incidence_angle": tile_meta.mean_view_zenith,
        "view:azimuth": tile_meta.mean_view_azimuth,
        "sat:relative_orbit": meta.relative_orbit, "sat:orbit_state": meta.orbit_direction,
        "s2:product_type": meta.product_type, "s2:processing_baseline": meta.processing_baseline,
        "s2:product_uri": meta.product_uri, "s2:datatake_id": meta.datatake_id,
        "s2:datatake_type": meta.datatake_type, "s2:granule_id": tile_meta.granule_id,
        "s2:generation_time": meta.generation_time,
        "s2:granule_sensing_time": tile_meta.sensing_time,
        "s2:boa_quantification_value": meta.quantification,
        "s2:boa_add_offset": offsets.pop() if len(offsets) == 1
        else {b: meta.boa_add_offset.get(b, 0) for b in l2a.BAND_NAMES},
        "s2:reflectance_conversion_factor": meta.reflectance_conversion,
        "s2:mean_solar_zenith": tile_meta.sun_zenith,
        "s2:mean_solar_azimuth": tile_meta.sun_azimuth,
        "s2:mean_view_zenith": {b: tile_meta.view_zenith[b] for b in sorted(tile_meta.view_zenith)},
        **{f"s2:{k}": v for k, v in sorted(tile_meta.percentages.items())},
    }
    return {k: v for k, v in props.items() if v is not None and v != ""}


def stac_bbox(geometry: BaseGeometry) -> list[float]:
    """West, south, east, north; west > east when the footprint is cut at the antimeridian."""
    west, south, east, north = geometry.bounds
    if isinstance(geometry, MultiPolygon) and west <= -180 and east >= 180:
        west = min(p.bounds[0] for p in geometry.geoms if p.bounds[0] > 0)
        east = max(p.bounds[2] for p in geometry.geoms if p.bounds[2] < 0)
    return [round(v, 7) for v in (west, south, east, north)]


def rounded(geometry: Any) -> Any:
    """GeoJSON with coordinates rounded to 1e-7 degrees, as lists."""
    if isinstance(geometry, dict):
        return {k: rounded(v) for k, v in geometry.items()}
    if isinstance(geometry, list | tuple):
        return [rounded(v) for v in geometry]
    return round(geometry, 7) if isinstance(geometry, float) else geometry


def angles_document(tile_meta: TileMetadata) -> dict[str, Any]:
    """The sidecar JSON: 5 km sun and viewing angle grids (null where not covered)."""
    def grid(g: AngleGrid | None) -> list[list[float | None]] | None:
        if g is None:
            return None
        return [[None if v != v else round(v, 4) for v in row] for row in g.values]

    any_grid = tile_meta.sun_zenith_grid or next(iter(tile_meta.view_zenith_grids.values()),
                                                 None)
    mean = mean_grid([g for b, g in sorted(tile_meta.view_zenith_grids.items())
                           if b != "B10"])
    return {
        "tile": tile_meta.tile_id, "crs": f"EPSG:{tile_meta.epsg}",
        "ulx": tile_meta.ulx.get(10), "uly": tile_meta.uly.get(10),
        "col_step": any_grid.col_step if any_grid else None,
        "row_step": any_grid.row_step if any_grid else None,
        "sun_zenith": grid(tile_meta.sun_zenith_grid),
        "sun_azimuth": grid(tile_meta.sun_azimuth_grid),
        "view_zenith_mean": grid(mean),
        "view_azimuth_mean": grid(_circular_mean_grid(
            [g for b, g in sorted(tile_meta.view_azimuth_grids.items()) if b != "B10"])),
        "view_zenith": {b: grid(g) for b, g in sorted(tile_meta.view_zenith_grids.items())},
        "view_azimuth": {b: grid(g) for b, g in sorted(tile_meta.view_azimuth_grids.items())},
    }
