"""Metadata delivered with every product: S2GM-style JSON, a STAC Item and a checksum manifest.

The INSPIRE/ISO 19139 XML is built in `compositing.products.inspire` from the same `ProductInfo`.
S2GM's own JSON keys keep S2GM's spelling (`Title`, `Source_product_list`, ...) so that scripts
written for S2GM products keep working; keys the hub adds are lower case (`algorithm`, `files`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from compositing import l2a
from compositing.archive.angles import MAX_VIEW_ZENITH_DEG
from compositing.archive.scenes import Observation, Scene
from compositing.grid import OutputGrid
from compositing.orders.spec import MosaicSpec
from compositing.products.formats import PRODUCT_FORMATS, Grouping, data_extensions
from compositing.products.groups import delivered_groups
from compositing.products.layers import Layer, Source
from compositing.products.naming import (
    PROCESSING_VERSION,
    FileRecord,
    layer_file_name,
    period_code,
)
from compositing.products.tiling import ProductPart
from compositing.selection.mask import STC_CLEAR_DISTANCE_M
from compositing.stacspec import FILE_EXTENSION, STAC_VERSION, extension

METADATA_VERSION = "1.0.0"
STAC_COLLECTION = "mosaics"
STAC_EXTENSIONS: tuple[str, ...] = (
    extension("projection/v2.0.0"), extension("eo/v1.1.0"), extension("raster/v1.1.0"),
    FILE_EXTENSION,
)
MEDIA_TYPES: dict[str, str] = {
    **{f.extension: f.media_type for f in PRODUCT_FORMATS.values()},
    "tiff": PRODUCT_FORMATS["GTiff"].media_type,
    "json": "application/json",
    "xml": "application/xml",
    "png": "image/png",
    "jpg": "image/jpeg",
    "txt": "text/plain",
}
DATA_SUFFIXES = data_extensions()
OVERVIEW_SUFFIXES = frozenset({"png", "jpg"})
METADATA_SUFFIXES = frozenset({"json", "xml", "sha256", "txt"})
STC_NAME = "S2GM short-term composite (STC) V1.1.0 decision tree"
SHA256_MULTIHASH_PREFIX = "1220"  # multihash: 0x12 sha2-256, 0x20 = 32 bytes


@dataclass(frozen=True)
class Contact:
    """Who answers for the product and its metadata."""

    name: str
    organisation: str
    email: str


@dataclass(frozen=True)
class ProductLinks:
    """Where a server publishes the product: absolute URLs, no trailing slash needed.

    `page` is the product's own page; file f is downloaded from `{files}/{f.name}`; `stac` is
    the root of the STAC API that lists the product in its collection, if any.
    """

    page: str
    files: str
    stac: str | None = None


@dataclass(frozen=True)
class ProductInfo:
    """Everything the metadata of one finished product is built from.

    `files` are the product's files as described so far (a file cannot list its own checksum).
    `links`, when given, are the product's public URLs; without them (a product written to a
    folder, not served) the metadata refers to the files by their paths relative to the
    product folder, which holds the metadata files too: never by a path of the machine.
    `statistics`: by data file name, a STAC raster Statistics Object for each layer of the
    file in `file_layers` order, computed from the delivered files (`products.statistics`).
    """

    spec: MosaicSpec
    grid: OutputGrid
    observations: list[Observation]
    files: list[FileRecord]
    product_id: str
    folder_name: str
    created: datetime
    contact: Contact
    stand_ins: dict[str, str] = field(default_factory=dict)
    links: ProductLinks | None = None
    medoid_min_obs: int = l2a.MEDOID_MIN_OBSERVATIONS
    id_namespace: str = "mosaichub"
    # Tile subfolders of a product ordered with tiling 'mgrs' (none for a single product).
    parts: tuple[ProductPart, ...] = ()
    # A change order's fitted parameters (`change_pieces.ChangeModel.describe`).
    change: Mapping[str, Any] | None = None
    statistics: Mapping[str, Sequence[Mapping[str, float]]] = field(default_factory=dict)


# ---------------------------------------------------------------- shared facts and texts


def scenes(info: ProductInfo) -> list[Scene]:
    """Every input L2A granule, in source-list order."""
    return [s for o in info.observations for s in o.scenes]


def input_years(info: ProductInfo) -> list[int]:
    """Sensing years of the inputs (the period's end year if there are none)."""
    years = sorted({o.datetime.year for o in info.observations})
    return years or [info.spec.end.year]


def attribution(info: ProductInfo) -> str:
    """The Copernicus attribution with the years of the input data."""
    years = input_years(info)
    span = str(years[0]) if len(years) == 1 else f"{years[0]}-{years[-1]}"
    return f"Contains modified Copernicus Sentinel data {span}"


def sensor_name(platform: str) -> str:
    """'sentinel-2a' or 'Sentinel-2A' -> 'S2A' (S2GM's Sensor_list spelling)."""
    p = platform.strip().lower().replace("_", "-")
    if p.startswith("sentinel-2") and len(p) > len("sentinel-2"):
        return "S2" + p[len("sentinel-2"):].upper()
    return platform.strip().upper()


def sensors(info: ProductInfo) -> list[str]:
    """Distinct sensors of the inputs, sorted."""
    return sorted({sensor_name(s.platform) for s in scenes(info) if s.platform})


def title(info: ProductInfo) -> str:
    """Product title."""
    spec = info.spec
    period = spec.period_type.adjective.lower()
    if spec.is_change:
        return (f"Sentinel-2 L2A change {spec.name}: {period} mosaics of {spec.start} and "
                f"{spec.compare_start} compared")
    return f"Sentinel-2 L2A {period} mosaic {spec.name}"


def summary(info: ProductInfo) -> str:
    """One-paragraph abstract of the product."""
    spec = info.spec
    bands = ", ".join(spec.bands)
    if spec.is_change:
        return (
            f"Change in Copernicus Sentinel-2 Level-2A surface reflectance ({bands}) at "
            f"{spec.resolution} m in EPSG:{spec.crs} over the ordered area, between the "
            f"best-available-pixel composites of {spec.start.isoformat()} to "
            f"{spec.end.isoformat()} and of {spec.compare_start} to {spec.compare_end}, built "
            f"from {len(scenes(info))} L2A granules ({len(info.observations)} acquisitions). "
            f"{algorithm_text(info)} {change_text(info)}")
    return (
        f"Best-available-pixel composite of Copernicus Sentinel-2 Level-2A surface reflectance "
        f"({bands}) at {spec.resolution} m in EPSG:{spec.crs} over the ordered area, for "
        f"{spec.start.isoformat()} to {spec.end.isoformat()}, built from "
        f"{len(scenes(info))} L2A granules ({len(info.observations)} acquisitions). "
        f"{algorithm_text(info)}"
    )


def algorithm_text(info: ProductInfo) -> str:
    """How each pixel was chosen, in one paragraph."""
    spec = info.spec
    text = (
        f"Each output pixel takes all its values from one observation, never a blend. "
        f"Observations are valid where the Sen2Cor scene classification is one of "
        f"{', '.join(str(c) for c in sorted(l2a.SCL_VALID_CLASSES))} (and, where angle grids "
        f"are known, the mean view zenith is below {MAX_VIEW_ZENITH_DEG:g} degrees). With at least "
        f"{info.medoid_min_obs} valid observations the medoid is chosen (the observation with "
        f"the least sum of Euclidean distances to the others over "
        f"{', '.join(l2a.MEDOID_BANDS)}); with 1 to {info.medoid_min_obs - 1} the "
        f"{STC_NAME} chooses, among observations at least {STC_CLEAR_DISTANCE_M} m from "
        f"detected clouds and shadows where there are any; with none the pixel is nodata."
    )
    if spec.cloud_buffer:
        text += f" Cloud and cloud-shadow masks are dilated by {spec.cloud_buffer} pixels."
    if info.stand_ins:
        pairs = ", ".join(f"{alt} for {band}" for band, alt in sorted(info.stand_ins.items()))
        text += f" The selection used {pairs}, which the inputs lack."
    return text


def change_text(info: ProductInfo) -> str:
    """How a change order compares its two mosaics, in one paragraph."""
    spec = info.spec
    return (
        f"The second mosaic is normalised to the first by a linear regression per band on the "
        f"pixels valid in both, iteratively re-weighted by their chi-squared probability of no "
        f"change; per pixel the change vector (the bands' differences) gives a magnitude and "
        f"an angle to the first band's axis. A pixel changed where the squared Mahalanobis "
        f"distance of its differences, by the centre and covariance of the unchanged pixels' "
        f"differences, passes the chi-squared quantile of {spec.confidence:g} with "
        f"{len(spec.bands)} degrees of freedom; changed pixels are grouped into "
        f"{spec.change_classes} classes by k-means on magnitude and angle.")


def lineage_statement(info: ProductInfo) -> str:
    """INSPIRE lineage: the algorithm and every input granule id."""
    ids = [s.id for s in scenes(info)]
    return (
        f"Produced by the Mosaic Hub {PROCESSING_VERSION} from Copernicus Sentinel-2 MSI "
        f"Level-2A products (Sen2Cor surface reflectance). {algorithm_text(info)} "
        f"Inputs ({len(ids)} L2A granules): {', '.join(ids)}."
    )


def wgs84_bbox(info: ProductInfo) -> tuple[float, float, float, float]:
    """West, south, east, north of the ordered area (lon/lat)."""
    west, south, east, north = info.spec.aoi.bounds
    return float(west), float(south), float(east), float(north)


def geojson(geom: BaseGeometry) -> dict[str, Any]:
    """A shapely geometry as a GeoJSON dict with plain lists."""
    result: dict[str, Any] = json.loads(shapely.to_geojson(geom))
    return result


def grid_ring(grid: OutputGrid) -> list[list[float]]:
    """The grid extent as a closed ring in the product CRS (S2GM `Boundary`)."""
    left, bottom, right, top = grid.bounds
    return [[left, bottom], [left, top], [right, top], [right, bottom], [left, bottom]]


def grid_ring_wgs84(grid: OutputGrid) -> list[list[float]]:
    """The grid extent's corners in lon/lat."""
    ring = grid_ring(grid)
    if grid.epsg == 4326:
        return [[round(x, 7), round(y, 7)] for x, y in ring]
    to_lonlat = Transformer.from_crs(grid.epsg, 4326, always_xy=True)
    return [[round(v, 7) for v in to_lonlat.transform(x, y)] for x, y in ring]


def resolution_m(info: ProductInfo) -> int:
    """Resolution distance in metres (for EPSG:4326 the metre equivalent at the equator)."""
    return info.spec.resolution


def file_url(info: ProductInfo, name: str) -> str:
    """Download link of a product file; unpublished, its path relative to the metadata."""
    if info.links:
        return f"{info.links.files.rstrip('/')}/{quote(name)}"
    return quote(name)


def product_url(info: ProductInfo) -> str:
    """Link to the whole product: its page; unpublished, the folder holding the metadata."""
    return info.links.page if info.links else "./"


def file_suffix(name: str) -> str:
    """Lower-case extension without the dot; a product format's compound extension whole
    ('zarr.zip'), so that it maps to its format's media type and role."""
    lower = name.lower()
    for ext in DATA_SUFFIXES:
        if "." in ext and lower.endswith(f".{ext}"):
            return ext
    return Path(lower).suffix.lstrip(".")


def data_files(info: ProductInfo) -> list[FileRecord]:
    """The raster files of the product."""
    return [f for f in info.files if file_suffix(f.name) in DATA_SUFFIXES]


def product_layers(spec: MosaicSpec) -> list[tuple[str, Layer, int]]:
    """(file layer name, layer, 1-based band index in its file) of every product layer.

    Multi-band GeoTIFF products hold each group of layers (`groups.delivered_groups`: a
    mosaic's reflectance bands) in one file named after the group; JPEG 2000 and per-layer
    GeoTIFF products hold one file per layer.
    """
    per_layer = spec.product_format.grouping(spec.layout) is Grouping.PER_LAYER
    out: list[tuple[str, Layer, int]] = []
    for group, layers in delivered_groups(spec).items():
        out += ([(layer.name, layer, 1) for layer in layers] if per_layer
                else [(group, layer, i) for i, layer in enumerate(layers, start=1)])
    return out


def file_layers(spec: MosaicSpec, name: str) -> list[tuple[Layer, int]]:
    """(layer, 1-based band index) of every layer a product data file holds, in the order of
    `product_layers` (empty for any other file)."""
    if file_suffix(name) not in DATA_SUFFIXES:
        return []
    layer = layer_of_file(spec, name)
    if spec.product_format.grouping(spec.layout) is Grouping.ONE_FILE:  # NetCDF, Zarr
        return [(lyr, index) for _, lyr, index in product_layers(spec)] if layer else []
    return [(lyr, index) for file_layer, lyr, index in product_layers(spec)
            if file_layer == layer]


def layer_paths(info: ProductInfo, file_layer: str) -> list[str]:
    """Paths, relative to the product folder, of the files holding a layer: one, or one per
    tile subfolder (the NetCDF file of each for NetCDF products)."""
    spec = info.spec
    labels: list[str | None] = [part.label for part in info.parts] or [None]
    ext = spec.product_format.extension
    if spec.product_format.grouping(spec.layout) is Grouping.ONE_FILE:
        file_layer = "bands"
    return [f"{label}/{layer_file_name(spec, file_layer, ext, label)}" if label
            else layer_file_name(spec, file_layer, ext) for label in labels]


def layer_of_file(spec: MosaicSpec, name: str) -> str | None:
    """The layer name ('bands', 'valid_obs', ...) a product file holds, if it is a layer file.

    The name may lie in a tile subfolder, whose files carry the tile's id for the order name.
    """
    folder, _, stem = name.rpartition("/")
    label = re.escape(folder or spec.name)
    match = re.fullmatch(
        rf"(.+)_{period_code(spec)}_{spec.start:%Y%m%d}_{label}\.\w+(?:\.\w+)?(\.aux\.xml)?",
        stem)
    return match.group(1) if match else None


# ---------------------------------------------------------------- JSON (S2GM)


def metadata_json(info: ProductInfo) -> dict[str, Any]:
    """The product's JSON metadata with the fields S2GM users know, plus the hub's own."""
    spec, grid = info.spec, info.grid
    days = [o.datetime.date() for o in info.observations]
    return {
        "Title": title(info),
        "Summary": summary(info),
        "Institution": info.contact.organisation,
        "Contact": info.contact.name,
        "Creator_email": info.contact.email,
        "Resource_locator": product_url(info),
        "Metadata_version": METADATA_VERSION,
        "Processing_baseline": PROCESSING_VERSION,
        "Processing_name": info.folder_name,
        "Processing_steps": f"Sen2Cor, Mosaic Hub v{PROCESSING_VERSION}",
        "Processing_configuration": "STD",
        "Compositing_period": spec.period_type.adjective,
        "Compositing_period_code": spec.period_type.code,
        "Sensor_list": ", ".join(sensors(info)),
        "Mosaicking_period_start": spec.start.isoformat(),
        "Mosaicking_period_end": spec.end.isoformat(),
        **({"Comparison_period_start": spec.compare_start.isoformat(),
            "Comparison_period_end": spec.compare_end.isoformat()}
           if spec.compare_start and spec.compare_end else {}),
        "First_product_date": min(days).isoformat() if days else None,
        "Last_product_date": max(days).isoformat() if days else None,
        "Resolution_distance": resolution_m(info),
        "Date_of_creation": _iso(info.created),
        "Geometry": {
            "Image_width": grid.width,
            "Image_height": grid.height,
            "CRS": f"EPSG:{grid.epsg}",
            "Transform": list(grid.transform)[:6],
            "Pixel_size": grid.resolution,
            "Boundary": grid_ring(grid),
            "Boundary_WGS84": grid_ring_wgs84(grid),
            "AOI": geojson(spec.aoi),
            **({"Tiles": [_tile_geometry(part) for part in info.parts]} if info.parts else {}),
        },
        "Band_interpretations": band_interpretations(info),
        "Source_product_list": source_product_list(info),
        "product_id": info.product_id,
        "processing_version": PROCESSING_VERSION,
        "attribution": attribution(info),
        "order": spec.to_json(),
        "algorithm": algorithm_parameters(info),
        **({"change": dict(info.change)} if info.change is not None else {}),
        "files": [{"name": f.name, "size": f.size, "sha256": f.sha256} for f in info.files],
    }


def _tile_geometry(part: ProductPart) -> dict[str, Any]:
    """A tile subfolder's share of the grid, in the keys of `Geometry`."""
    return {"Tile": part.label, "Folder": part.label, "Image_width": part.grid.width,
            "Image_height": part.grid.height, "Transform": list(part.grid.transform)[:6],
            "Boundary": grid_ring(part.grid), "Boundary_WGS84": grid_ring_wgs84(part.grid)}


def band_interpretations(info: ProductInfo) -> list[dict[str, Any]]:
    """S2GM `Band_interpretations`: one entry per product layer."""
    spec = info.spec
    out = []
    for file_layer, layer, index in product_layers(spec):
        entry: dict[str, Any] = {"Name": layer.name, "Description": layer.description}
        band = layer.band
        if band is not None:
            entry["Spectral_information"] = {
                "S2_nominal": {"Central_wavelength": float(band.center_nm)}}
        paths = layer_paths(info, file_layer)
        # A tiled product has the layer in each tile subfolder: File_paths lists them all.
        location = {"File_path": paths[0]} if len(paths) == 1 else {"File_paths": paths}
        entry.update({
            "Unit": layer.units,
            "No_data_value": layer.nodata,
            "Scaling_factor": layer.scale,
            "Offset": layer.offset,
            "Data_type": spec.product_format.read_dtype(layer.dtype),
            **location,
            "Band_index": index,
            "File_format": spec.product_format.title,
        })
        out.append(entry)
    return out


def source_product_list(info: ProductInfo) -> dict[str, dict[str, Any]]:
    """`Source_product_list` keyed by the `source_index` pixel value ("0", "1", ...)."""
    return {
        str(i): {
            "acquisition": o.acquisition,
            "datetime": _iso(o.datetime),
            "platform": o.scenes[0].platform if o.scenes else "",
            "scenes": [s.id for s in o.scenes],
            "granules": [_granule(s) for s in o.scenes],
        }
        for i, o in enumerate(info.observations)
    }


def _granule(scene: Scene) -> dict[str, Any]:
    refl = {b: a for b, a in scene.assets.items() if b in l2a.BAND_BY_NAME}
    return {
        "id": scene.id,
        "datetime": _iso(scene.datetime),
        "platform": scene.platform,
        "processing_baseline": scene.processing_baseline,
        "offsets": {b: a.offset for b, a in refl.items()},
        "scales": {b: a.scale for b, a in refl.items()},
    }


def algorithm_parameters(info: ProductInfo) -> dict[str, Any]:
    """The selection's parameters as run."""
    return {
        "method": f"medoid with at least {info.medoid_min_obs} valid observations, else STC",
        "medoid_bands": list(l2a.MEDOID_BANDS),
        "medoid_min_valid_observations": info.medoid_min_obs,
        "short_term_composite": STC_NAME,
        "valid_scl_classes": sorted(l2a.SCL_VALID_CLASSES),
        "stc_clear_distance_m": STC_CLEAR_DISTANCE_M,
        "max_view_zenith_deg": MAX_VIEW_ZENITH_DEG,
        "cloud_buffer_px": info.spec.cloud_buffer,
        "selection_stand_ins": dict(info.stand_ins),
    }


def _iso(value: datetime | date) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
            return value.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
        return value.isoformat(timespec="seconds")
    return value.isoformat()


# ---------------------------------------------------------------- STAC


def stac_item(info: ProductInfo) -> dict[str, Any]:
    """A STAC 1.0.0 Item for the product (projection, eo, raster and file extensions)."""
    spec, grid = info.spec, info.grid
    first, last = spec.covered_period
    start = datetime.combine(first, time.min, tzinfo=UTC)
    end = datetime.combine(last, time(23, 59, 59), tzinfo=UTC)
    stac_root = info.links.stac if info.links else None
    collection_href = (f"{stac_root.rstrip('/')}/collections/{STAC_COLLECTION}"
                       if stac_root else "../collection.json")
    return {
        "type": "Feature",
        "stac_version": STAC_VERSION,
        "stac_extensions": list(STAC_EXTENSIONS),
        "id": info.folder_name,
        "collection": STAC_COLLECTION,
        "geometry": geojson(spec.aoi),
        "bbox": list(wgs84_bbox(info)),
        "properties": {
            "title": title(info),
            "description": summary(info),
            "datetime": None,
            "start_datetime": _iso(start),
            "end_datetime": _iso(end),
            "created": _iso(info.created),
            "constellation": "sentinel-2",
            "platform": ", ".join(sorted({s.platform for s in scenes(info) if s.platform})),
            "instruments": ["msi"],
            "gsd": resolution_m(info),
            "proj:code": f"EPSG:{grid.epsg}",
            "proj:shape": [grid.height, grid.width],
            "proj:transform": list(grid.transform)[:6],
            "proj:bbox": list(grid.bounds),
            "compositing_period": spec.period_type.code,
            "processing_version": PROCESSING_VERSION,
            "attribution": attribution(info),
        },
        "links": [{"rel": "collection", "href": collection_href, "type": "application/json"}],
        "assets": {_asset_key(info, f): _asset(info, f) for f in info.files},
    }


def _asset_key(info: ProductInfo, f: FileRecord) -> str:
    """The layer (or role) of a file, followed by its tile id in a tiled product."""
    folder = f.name.rpartition("/")[0]
    layer = layer_of_file(info.spec, f.name)
    if layer and f.name.endswith(".aux.xml"):
        layer = f"{layer}_aux_xml"  # GDAL's sidecar beside a JPEG 2000 file, not the file
    if not layer:
        named = {"xml": "inspire", "png": "quicklook",
                 **{f.extension: f.name.lower() for f in PRODUCT_FORMATS.values()
                    if "multiband" in f.layouts
                    and f.grouping("multiband") is Grouping.ONE_FILE}}
        layer = named.get(file_suffix(f.name), Path(f.name).stem)
    return f"{layer}_{folder}" if folder else layer


def _part_of(info: ProductInfo, name: str) -> ProductPart | None:
    folder = name.rpartition("/")[0]
    return next((part for part in info.parts if part.label == folder), None)


def asset_role(name: str) -> str:
    """The STAC role of a file: overview (quicklook), metadata, or data (rasters, and any
    file of another kind, such as a catalogue item's HDF5)."""
    suffix = file_suffix(name)
    if suffix in DATA_SUFFIXES:
        return "data"
    if suffix in OVERVIEW_SUFFIXES:
        return "overview"
    return "metadata" if suffix in METADATA_SUFFIXES else "data"


def _asset(info: ProductInfo, f: FileRecord) -> dict[str, Any]:
    suffix = file_suffix(f.name)
    role = asset_role(f.name)
    asset: dict[str, Any] = {
        "href": file_url(info, f.name),
        "title": f.name,
        "roles": [role],
        "file:size": f.size,
        "file:checksum": SHA256_MULTIHASH_PREFIX + f.sha256,
    }
    if suffix in MEDIA_TYPES:
        asset["type"] = MEDIA_TYPES[suffix]
    part = _part_of(info, f.name)
    if role == "data" and part is not None:  # a tile's window of the item's grid
        asset["proj:shape"] = [part.grid.height, part.grid.width]
        asset["proj:transform"] = list(part.grid.transform)[:6]
        asset["proj:bbox"] = list(part.grid.bounds)
    layers = [layer for layer, _ in file_layers(info.spec, f.name)]
    if layers:
        statistics: Sequence[Mapping[str, float] | None] = (
            info.statistics.get(f.name) or [None] * len(layers))
        asset["raster:bands"] = [_raster_band(info, layer, stats)
                                 for layer, stats in zip(layers, statistics, strict=True)]
        # Every layer named, spectral or not, so that eo:bands parallels raster:bands and a
        # reader can tell which entry of a NetCDF or Zarr asset is which variable.
        asset["eo:bands"] = [_eo_band(layer) for layer in layers]
    return asset


def _raster_band(info: ProductInfo, layer: Layer,
                 statistics: Mapping[str, float] | None) -> dict[str, Any]:
    # The type a reader of the asset gets (NetCDF holds 8-bit layers as int16).
    data_type = info.spec.product_format.read_dtype(layer.dtype)
    band: dict[str, Any] = {"nodata": layer.nodata, "data_type": data_type,
                            "scale": layer.scale, "offset": layer.offset,
                            "spatial_resolution": resolution_m(info)}
    if layer.units not in ("1", ""):  # dimensionless (reflectance, indices, counts): no unit
        band["unit"] = layer.units
    if statistics:
        band["statistics"] = dict(statistics)
    return band


def _eo_band(layer: Layer) -> dict[str, Any]:
    """eo v1.1 Band Object of a layer: a reflectance band's spectral fields; any other layer
    (an index, a quality layer) has no wavelength of its own, so its name and description."""
    band = layer.band
    if band is not None:
        return {"name": layer.name, "common_name": band.common_name,
                "center_wavelength": band.center_nm / 1000.0, "description": band.description}
    return {"name": layer.name, "description": band_description(layer)}


def band_description(layer: Layer) -> str:
    """What a non-spectral layer holds; for a spectral index, also the bands it is from."""
    if layer.source is Source.INDEX:
        return f"{layer.description}; from the surface reflectance of {', '.join(layer.inputs)}"
    return layer.description


# ---------------------------------------------------------------- manifest


def manifest(files: list[FileRecord]) -> str:
    """`sha256sum -c`-compatible lines "<hex>  <name>", one per file."""
    lines = []
    for f in files:
        if "\n" in f.name or "\\" in f.name:
            raise ValueError(f"file name {f.name!r} cannot be written to a sha256sum manifest")
        lines.append(f"{f.sha256}  {f.name}\n")
    return "".join(lines)
