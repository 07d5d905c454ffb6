"""What a person orders, validated: the single place where ordering options are checked."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any

import shapely
from pyproj import CRS, Geod
from pyproj.exceptions import CRSError
from shapely.geometry import box, mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from compositing import l2a
from compositing.change import DEFAULT_CLASSES, DEFAULT_CONFIDENCE
from compositing.grid import utm_epsg
from compositing.orders.mgrs import parse_tile_id, tile_footprint_wgs84, tile_from_id
from compositing.orders.periods import PERIOD_TYPES, PeriodType, period_bounds
from compositing.products.formats import PRODUCT_FORMATS, ProductFormat, find_format
from compositing.products.layers import AUX_LAYERS, Layer

METADATA_OPTIONS: dict[str, str] = {
    "json": "JSON metadata (S2GM keys) and a STAC Item",
    "inspire": "INSPIRE metadata (ISO 19139 XML), as S2GM delivered with every product",
}
# GeoTIFF products: all reflectance bands in one file, or one file per band (as S2GM). What a
# layout means for each format is the format's own record (`ProductFormat.layouts`).
LAYOUTS: dict[str, str] = {
    "multiband": "one multi-band file for the bands",
    "per_layer": "one file per band and per layer (as S2GM)",
}
# A UTM product as one grid, or split into one subfolder per Sentinel-2 MGRS tile (as S2GM).
TILINGS: dict[str, str] = {
    "single": "one product",
    "mgrs": "one subfolder per Sentinel-2 MGRS tile (UTM only)",
}
MAX_NAME_LENGTH = 80
MAX_CLOUD_BUFFER = 20
# Enough for a detailed outline; the AOI travels in forms, the database, product metadata and
# every page of the REST API that shows the request (HUB_MAX_AOI_VERTICES on a hub).
MAX_AOI_VERTICES = 20_000
# Sentinel-2A's first acquisition: no archive holds an observation before it.
SENTINEL2_FIRST_DAY = date(2015, 6, 23)
# JSON types an option may be given as, in the words of a refusal.
_TYPE_WORDS: dict[type, str] = {str: "a string", int: "a whole number", dict: "a JSON object",
                                list: "a list", date: "a date", float: "a number"}
# Change orders: the bands compared when none are ordered (visible and near infrared, the
# set of the AI4Copernicus change-detection pipeline), and the limits of their options.
CHANGE_BANDS: tuple[str, ...] = ("B02", "B03", "B04", "B08")
CONFIDENCE_RANGE = (0.5, 0.999999)
MAX_CHANGE_CLASSES = 10
# The options that make and tune a change order; a mosaic's order JSON has none of them.
CHANGE_OPTIONS: tuple[str, ...] = ("compare_start", "confidence", "change_classes")


@dataclass(frozen=True)
class OrderOption:
    """One ordering option as every entry point offers it (form, REST API, OpenAPI, CLI)."""

    name: str
    help: str
    required: bool = False
    default: Any = None
    choices: Mapping[Any, str] | None = None  # value -> what a person reads
    many: bool = False  # a list of strings (a comma-separated string is read too)
    # JSON types the value may have (checked once, by `check_types`, before it is read);
    # a `many` option takes a list or a string whatever this says.
    types: tuple[type, ...] = (str,)


ORDER_OPTIONS: dict[str, OrderOption] = {o.name: o for o in (
    OrderOption("name", "letters, digits, '-' and '_'; used in file names", default="mosaic"),
    OrderOption("aoi", "GeoJSON (Polygon, MultiPolygon, Feature, FeatureCollection) or WKT "
                       "(POLYGON, MULTIPOLYGON) in WGS 84, a bbox "
                       "min_lon,min_lat,max_lon,max_lat, or a Sentinel-2 tile id such as 29UNU",
                required=True, types=(str, dict, list)),
    OrderOption("period", "aligned as S2GM did; 'custom' takes start and end as given "
                          "(default: month, or custom when an end is given)",
                choices={n: p.label for n, p in PERIOD_TYPES.items()}),
    OrderOption("start", "any day in the period (YYYY-MM-DD); aligned to the period, which "
                         f"must have a day from {SENTINEL2_FIRST_DAY.isoformat()} (Sentinel-2's "
                         "first acquisition) to today", required=True, types=(str, date)),
    OrderOption("end", "last day (YYYY-MM-DD, up to today) of a custom period",
                types=(str, date)),
    OrderOption("resolution", "metres", required=True,
                choices={r: f"{r} m" for r in l2a.RESOLUTIONS_M}, types=(int, str)),
    OrderOption("crs", "'UTM' for the AOI's UTM zone, or an EPSG code (EPSG:4326, EPSG:3035, ...)",
                required=True, types=(str, int)),
    OrderOption("format", "file format of the product", default="GTiff",
                choices={n: f.label for n, f in PRODUCT_FORMATS.items()}),
    # Not required as such: a mosaic needs them (`parse_spec` says so), a change order has
    # default ones.
    OrderOption("bands", "surface reflectance bands (needed for a mosaic; a change order "
                         f"compares these, by default {','.join(CHANGE_BANDS)})", many=True,
                choices={b.name: f"{b.name} ({b.center_nm} nm, {b.description})"
                         for b in l2a.SURFACE_BANDS}),
    OrderOption("aux", "layers beside the bands, each value from the chosen observation",
                default=(), many=True,
                choices={n: f"{n}: {lyr.description}" for n, lyr in AUX_LAYERS.items()}),
    OrderOption("metadata", "metadata files delivered with the product",
                default=tuple(METADATA_OPTIONS), many=True, choices=METADATA_OPTIONS),
    OrderOption("cloud_buffer", f"dilation of cloud and shadow masks, in output pixels (0 to "
                                f"{MAX_CLOUD_BUFFER})", default=0, types=(int, str)),
    OrderOption("layout", "how GeoTIFF products spread their layers over files; auxiliary "
                          "layers are always files of their own, JPEG 2000 is one file per "
                          "band, and formats holding every layer in one file refuse "
                          "'per_layer'", default="multiband", choices=LAYOUTS),
    OrderOption("tiling", "large orders as S2GM delivered them: tile subfolders named by tile "
                          "id, metadata at the top; needs a UTM coordinate system",
                default="single", choices=TILINGS),
    OrderOption("compare_start", "makes the order a change order: any day in the second "
                                 "period (YYYY-MM-DD), after the first; both periods are "
                                 "composited on one grid and compared by Change Vector "
                                 "Analysis. The second period has the first one's type (a "
                                 "custom period: its length)", types=(str, date)),
    OrderOption("confidence", "change orders: the confidence at which a pixel's change is "
                              f"significant ({CONFIDENCE_RANGE[0]} to {CONFIDENCE_RANGE[1]})",
                default=DEFAULT_CONFIDENCE, types=(float, int, str)),
    OrderOption("change_classes", "change orders: classes of change, by k-means on magnitude "
                                  f"and angle (1 to {MAX_CHANGE_CLASSES})",
                default=DEFAULT_CLASSES, types=(int, str)),
)}


class SpecError(ValueError):
    """An ordering option that cannot be accepted; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class MosaicSpec:
    """A complete, valid order. Field names are the order options' names (`ORDER_OPTIONS`)."""

    aoi: BaseGeometry  # WGS 84 lon/lat
    start: date
    end: date
    period: str
    resolution: int
    crs: int  # EPSG code
    format: str
    bands: tuple[str, ...]
    aux: tuple[str, ...] = ()
    metadata: tuple[str, ...] = tuple(METADATA_OPTIONS)
    name: str = "mosaic"
    cloud_buffer: int = 0  # pixels of dilation of cloud and shadow masks
    layout: str = "multiband"
    tiling: str = "single"
    # A change order (`is_change`): the start of the second period, compared with the first.
    compare_start: date | None = None
    confidence: float = DEFAULT_CONFIDENCE
    change_classes: int = DEFAULT_CLASSES

    @property
    def is_change(self) -> bool:
        """Whether the order is the change between two periods rather than one mosaic."""
        return self.compare_start is not None

    @property
    def compare_end(self) -> date | None:
        """The last day of a change order's second period."""
        if self.compare_start is None:
            return None
        if self.period_type.aligned:
            return period_bounds(self.period, self.compare_start)[1]
        return self.compare_start + (self.end - self.start)

    @property
    def mosaics(self) -> int:
        """How many mosaics the order composes on its grid: two for a change order."""
        return 2 if self.is_change else 1

    @property
    def covered_period(self) -> tuple[date, date]:
        """First and last day the product's observations may come from (both of a change
        order's periods)."""
        return self.start, self.compare_end or self.end

    @property
    def product_format(self) -> ProductFormat:
        """The ordered format's record."""
        return PRODUCT_FORMATS[self.format]

    @property
    def period_type(self) -> PeriodType:
        """The ordered period type's record."""
        return PERIOD_TYPES[self.period]

    @property
    def aux_layers(self) -> tuple[Layer, ...]:
        """The ordered auxiliary layers' records."""
        return tuple(AUX_LAYERS[name] for name in self.aux)

    def to_json(self) -> dict[str, Any]:
        """The order as JSON, in the REST API's shape; `parse_spec` and `from_json` read it."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["aoi"] = mapping(self.aoi)
        out["start"], out["end"] = self.start.isoformat(), self.end.isoformat()
        out["crs"] = f"EPSG:{self.crs}"
        if self.compare_start is None:  # a mosaic: in the shape it had before change orders
            for name in CHANGE_OPTIONS:
                del out[name]
        else:
            out["compare_start"] = self.compare_start.isoformat()
        for key in ("bands", "aux", "metadata"):
            out[key] = list(out[key])
        return json.loads(json.dumps(out))  # plain lists, not the geometry's tuples

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MosaicSpec:
        """A spec stored by `to_json` after it was validated: read back without re-checking."""
        return cls(
            aoi=shape(data["aoi"]), start=date.fromisoformat(data["start"]),
            end=date.fromisoformat(data["end"]), period=data["period"],
            resolution=int(data["resolution"]), crs=int(str(data["crs"]).removeprefix("EPSG:")),
            format=data["format"], bands=tuple(data["bands"]), aux=tuple(data["aux"]),
            metadata=tuple(data["metadata"]), name=data["name"],
            cloud_buffer=int(data["cloud_buffer"]), layout=data["layout"],
            tiling=data["tiling"],
            # orders stored before change orders existed have none of these
            compare_start=(date.fromisoformat(data["compare_start"])
                           if data.get("compare_start") else None),
            confidence=float(data.get("confidence", DEFAULT_CONFIDENCE)),
            change_classes=int(data.get("change_classes", DEFAULT_CLASSES)))


def parse_spec(options: Mapping[str, Any], *, max_area_km2: float = 1e6,
               max_vertices: int = MAX_AOI_VERTICES) -> MosaicSpec:
    """Validate ordering options (JSON shapes as the REST API takes them) into a MosaicSpec.

    The one reader of orders: the form, the REST API and `manage.py mosaic` all call it.
    Absent or empty optional options take their `ORDER_OPTIONS` default. Whatever the input,
    the only exception it raises is SpecError naming the option.
    """
    if not isinstance(options, Mapping):
        raise SpecError("body", "the order must be a JSON object of options")
    unknown = sorted(map(str, set(options) - set(ORDER_OPTIONS)))
    if unknown:
        raise SpecError(unknown[0], f"unknown option; the options are "
                                    f"{', '.join(ORDER_OPTIONS)}")
    check_types(options)
    aoi = parse_aoi(_required(options, "aoi"), max_area_km2=max_area_km2,
                    max_vertices=max_vertices)
    period, start, end = parse_period(options)
    compare_start = parse_compare_start(options, period, start, end)
    bands = options.get("bands") or (CHANGE_BANDS if compare_start else _required(options,
                                                                                 "bands"))
    spec = MosaicSpec(
        aoi=aoi,
        start=start,
        end=end,
        period=period,
        resolution=parse_resolution(_required(options, "resolution")),
        crs=parse_crs(_required(options, "crs"), aoi),
        format=parse_format(_given(options, "format")),
        bands=tuple(_wrap("bands", l2a.parse_bands, bands)),
        aux=tuple(parse_choices("aux", _given(options, "aux"), AUX_LAYERS)),
        metadata=tuple(parse_choices("metadata", _given(options, "metadata"),
                                     METADATA_OPTIONS)),
        name=parse_name(_given(options, "name")),
        cloud_buffer=parse_cloud_buffer(_given(options, "cloud_buffer")),
        layout=parse_option("layout", _given(options, "layout"), LAYOUTS),
        tiling=parse_option("tiling", _given(options, "tiling"), TILINGS),
        compare_start=compare_start,
        confidence=parse_confidence(_given(options, "confidence")),
        change_classes=parse_change_classes(_given(options, "change_classes")),
    )
    check_change_options(options, spec)
    check_writable(spec)
    check_layout(spec)
    check_tiling(spec)
    return spec


def check_types(options: Mapping[str, Any]) -> None:
    """Refuse an option given as a JSON type it never takes (`OrderOption.types`): the one
    type check of every option, so that the readers below only meet the types they read."""
    for name, option in ORDER_OPTIONS.items():
        value = options.get(name)
        if value is None:
            continue
        if option.many:
            if isinstance(value, str):
                continue
            if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
                continue
            raise SpecError(name, f"give a list of names or a comma-separated string, not "
                                  f"{_shown(value)}")
        # a tuple is a list from Python callers; bool is an int to Python, never to a person
        accepted = (*option.types, tuple) if list in option.types else option.types
        if isinstance(value, accepted) and not isinstance(value, bool):
            continue
        allowed = " or ".join(_TYPE_WORDS[t] for t in option.types)
        raise SpecError(name, f"give {allowed}, not {_shown(value)}")


def _shown(value: Any) -> str:
    """A value's JSON type and a short look at it, for a refusal."""
    kind = {bool: "true/false", int: "a number", float: "a number", str: "a string",
            list: "a list", tuple: "a list", dict: "a JSON object"}.get(type(value), "a value")
    text = json.dumps(value, default=str)
    return f"{kind} ({text[:40]}{'...' if len(text) > 40 else ''})"


def _given(options: Mapping[str, Any], key: str) -> Any:
    """The option's value, or its default where it is absent or empty."""
    value = options.get(key)
    if value is None or value == "":
        return ORDER_OPTIONS[key].default
    return value


def check_writable(spec: MosaicSpec) -> None:
    """Refuse, before any work, a layer the ordered format cannot hold without loss: an
    ordered auxiliary layer, or one a change order always delivers (then the format is what
    the person chose wrongly)."""
    from compositing.products.groups import delivered_groups

    fmt = spec.product_format
    refused = [lyr for layers in delivered_groups(spec).values() for lyr in layers
               if not fmt.holds(lyr.dtype)]
    if refused:
        others = [f.title for f in PRODUCT_FORMATS.values() if f.holds(refused[0].dtype)]
        field, what = ("format", "a change order's") if spec.is_change else ("aux", "")
        raise SpecError(field, f"{fmt.title} cannot hold {what}"
                               f"{' ' if what else ''}"
                               f"{', '.join(lyr.name for lyr in refused)} losslessly "
                               f"({refused[0].dtype}); order {' or '.join(others)} for it")


def check_layout(spec: MosaicSpec) -> None:
    """Refuse a layout the ordered format has no meaning for (one file per layer in NetCDF)."""
    fmt = spec.product_format
    if spec.layout not in fmt.layouts:
        others = [f.title for f in PRODUCT_FORMATS.values() if spec.layout in f.layouts]
        raise SpecError("layout", f"a {fmt.title} product cannot have layout '{spec.layout}' "
                                  f"(it holds every layer in one file); order "
                                  f"{' or '.join(others)} for it")


def check_tiling(spec: MosaicSpec) -> None:
    """Refuse MGRS tile subfolders for a CRS other than a UTM zone, or an area reaching beyond
    the Sentinel-2 tiles of the ordered zone."""
    if spec.tiling != "mgrs":
        return
    from compositing.grid import project_geometry
    from compositing.orders.mgrs import uncovered, utm_zone_of

    zone = utm_zone_of(spec.crs)
    if zone is None:
        raise SpecError("tiling", f"MGRS tile subfolders need a WGS 84 / UTM coordinate system "
                                  f"(EPSG:326zz or 327zz), not EPSG:{spec.crs}; order a "
                                  "single product")
    rest = uncovered(spec.crs, project_geometry(spec.aoi, spec.crs))
    if rest.area > 0:
        west, south, east, north = rest.bounds
        raise SpecError("tiling", f"the area reaches beyond the Sentinel-2 tiles of UTM zone "
                                  f"{zone[0]} (E {west:.0f}-{east:.0f}, N {south:.0f}-"
                                  f"{north:.0f} m); order a single product or another zone")


def parse_option(name: str, value: Any, allowed: Mapping[str, str]) -> str:
    """One of the allowed names."""
    text = str(value).strip().lower()
    if text not in allowed:
        raise SpecError(name, f"unknown {name} {value!r}; one of {', '.join(allowed)}")
    return text


def parse_aoi(value: Any, *, max_area_km2: float = 1e6,
              max_vertices: int = MAX_AOI_VERTICES) -> BaseGeometry:
    """A lon/lat polygon from GeoJSON (geometry, Feature, FeatureCollection), a bbox, or a
    Sentinel-2 MGRS tile id ('29UNU', 'T29UNU': the tile's footprint), of at most
    `max_vertices` vertices: the one limit of every AOI, typed or uploaded."""
    geom = _aoi_geometry(value)
    vertices = shapely.get_num_coordinates(geom)
    if vertices > max_vertices:
        raise SpecError("aoi", f"the AOI has {vertices:,} vertices, over the limit of "
                               f"{max_vertices:,}; simplify it first")
    if geom.is_empty or geom.geom_type not in {"Polygon", "MultiPolygon"}:
        raise SpecError("aoi", "the AOI must be a Polygon or MultiPolygon (or a bbox)")
    minx, miny, maxx, maxy = geom.bounds
    if not all(math.isfinite(v) for v in geom.bounds):
        raise SpecError("aoi", "the AOI's coordinates must be finite numbers")
    if not geom.is_valid:
        raise SpecError("aoi", "the AOI polygon is not valid (self-intersecting or degenerate)")
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise SpecError("aoi", "coordinates must be longitude/latitude in WGS 84 (EPSG:4326)")
    if geom.area == 0:
        raise SpecError("aoi", "the AOI has zero area")
    area_km2 = aoi_area_km2(geom)
    if area_km2 > max_area_km2:
        raise SpecError("aoi", f"the AOI covers {area_km2:,.0f} km², over the direct-order "
                               f"limit of {max_area_km2:,.0f} km²")
    return geom


def aoi_area_km2(geom: BaseGeometry) -> float:
    """The area of a lon/lat polygon on the WGS 84 ellipsoid, its edges following lines of
    longitude and latitude as drawn on a map.

    Geodesic edges make the area of a ring spanning 180 degrees of longitude or more
    ambiguous (the whole-world bbox has area 0 to pyproj), so the polygon is measured in
    90-degree strips with edges densified to 1 degree.
    """
    geod = Geod(ellps="WGS84")
    total = 0.0
    for west in (-180.0, -90.0, 0.0, 90.0):
        part = geom.intersection(box(west, -90.0, west + 90.0, 90.0))
        if not part.is_empty and part.area > 0:
            total += abs(geod.geometry_area_perimeter(shapely.segmentize(part, 1.0))[0])
    return total / 1e6


def _aoi_geometry(value: Any) -> BaseGeometry:
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise SpecError("aoi", "an AOI is required")
        if text[0] in "{[":
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise SpecError("aoi", f"not valid JSON: {exc.msg}") from None
            except RecursionError:
                raise SpecError("aoi", "the JSON is nested too deeply") from None
        elif _WKT.match(text):
            return _wkt(text)
        elif parse_tile_id(text) is not None:
            try:
                return tile_footprint_wgs84(tile_from_id(text))
            except ValueError as exc:
                raise SpecError("aoi", str(exc)) from None
        else:
            value = text.split(",")
    if isinstance(value, list | tuple):
        return _bbox(value)
    if isinstance(value, Mapping) and "type" not in value:
        raise SpecError("aoi", "GeoJSON needs a 'type' (Polygon, MultiPolygon, Feature, "
                               "FeatureCollection)")
    if not isinstance(value, Mapping):
        raise SpecError("aoi", "give GeoJSON, WKT, a bbox 'min_lon,min_lat,max_lon,max_lat' or "
                               "an MGRS tile id such as 29UNU")
    kind = value.get("type")
    try:
        if kind == "FeatureCollection":
            parts = [shape(f["geometry"]) for f in value.get("features", [])]
            if not parts:
                raise SpecError("aoi", "the FeatureCollection has no features")
            return unary_union(parts)
        if kind == "Feature":
            return shape(value["geometry"])
        return shape(value)
    except SpecError:
        raise
    except Exception as exc:  # shapely raises several types for malformed GeoJSON
        raise SpecError("aoi", f"invalid GeoJSON: {exc}") from None


# Well-known text of a polygon, optionally with PostGIS's SRID prefix (EWKT): what GIS
# tools copy out (QGIS's "Copy as WKT", PostGIS's ST_AsEWKT).
_WKT = re.compile(r"^(SRID=(\d+);)?\s*(MULTI)?POLYGON\b", re.IGNORECASE)


def _wkt(text: str) -> BaseGeometry:
    srid = _WKT.match(text).group(2)  # type: ignore[union-attr]  # matched by the caller
    if srid is not None and srid != "4326":
        raise SpecError("aoi", f"the WKT is in SRID {srid}; give longitude/latitude in WGS 84 "
                               "(SRID=4326)")
    try:
        return shapely.from_wkt(text.split(";", 1)[1] if srid is not None else text)
    except shapely.errors.GEOSException as exc:
        raise SpecError("aoi", f"not valid WKT: {exc}") from None


def _bbox(values: list | tuple) -> BaseGeometry:
    try:
        if len(values) != 4 or any(isinstance(v, bool) for v in values):
            raise ValueError
        minx, miny, maxx, maxy = (float(v) for v in values)
        if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
            raise ValueError
    except (TypeError, ValueError, OverflowError):
        raise SpecError("aoi", "a bbox is four numbers: min_lon,min_lat,max_lon,max_lat") from None
    if minx >= maxx or miny >= maxy:
        raise SpecError("aoi", "the bbox has zero area (min must be below max)")
    return box(minx, miny, maxx, maxy)


def parse_period(options: Mapping[str, Any]) -> tuple[str, date, date]:
    """Period type and inclusive start/end; aligned types snap to their S2GM period."""
    start = parse_date("start", _required(options, "start"))
    end_raw = options.get("end")
    end = parse_date("end", end_raw) if end_raw else None
    period_type = str(options.get("period") or ("custom" if end else "month")).strip().lower()
    if period_type not in PERIOD_TYPES:
        raise SpecError("period", f"unknown period {options.get('period')!r}; one of "
                                  f"{', '.join(PERIOD_TYPES)}")
    if not PERIOD_TYPES[period_type].aligned:
        if end is None:
            raise SpecError("end", "a custom period needs an end date")
        if end < start:
            raise SpecError("end", "the end date is before the start date")
        check_era(start, end)
        return period_type, start, end
    if not date(SENTINEL2_FIRST_DAY.year, 1, 1) <= start <= latest_day():
        check_era(start, start)  # refuses it before aligning: year 1 or 9999 has no period
    aligned_start, aligned_end = period_bounds(period_type, start)
    check_era(aligned_start, aligned_end, open_end=True)
    if end is not None and end < start:
        raise SpecError("end", "the end date is before the start date")
    if end is not None and end != aligned_end:
        raise SpecError("end", f"a {period_type} period starting {aligned_start} ends "
                               f"{aligned_end}; use period 'custom' for other dates")
    return period_type, aligned_start, aligned_end


def parse_compare_start(options: Mapping[str, Any], period: str, start: date,
                        end: date) -> date | None:
    """The start of a change order's second period (aligned as the first), after the first
    period and within the Sentinel-2 era; None for a mosaic."""
    raw = options.get("compare_start")
    if raw is None or raw == "":
        return None
    day = parse_date("compare_start", raw)
    if PERIOD_TYPES[period].aligned:
        if not date(SENTINEL2_FIRST_DAY.year, 1, 1) <= day <= latest_day():
            raise SpecError("compare_start", f"{day.isoformat()} is outside the Sentinel-2 era "
                                             f"({SENTINEL2_FIRST_DAY.isoformat()} to today)")
        day, compare_end = period_bounds(period, day)
    else:
        compare_end = day + (end - start)
    if day <= end:
        raise SpecError("compare_start", f"the second period ({day.isoformat()}) must start "
                                         f"after the first one ends ({end.isoformat()})")
    if day > latest_day() or (not PERIOD_TYPES[period].aligned and compare_end > latest_day()):
        raise SpecError("compare_start", f"the second period ({day.isoformat()} to "
                                         f"{compare_end.isoformat()}) reaches into the future")
    return day


def parse_confidence(value: Any) -> float:
    """A change mask's confidence: a probability within CONFIDENCE_RANGE."""
    try:
        number = float(str(value).strip()) if not isinstance(value, bool) else math.nan
    except ValueError:
        number = math.nan
    low, high = CONFIDENCE_RANGE
    if not low <= number <= high:  # NaN fails too
        raise SpecError("confidence", f"{value!r} is not a probability from {low} to {high}")
    return number


def parse_change_classes(value: Any) -> int:
    """The number of k-means classes of change, 1 to MAX_CHANGE_CLASSES."""
    return _whole_number("change_classes", value, 1, MAX_CHANGE_CLASSES, "a whole number")


def check_change_options(options: Mapping[str, Any], spec: MosaicSpec) -> None:
    """Refuse change options on a mosaic, and auxiliary layers on a change order (it delivers
    its own: `groups.delivered_groups`)."""
    if not spec.is_change:
        # A form sends every field, these at their defaults: only another value is refused.
        for name in CHANGE_OPTIONS[1:]:  # the tuning, without what makes a change order
            if getattr(spec, name) != ORDER_OPTIONS[name].default:
                raise SpecError(name, "only a change order (one with compare_start) takes "
                                      f"{name}")
        return
    if spec.aux:
        raise SpecError("aux", "a change order delivers its own layers (change vectors, mask, "
                               "classes and each period's source and date); order no "
                               "auxiliary layers")


def parse_date(name: str, value: Any) -> date:
    """An ISO date (YYYY-MM-DD)."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise SpecError(name, f"{value!r} is not a date in the form YYYY-MM-DD") from None


def latest_day() -> date:
    """The latest calendar day anywhere on Earth (UTC+14): a person's today is never later."""
    return (datetime.now(UTC) + timedelta(hours=14)).date()


def check_era(start: date, end: date, *, open_end: bool = False) -> None:
    """Refuse a period without a day of the Sentinel-2 era (SENTINEL2_FIRST_DAY to today): no
    archive holds an observation of it, so an order of it could only fail once queued.
    `open_end`: the period may end after today (an aligned period: this month so far)."""
    if end < SENTINEL2_FIRST_DAY:
        days = (start.isoformat() if start == end else
                f"the period {start.isoformat()} to {end.isoformat()}")
        raise SpecError("start", f"{days} is before Sentinel-2's first acquisition "
                                 f"({SENTINEL2_FIRST_DAY.isoformat()})")
    latest = latest_day()
    if start > latest:
        raise SpecError("start", f"{start.isoformat()} is in the future; Sentinel-2 has not "
                                 "observed it yet")
    if end > latest and not open_end:
        raise SpecError("end", f"{end.isoformat()} is in the future; Sentinel-2 has not "
                               "observed it yet")


def parse_resolution(value: Any) -> int:
    """One of the Sentinel-2 resolutions, in metres."""
    text = str(value).strip().removesuffix("m")
    res = int(text) if text.isascii() and text.isdigit() and len(text) < 6 else -1
    if res not in l2a.RESOLUTIONS_M:
        raise SpecError("resolution", f"{value!r} is not offered; choose 10, 20 or 60 (metres)")
    return res


def parse_crs(value: Any, aoi: BaseGeometry | None = None) -> int:
    """An EPSG code ('EPSG:32631' or 32631) of a 2-D CRS; 'UTM' is the AOI centre's zone."""
    text = str(value).strip().upper().removeprefix("EPSG:")
    if text == "UTM" and aoi is not None:
        centre = aoi.centroid
        return utm_epsg(centre.x, centre.y)
    if not (text.isascii() and text.isdigit()) or len(text) > 6:
        raise SpecError("crs", f"{value!r} is not an EPSG code such as EPSG:32631")
    try:
        crs = CRS.from_epsg(int(text))
    except CRSError:
        raise SpecError("crs", f"EPSG:{text} is not a known coordinate reference system") from None
    if not (crs.is_projected or crs.is_geographic) or len(crs.axis_info) != 2:
        raise SpecError("crs", f"EPSG:{text} ({crs.name}) is not a 2-D map projection")
    return int(text)


def parse_format(value: Any) -> str:
    """A product file format's name, from its name or an alias in any case."""
    fmt = find_format(str(value))
    if fmt is None:
        raise SpecError("format", f"unknown format {value!r}; one of "
                                  f"{', '.join(PRODUCT_FORMATS)}")
    return fmt.name


def parse_choices(name: str, value: Any, allowed: Mapping | tuple) -> list[str]:
    """A subset of allowed names, from a list or a comma-separated string."""
    items = value.split(",") if isinstance(value, str) else list(value or [])
    out: list[str] = []
    for raw in items:
        item = str(raw).strip()
        if not item:
            continue
        if item not in allowed:
            raise SpecError(name, f"unknown {name} value {item!r}; one of {', '.join(allowed)}")
        if item not in out:
            out.append(item)
    return out


def parse_cloud_buffer(value: Any) -> int:
    """Dilation of cloud and shadow masks in output pixels, 0 (off) to MAX_CLOUD_BUFFER."""
    return _whole_number("cloud_buffer", value, 0, MAX_CLOUD_BUFFER,
                         "a whole number of pixels")


def _whole_number(name: str, value: Any, low: int, high: int, what: str) -> int:
    """A whole number from low to high, given as a number or its digits."""
    text = str(value).strip()
    number = int(text) if text.isascii() and text.isdigit() and len(text) < 6 else -1
    if not low <= number <= high:
        raise SpecError(name, f"{value!r} is not {what} from {low} to {high}")
    return number


def parse_name(value: Any) -> str:
    """An order name usable in file names: letters, digits, '-' and '_'."""
    name = str(value).strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise SpecError("name", f"the name must have 1 to {MAX_NAME_LENGTH} characters")
    if not all(c.isalnum() or c in "-_" for c in name) or not name.isascii():
        raise SpecError("name", "use only ASCII letters, digits, '-' and '_' in the name")
    return name


def _required(options: Mapping[str, Any], key: str) -> Any:
    value = options.get(key)
    if value is None or value == "" or value == [] or value == {}:
        raise SpecError(key, "this field is required")
    return value


def _wrap(name: str, func: Any, value: Any) -> Any:
    try:
        return func(value)
    except ValueError as exc:
        raise SpecError(name, str(exc)) from None
