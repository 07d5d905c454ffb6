"""Finding L2A observations through a STAC API (pystac-client) and naming their assets."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from typing import Any

import requests
from pystac_client import Client, ItemSearch
from pystac_client.exceptions import APIError
from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry

from compositing import l2a
from compositing.archive.archives import PRESETS, Archive

# Rasters that hold classes or percentages, read by nearest neighbour and never rescaled.
CLASS_RASTERS: frozenset[str] = frozenset({"SCL", "CLD", "SNW"})


# Seconds to connect to a STAC API and between the bytes of its answer: a stalled API fails
# the search (the preview names it, an order fails naming it) instead of holding a worker.
STAC_TIMEOUT_S = (10.0, 30.0)


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
    archive: str = "local"  # the name of the archive it was found in (`archives.Archive`)
    # The MGRS tile, where the item says (the same granule in two archives has the same tile
    # and datatake, not the same item id).
    tile: str = ""


@dataclass(frozen=True)
class Observation:
    """One acquisition over the AOI: one or more granules sensed together."""

    acquisition: str
    datetime: datetime
    scenes: tuple[Scene, ...]


def search_scenes(archives: Sequence[Archive], aoi: BaseGeometry, start: date,
                  end: date) -> list[Scene]:
    """Every L2A scene intersecting the AOI sensed from start to end (inclusive days), from the
    archives in priority order: a granule (tile and datatake) found in several is taken from
    the first."""
    found: dict[tuple[str, str] | str, Scene] = {}
    for archive in archives:
        mine: dict[tuple[str, str] | str, Scene] = {}
        for item in _items(archive, aoi, start, end):
            scene = scene_from_item(item, archive)
            key = granule_key(scene)
            held = mine.get(key)
            # Of one granule processed twice in one archive, the later processing.
            if key not in found and (held is None or (scene.processing_baseline, scene.id)
                                     > (held.processing_baseline, held.id)):
                mine[key] = scene
        found.update(mine)
    return sorted(found.values(), key=lambda s: (s.datetime, s.id))


def stac_search(archive: Archive, aoi: BaseGeometry, start: date, end: date,
                **options: Any) -> ItemSearch:
    """A search of the archive's STAC API for its items over the AOI from the start of `start`
    to the end of `end` (UTC days), with pystac-client's other search options."""
    return Client.open(archive.stac_url, timeout=STAC_TIMEOUT_S).search(
        collections=[archive.collection], intersects=aoi.__geo_interface__,
        datetime=[datetime.combine(start, time.min, tzinfo=UTC),
                  datetime.combine(end, time.max, tzinfo=UTC)], **options)


def _items(archive: Archive, aoi: BaseGeometry, start: date, end: date) -> list[dict]:
    """The archive's items over the AOI from start to end; ArchiveDataError naming the
    archive where its API cannot be reached or refuses (an order must not go on with part of
    the data it would have had)."""
    try:
        return list(stac_search(archive, aoi, start, end, limit=100).items_as_dicts())
    except (APIError, requests.RequestException, OSError) as exc:  # timeouts included
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(
            exc).__name__
        raise ArchiveDataError(f"the archive {archive.name} ({archive.stac_url}) could not be "
                               f"searched: {reason}") from exc


def count_scenes(archive: Archive, aoi: BaseGeometry, start: date, end: date) -> int | None:
    """How many items of the archive meet the AOI from start to end, as its STAC API counts
    them (None where the API does not count)."""
    return stac_search(archive, aoi, start, end, limit=1).matched()


def collection_interval(archive: Archive) -> tuple[date, date | None] | None:
    """The first and last day of the archive's collection as its STAC API states them (the
    last None: still growing); None where it states no start."""
    collection = Client.open(archive.stac_url, timeout=STAC_TIMEOUT_S).get_collection(
        archive.collection)
    intervals = collection.extent.temporal.intervals if collection is not None else []
    first, last = intervals[0] if intervals else (None, None)
    if first is None:
        return None
    return first.date(), last.date() if last is not None else None


def granule_key(scene: Scene) -> tuple[str, str] | str:
    """What one granule is called in every catalogue: its tile and datatake, the processing
    baseline left out (a reprocessed granule is the same granule); its item id where the item
    names no tile."""
    if not scene.tile:
        return f"{scene.archive}/{scene.id}"
    return scene.tile, datatake(scene.acquisition)


def datatake(acquisition: str) -> str:
    """The datatake of an acquisition id without its processing baseline
    (GS2A_20200219T112111_024344_N02.14 -> GS2A_20200219T112111_024344)."""
    head, sep, baseline = acquisition.rpartition("_N")
    return head if sep and baseline.replace(".", "").isdigit() else acquisition


def item_tile(props: dict) -> str:
    """The MGRS tile an item's properties name (s2:mgrs_tile, mgrs:*, grid:code, or the
    tile of s2:tile_id / s2:granule_id), "" if none."""
    if props.get("s2:mgrs_tile"):
        return str(props["s2:mgrs_tile"]).removeprefix("T")
    if props.get("mgrs:utm_zone") and props.get("mgrs:latitude_band"):
        return (f"{int(props['mgrs:utm_zone']):02d}{props['mgrs:latitude_band']}"
                f"{props.get('mgrs:grid_square', '')}")
    code = str(props.get("grid:code", ""))
    if code.startswith("MGRS-"):
        return code[5:]
    for name in ("s2:tile_id", "s2:granule_id"):
        for part in str(props.get(name, "")).split("_"):
            if len(part) == 6 and part.startswith("T") and part[1:3].isdigit():
                return part[1:]
    return ""


def scene_from_item(item: dict, archive: Archive = PRESETS["local"]) -> Scene:
    """A Scene from a STAC Item dict of the archive (its asset keys, its hrefs rewritten)."""
    props = item["properties"]
    baseline = str(props.get("s2:processing_baseline", ""))
    assets: dict[str, Asset] = {}
    item_assets = item.get("assets", {})
    for band, keys in archive.asset_keys.items():
        for key in keys:
            if key in item_assets:
                found = asset_from_stac(item_assets[key], band, props)
                assets[band] = replace(found, href=archive.rewrite(found.href))
                break
    for key in archive.angle_keys:
        if key in item_assets:
            assets["ANGLES"] = Asset(archive.rewrite(item_assets[key]["href"]), nodata=None)
            break
    when = datetime.fromisoformat(props["datetime"].replace("Z", "+00:00"))
    geometry = shape(item["geometry"]) if item.get("geometry") else box(*item["bbox"])
    return Scene(
        id=item["id"], datetime=when, platform=str(props.get("platform", "")),
        acquisition=str(props.get("s2:datatake_id")
                        or f"{props.get('platform')}_{when:%Y%m%dT%H%M%S}"),
        footprint=geometry, assets=assets, processing_baseline=baseline,
        archive=archive.name, tile=item_tile(props),
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
    for scene in scenes:  # granules of one datatake from archives of different baselines too
        groups.setdefault(datatake(scene.acquisition), []).append(scene)
    observations = [
        Observation(members[0].acquisition, min(s.datetime for s in members), tuple(members))
        for members in groups.values()
    ]
    return sorted(observations, key=lambda o: (o.datetime, o.acquisition))
