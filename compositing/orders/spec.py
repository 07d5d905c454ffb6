"""What a person orders, validated: the single place where ordering options are checked."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from pyproj import CRS, Geod
from pyproj.exceptions import CRSError
from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from compositing import l2a
from compositing.grid import utm_epsg
from compositing.orders.mgrs import parse_tile_id, tile_footprint_wgs84, tile_from_id
from compositing.orders.periods import PERIOD_TYPES, period_bounds

FORMATS: dict[str, str] = {"GTiff": "GeoTIFF", "JP2": "JPEG 2000", "NetCDF": "NetCDF-4"}

AUX_LAYERS: dict[str, str] = {
    "source_index": "index of the chosen observation in the product's source list",
    "valid_obs": "number of valid observations",
    "total_obs": "number of observations, valid or not",
    "method": "1 medoid, 2 short-term composite, 0 none",
    "medoid_mos": "medoid's sum of distances divided by the number of valid observations",
    "acquisition_date": "acquisition day of the chosen observation, days since 1970-01-01",
    "quality_scene_classification": "SCL class of the chosen observation",
    "quality_aot": "aerosol optical thickness of the chosen observation",
    "quality_cloud_confidence": "Sen2Cor cloud probability (%) of the chosen observation",
    "quality_snow_confidence": "Sen2Cor snow probability (%) of the chosen observation",
    "view_zenith_mean": "viewing zenith angle (degrees, mean over bands) of the chosen "
                        "observation",
    "view_azimuth_mean": "viewing azimuth angle (degrees, mean over bands, -180..180) of the "
                         "chosen observation",
    "sun_zenith": "sun zenith angle (degrees) of the chosen observation",
    "sun_azimuth": "sun azimuth angle (degrees, -180..180) of the chosen observation",
}
METADATA_OPTIONS: tuple[str, ...] = ("json", "inspire")
# GeoTIFF products: all reflectance bands in one file, or one file per band (as S2GM). Auxiliary
# layers are always files of their own; JPEG 2000 is always one file per band and NetCDF one
# file, so `layout` only changes GeoTIFF products.
LAYOUTS: dict[str, str] = {
    "multiband": "one GeoTIFF holding every band (auxiliary layers in files of their own)",
    "per_layer": "one GeoTIFF per band and per auxiliary layer, as S2GM delivered",
}
# A UTM product as one grid, or split into one subfolder per Sentinel-2 MGRS tile (as S2GM).
TILINGS: dict[str, str] = {
    "single": "one product on one grid",
    "mgrs": "one subfolder per Sentinel-2 MGRS tile the area touches (UTM only)",
}
MAX_NAME_LENGTH = 80
MAX_CLOUD_BUFFER = 20


class SpecError(ValueError):
    """An ordering option that cannot be accepted; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class MosaicSpec:
    """A complete, valid order."""

    aoi: BaseGeometry  # WGS 84 lon/lat
    start: date
    end: date
    period_type: str
    resolution: int
    epsg: int
    file_format: str
    bands: tuple[str, ...]
    aux: tuple[str, ...] = ()
    metadata: tuple[str, ...] = ("json",)
    name: str = "mosaic"
    cloud_buffer: int = 0  # pixels of dilation of cloud and shadow masks
    layout: str = "multiband"
    tiling: str = "single"
    extra: dict = field(default_factory=dict)

    def to_options(self) -> dict[str, Any]:
        """The JSON form accepted by `parse_spec` (round-trips)."""
        out = asdict(self)
        out.pop("extra")
        out["aoi"] = self.aoi.__geo_interface__
        out["start"], out["end"] = self.start.isoformat(), self.end.isoformat()
        out["period"] = out.pop("period_type")
        out["crs"] = f"EPSG:{out.pop('epsg')}"
        out["format"] = out.pop("file_format")
        for key in ("bands", "aux", "metadata"):
            out[key] = list(out[key])
        return out


def parse_spec(options: Mapping[str, Any], *, max_area_km2: float = 1e6) -> MosaicSpec:
    """Validate ordering options (JSON shapes as the REST API takes them) into a MosaicSpec."""
    aoi = parse_aoi(_required(options, "aoi"), max_area_km2=max_area_km2)
    period_type, start, end = parse_period(options)
    spec = MosaicSpec(
        aoi=aoi,
        start=start,
        end=end,
        period_type=period_type,
        resolution=parse_resolution(_required(options, "resolution")),
        epsg=parse_crs(_required(options, "crs"), aoi),
        file_format=parse_format(options.get("format", "GTiff")),
        bands=tuple(_wrap("bands", l2a.parse_bands, _required(options, "bands"))),
        aux=tuple(parse_choices("aux", options.get("aux", []), AUX_LAYERS)),
        metadata=tuple(parse_choices("metadata", options.get("metadata", ["json"]),
                                     METADATA_OPTIONS)),
        name=parse_name(options.get("name") or "mosaic"),
        cloud_buffer=parse_cloud_buffer(options.get("cloud_buffer") or 0),
        layout=parse_option("layout", options.get("layout") or "multiband", LAYOUTS),
        tiling=parse_option("tiling", options.get("tiling") or "single", TILINGS),
    )
    check_writable(spec)
    check_layout(spec)
    check_tiling(spec)
    return spec


def check_writable(spec: MosaicSpec) -> None:
    """Refuse, before any work, a layer the ordered format cannot hold without loss."""
    if spec.file_format != "JP2":
        return
    from compositing.products.jp2 import jp2_supports
    from compositing.products.layers import AUX_LAYER_STORAGE

    refused = [n for n in spec.aux if not jp2_supports(AUX_LAYER_STORAGE[n].dtype)]
    if refused:
        raise SpecError("aux", f"JPEG 2000 cannot hold {', '.join(refused)} losslessly "
                               f"({AUX_LAYER_STORAGE[refused[0]].dtype}); order GeoTIFF or "
                               "NetCDF for it")


def check_layout(spec: MosaicSpec) -> None:
    """Refuse one file per layer where the format holds every layer in one file (NetCDF)."""
    if spec.layout == "per_layer" and spec.file_format == "NetCDF":
        raise SpecError("layout", "a NetCDF product is one file holding every layer; order "
                                  "GeoTIFF or JPEG 2000 for one file per layer")


def check_tiling(spec: MosaicSpec) -> None:
    """Refuse MGRS tile subfolders for a CRS other than a UTM zone, or an area reaching beyond
    the Sentinel-2 tiles of the ordered zone."""
    if spec.tiling != "mgrs":
        return
    from compositing.grid import project_geometry
    from compositing.orders.mgrs import uncovered, utm_zone_of

    zone = utm_zone_of(spec.epsg)
    if zone is None:
        raise SpecError("tiling", f"MGRS tile subfolders need a WGS 84 / UTM coordinate system "
                                  f"(EPSG:326zz or 327zz), not EPSG:{spec.epsg}; order a "
                                  "single product")
    rest = uncovered(spec.epsg, project_geometry(spec.aoi, spec.epsg))
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


def parse_aoi(value: Any, *, max_area_km2: float = 1e6) -> BaseGeometry:
    """A lon/lat polygon from GeoJSON (geometry, Feature, FeatureCollection), a bbox, or a
    Sentinel-2 MGRS tile id ('29UNU', 'T29UNU': the tile's footprint)."""
    geom = _aoi_geometry(value)
    if geom.is_empty or geom.geom_type not in {"Polygon", "MultiPolygon"}:
        raise SpecError("aoi", "the AOI must be a Polygon or MultiPolygon (or a bbox)")
    if not geom.is_valid:
        raise SpecError("aoi", "the AOI polygon is not valid (self-intersecting or degenerate)")
    minx, miny, maxx, maxy = geom.bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise SpecError("aoi", "coordinates must be longitude/latitude in WGS 84 (EPSG:4326)")
    area_km2 = abs(Geod(ellps="WGS84").geometry_area_perimeter(geom)[0]) / 1e6
    if area_km2 <= 0 or geom.area == 0:
        raise SpecError("aoi", "the AOI has zero area")
    if area_km2 > max_area_km2:
        raise SpecError("aoi", f"the AOI covers {area_km2:,.0f} km², over the direct-order "
                               f"limit of {max_area_km2:,.0f} km²")
    return geom


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
        elif parse_tile_id(text) is not None:
            try:
                return tile_footprint_wgs84(tile_from_id(text))
            except ValueError as exc:
                raise SpecError("aoi", str(exc)) from None
        else:
            value = text.split(",")
    if isinstance(value, list | tuple):
        return _bbox(value)
    if not isinstance(value, Mapping):
        raise SpecError("aoi", "give GeoJSON, a bbox 'min_lon,min_lat,max_lon,max_lat' or an "
                               "MGRS tile id such as 29UNU")
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


def _bbox(values: list | tuple) -> BaseGeometry:
    try:
        minx, miny, maxx, maxy = (float(v) for v in values)
    except (TypeError, ValueError):
        raise SpecError("aoi", "a bbox is four numbers: min_lon,min_lat,max_lon,max_lat") from None
    if minx >= maxx or miny >= maxy:
        raise SpecError("aoi", "the bbox has zero area (min must be below max)")
    return box(minx, miny, maxx, maxy)


def parse_period(options: Mapping[str, Any]) -> tuple[str, date, date]:
    """Period type and inclusive start/end; aligned types snap to their S2GM period."""
    start = parse_date("start", _required(options, "start"))
    end_raw = options.get("end")
    end = parse_date("end", end_raw) if end_raw else None
    period_type = options.get("period") or ("custom" if end else "month")
    if period_type not in PERIOD_TYPES:
        raise SpecError("period", f"unknown period {period_type!r}; one of "
                                  f"{', '.join(PERIOD_TYPES)}")
    if period_type == "custom":
        if end is None:
            raise SpecError("end", "a custom period needs an end date")
        if end < start:
            raise SpecError("end", "the end date is before the start date")
        return period_type, start, end
    aligned_start, aligned_end = period_bounds(period_type, start)
    if end is not None and end < start:
        raise SpecError("end", "the end date is before the start date")
    if end is not None and end != aligned_end:
        raise SpecError("end", f"a {period_type} period starting {aligned_start} ends "
                               f"{aligned_end}; use period 'custom' for other dates")
    return period_type, aligned_start, aligned_end


def parse_date(name: str, value: Any) -> date:
    """An ISO date (YYYY-MM-DD)."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise SpecError(name, f"{value!r} is not a date in the form YYYY-MM-DD") from None


def parse_resolution(value: Any) -> int:
    """One of the Sentinel-2 resolutions, in metres."""
    try:
        res = int(str(value).strip().removesuffix("m"))
    except ValueError:
        res = -1
    if res not in l2a.RESOLUTIONS_M:
        raise SpecError("resolution", f"{value!r} is not offered; choose 10, 20 or 60 (metres)")
    return res


def parse_crs(value: Any, aoi: BaseGeometry | None = None) -> int:
    """An EPSG code ('EPSG:32631' or 32631) of a 2-D CRS; 'UTM' is the AOI centre's zone."""
    text = str(value).strip().upper().removeprefix("EPSG:")
    if text == "UTM" and aoi is not None:
        centre = aoi.centroid
        return utm_epsg(centre.x, centre.y)
    if not text.isdigit():
        raise SpecError("crs", f"{value!r} is not an EPSG code such as EPSG:32631")
    try:
        crs = CRS.from_epsg(int(text))
    except CRSError:
        raise SpecError("crs", f"EPSG:{text} is not a known coordinate reference system") from None
    if not (crs.is_projected or crs.is_geographic) or len(crs.axis_info) != 2:
        raise SpecError("crs", f"EPSG:{text} ({crs.name}) is not a 2-D map projection")
    return int(text)


def parse_format(value: Any) -> str:
    """A product file format: GTiff (Cloud-Optimised GeoTIFF), JP2 or NetCDF."""
    by_lower = {k.lower(): k for k in FORMATS} | {"geotiff": "GTiff", "tif": "GTiff",
                                                 "jpeg2000": "JP2", "nc": "NetCDF"}
    fmt = by_lower.get(str(value).strip().lower())
    if fmt is None:
        raise SpecError("format", f"unknown format {value!r}; one of {', '.join(FORMATS)}")
    return fmt


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
    try:
        px = int(str(value).strip())
    except ValueError:
        px = -1
    if not 0 <= px <= MAX_CLOUD_BUFFER:
        raise SpecError("cloud_buffer", f"{value!r} is not a whole number of pixels from 0 to "
                                        f"{MAX_CLOUD_BUFFER}")
    return px


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
    if value is None or value == "" or value == []:
        raise SpecError(key, "this field is required")
    return value


def _wrap(name: str, func: Any, value: Any) -> Any:
    try:
        return func(value)
    except ValueError as exc:
        raise SpecError(name, str(exc)) from None
