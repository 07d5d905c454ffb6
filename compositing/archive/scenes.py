"""Finding L2A observations through a STAC API (pystac-client) and naming their assets."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time

from pystac_client import Client
from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry

from compositing import l2a

# Asset keys per L2A raster in the catalogues we read: the local archive and Planetary Computer
# use band names, Earth Search v1 uses common names.
ASSET_KEYS: dict[str, tuple[str, ...]] = {
    "B01": ("B01", "coastal"),
    "B02": ("B02", "blue"),
    "B03": ("B03", "green"),
    "B04": ("B04", "red"),
    "B05": ("B05", "rededge1"),
    "B06": ("B06", "rededge2"),
    "B07": ("B07", "rededge3"),
    "B08": ("B08", "nir"),
    "B8A": ("B8A", "nir08"),
    "B09": ("B09", "nir09"),
    "B11": ("B11", "swir16"),
    "B12": ("B12", "swir22"),
    "SCL": ("SCL", "scl"),
    "AOT": ("AOT", "aot"),
    # Sen2Cor's cloud and snow probability masks (MSK_CLDPRB / MSK_SNWPRB, %): the local
    # archive's keys, and the Sen2Cor product names with resolution suffix. Earth Search and
    # Planetary Computer items carry neither (their observations get nodata in these layers).
    "CLD": ("CLD", "CLD_20m", "CLD_60m"),
    "SNW": ("SNW", "SNW_20m", "SNW_60m"),
}
# Rasters that hold classes or percentages, read by nearest neighbour and never rescaled.
CLASS_RASTERS: frozenset[str] = frozenset({"SCL", "CLD", "SNW"})
# The JSON sidecar with the 5 km sun and view angle grids (`compositing.archive.angles`),
# as ingest and the demo archive write it; the scene's asset "ANGLES".
ANGLES_ASSET_KEYS: tuple[str, ...] = ("angles",)


class ArchiveDataError(Exception):
    """The archive cannot serve the request; the message says why, for the person ordering."""


class NoObservationsError(ArchiveDataError):
    """The archive holds no L2A scene over the AOI in the period."""


class MissingBandsError(ArchiveDataError):
    """Bands the request needs are in none of the scenes."""


# Stand-ins for selection only (never for an ordered band): broad NIR B08 is missing from
# products holding only their 60 m files (L2A has no 60 m B08); narrow NIR B8A is the band the
# S2GM tests themselves mix with it (the cloud test's TCB prints B8, its definition B8A).
SELECTION_STAND_INS: dict[str, str] = {"B08": "B8A"}


@dataclass(frozen=True)
class Asset:
    """One raster of a scene: reflectance = DN * scale + offset; DN == nodata is missing."""

    href: str
    scale: float = 1.0
    offset: float = 0.0
    nodata: float | None = 0
    gsd: float | None = None
    # The raster's CRS as its STAC item gives it (proj:code or proj:epsg, of the asset or the
    # item), so the reader knows it without opening the file; None: not given.
    epsg: int | None = None


@dataclass(frozen=True)
class Scene:
    """One L2A granule (one MGRS tile of one acquisition)."""

    id: str
    datetime: datetime
    platform: str
    acquisition: str  # same value for the same acquisition seen in several tiles
    footprint: BaseGeometry  # lon/lat
    assets: dict[str, Asset] = field(hash=False)
    processing_baseline: str = ""


@dataclass(frozen=True)
class Observation:
    """One acquisition over the AOI: one or more granules sensed together."""

    acquisition: str
    datetime: datetime
    scenes: tuple[Scene, ...]


def search_scenes(stac_url: str, collection: str, aoi: BaseGeometry, start: date,
                  end: date) -> list[Scene]:
    """Every L2A scene intersecting the AOI sensed from start to end (inclusive days)."""
    client = Client.open(stac_url)
    t0 = datetime.combine(start, time.min, tzinfo=UTC)
    t1 = datetime.combine(end, time.max, tzinfo=UTC)
    search = client.search(
        collections=[collection], intersects=aoi.__geo_interface__,
        datetime=[t0, t1], limit=100,
    )
    scenes = [scene_from_item(item) for item in search.items_as_dicts()]
    return sorted(scenes, key=lambda s: (s.datetime, s.id))


def scene_from_item(item: dict) -> Scene:
    """A Scene from a STAC Item dict of any catalogue we know."""
    props = item["properties"]
    baseline = str(props.get("s2:processing_baseline", ""))
    assets: dict[str, Asset] = {}
    for band, keys in ASSET_KEYS.items():
        # Earth Search v1 also lists JPEG 2000 twins (`red-jp2`); the COG is preferred.
        for key in (*keys, *(f"{k}-jp2" for k in keys)):
            if key in item.get("assets", {}):
                assets[band] = asset_from_stac(item["assets"][key], band, props)
                break
    for key in ANGLES_ASSET_KEYS:
        if key in item.get("assets", {}):
            assets["ANGLES"] = Asset(item["assets"][key]["href"], nodata=None)
            break
    when = datetime.fromisoformat(props["datetime"].replace("Z", "+00:00"))
    geometry = shape(item["geometry"]) if item.get("geometry") else box(*item["bbox"])
    return Scene(
        id=item["id"], datetime=when, platform=str(props.get("platform", "")),
        acquisition=str(props.get("s2:datatake_id")
                        or f"{props.get('platform')}_{when:%Y%m%dT%H%M%S}"),
        footprint=geometry, assets=assets, processing_baseline=baseline,
    )


def asset_from_stac(asset: dict, band: str, props: dict) -> Asset:
    """Scale, offset and nodata from the asset's raster:bands, else from L2A conventions."""
    raster = (asset.get("raster:bands") or [{}])[0]
    epsg = stac_epsg(asset) or stac_epsg(props)
    if band == "SCL":
        return Asset(asset["href"], 1.0, 0.0, raster.get("nodata", 0),
                     raster.get("spatial_resolution"), epsg)
    if band in CLASS_RASTERS:  # probabilities in %: 0 is a value, nodata only if declared
        return Asset(asset["href"], 1.0, 0.0, raster.get("nodata"),
                     raster.get("spatial_resolution", asset.get("gsd")), epsg)
    default_scale = 0.001 if band == "AOT" else 1.0 / l2a.QUANTIFICATION_VALUE
    if "offset" in raster:
        offset = float(raster["offset"])
    elif band != "AOT" and props.get("s2:processing_baseline"):
        offset = l2a.boa_offset_dn(str(props["s2:processing_baseline"])) / l2a.QUANTIFICATION_VALUE
    else:
        offset = 0.0
    return Asset(
        href=asset["href"], scale=float(raster.get("scale", default_scale)), offset=offset,
        nodata=raster.get("nodata", 0), gsd=raster.get("spatial_resolution", asset.get("gsd")),
        epsg=epsg,
    )


def stac_epsg(fields: dict) -> int | None:
    """The EPSG code of STAC projection fields (proj:code "EPSG:n", or the older proj:epsg)."""
    code = fields.get("proj:code")
    if isinstance(code, str) and code.upper().startswith("EPSG:") and code[5:].isdigit():
        return int(code[5:])
    epsg = fields.get("proj:epsg")
    return int(epsg) if isinstance(epsg, int) else None


def resolve_bands(scenes: list[Scene], needed: Iterable[str],
                  ordered: Iterable[str]) -> tuple[list[Scene], dict[str, str]]:
    """Scenes whose missing selection bands are stood in for, and the stand-ins used.

    An ordered band that no scene has, or a selection band with neither it nor its stand-in
    anywhere, raises MissingBandsError naming them.
    """
    absent = {b for b in needed if not any(b in s.assets for s in scenes)}
    ordered_absent = sorted(absent & set(ordered))
    if ordered_absent:
        raise MissingBandsError(f"no scene of the archive holds band(s) "
                                f"{', '.join(ordered_absent)} over this AOI and period")
    used = {b: SELECTION_STAND_INS[b] for b in absent if b in SELECTION_STAND_INS
            and all(SELECTION_STAND_INS[b] in s.assets for s in scenes)}
    unresolved = sorted(absent - set(used))
    if unresolved:
        raise MissingBandsError(f"the selection needs band(s) {', '.join(unresolved)}, which no "
                                f"scene of the archive holds over this AOI and period")
    if not used:
        return scenes, {}
    patched = [replace(s, assets={**{b: s.assets[alt] for b, alt in used.items()}, **s.assets})
               for s in scenes]
    return patched, used


def group_acquisitions(scenes: Iterable[Scene]) -> list[Observation]:
    """Scenes of the same acquisition (datatake) in several tiles become one observation."""
    groups: dict[str, list[Scene]] = {}
    for scene in scenes:
        groups.setdefault(scene.acquisition, []).append(scene)
    observations = [
        Observation(key, min(s.datetime for s in members), tuple(members))
        for key, members in groups.items()
    ]
    return sorted(observations, key=lambda o: (o.datetime, o.acquisition))
