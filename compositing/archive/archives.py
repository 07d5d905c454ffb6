"""Where L2A scenes come from: an archive is a STAC API, a collection, how its items name their
assets, and what reading its files takes.

The catalogues the hub knows differ in all of these: Earth Search v1 names assets by common name
(`red`, `nir`, `scl`) and serves COGs over HTTPS; Planetary Computer names them by band (`B04`,
`SCL`) and hands out Azure blob URLs that need a SAS token; the Copernicus Data Space (CDSE)
names them by band and resolution (`B04_10m`, `SCL_20m`) and keeps JPEG 2000 files in its own
S3 (`s3://eodata/...`) behind credentials. Each is a preset here (`PRESETS`); the hub's own
archive is `local`, served by its own STAC API. An operator lists archives in priority order
(`HUB_ARCHIVES=local,earth-search`), and may define or adjust them in a TOML file
(`HUB_ARCHIVES_FILE`, see `load_archives`). Searching several archives keeps, of a granule found
in more than one, the copy of the first that has it (`scenes.search_scenes`).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from compositing import l2a
from compositing.archive.network import is_remote

# This hub's own STAC API (the caller knows its address: `hub.stac.embedded.stac_api_url`).
OWN_STAC_API = ""
SIGNING_METHODS = ("", "planetary-computer")


@dataclass(frozen=True)
class Archive:
    """One STAC API of L2A scenes, as the hub searches and reads it."""

    name: str
    stac_url: str  # OWN_STAC_API: this hub's
    collection: str = "sentinel-2-l2a"
    # L2A raster name (l2a.BAND_NAMES, SCL, AOT, CLD, SNW) -> item asset keys, the first
    # present wins.
    asset_keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    # Asset keys of the 5 km angle grids: the hub's JSON sidecar, or the granule's MTD_TL.xml.
    angle_keys: tuple[str, ...] = ()
    # (prefix, replacement) pairs applied to every asset href, the first that matches.
    href_rewrites: tuple[tuple[str, str], ...] = ()
    signing: str = ""  # how hrefs are signed before they are opened (SIGNING_METHODS)
    # Where its files live (URL prefixes, as its hrefs begin once rewritten): `gdal` and
    # `credentials` apply to the files under them only, so archives of different stores
    # (CDSE's S3 and Earth Search's bucket) can be read side by side.
    file_prefixes: tuple[str, ...] = ()
    # GDAL configuration options for reading its files.
    gdal: Mapping[str, str] = field(default_factory=dict, hash=False)
    # GDAL option -> the environment variable that holds its value (secrets stay in the
    # environment, never in a file or a plan).
    credentials: Mapping[str, str] = field(default_factory=dict, hash=False)

    @property
    def remote(self) -> bool:
        """Whether its configuration says its files are read over the network (where they
        live, or where its hrefs are rewritten to). An archive may hold remote items all the
        same, as the hub's own does those ingested with `--remote`."""
        return any(map(is_remote, self.file_prefixes)) or any(
            is_remote(new) for _, new in self.href_rewrites)

    def rewrite(self, href: str) -> str:
        """The href the hub opens for an asset href of this archive's items."""
        for prefix, replacement in self.href_rewrites:
            if href.startswith(prefix):
                return replacement + href[len(prefix):]
        return href

    def gdal_options(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """GDAL options for reading this archive: `gdal`, and each credential whose variable
        the environment sets."""
        env = os.environ if environ is None else environ
        return {**self.gdal, **{option: env[variable]
                                for option, variable in self.credentials.items()
                                if env.get(variable)}}


class ArchiveConfigError(ValueError):
    """The archives' configuration is wrong; the message names the archive and the field."""


_RASTERS = (*l2a.BAND_NAMES, "SCL", "AOT")
_COMMON_NAMES = {
    "B01": "coastal", "B02": "blue", "B03": "green", "B04": "red", "B05": "rededge1",
    "B06": "rededge2", "B07": "rededge3", "B08": "nir", "B8A": "nir08", "B09": "nir09",
    "B11": "swir16", "B12": "swir22", "SCL": "scl", "AOT": "aot"}
# CDSE's files per band and resolution: each band at its native resolution first.
_CDSE_SUFFIXES = {"B01": ("60m", "20m"), "B09": ("60m",), "SCL": ("20m", "60m"),
                  "AOT": ("20m", "10m", "60m")}
_EARTH_SEARCH_KEYS = {name: (common, f"{common}-jp2") for name, common in _COMMON_NAMES.items()}
_BAND_KEYS = {name: (name,) for name in _RASTERS}
_CDSE_KEYS = {name: tuple(f"{name}_{s}" for s in (
    _CDSE_SUFFIXES[name] if name in _CDSE_SUFFIXES
    else (f"{l2a.BAND_BY_NAME[name].native_m}m",))) for name in _RASTERS}
# The hub's own archive holds what ingest registered, keyed as the catalogue it came from
# named them (band names first), and Sen2Cor's cloud and snow probabilities (CLD, SNW, or the
# SAFE's names with their resolution).
_LOCAL_KEYS = {
    **{name: tuple(dict.fromkeys((*_BAND_KEYS[name], *_EARTH_SEARCH_KEYS[name],
                                  *_CDSE_KEYS[name]))) for name in _RASTERS},
    "CLD": ("CLD", "CLD_20m", "CLD_60m"), "SNW": ("SNW", "SNW_20m", "SNW_60m")}

PRESETS: Mapping[str, Archive] = {
    "local": Archive("local", OWN_STAC_API, asset_keys=_LOCAL_KEYS, angle_keys=("angles",)),
    "earth-search": Archive(
        "earth-search", "https://earth-search.aws.element84.com/v1",
        # The COGs; the `-jp2` twins only where an item has no COG.
        asset_keys=_EARTH_SEARCH_KEYS, angle_keys=("granule_metadata",),
        href_rewrites=(("s3://sentinel-cogs/",
                        "https://sentinel-cogs.s3.us-west-2.amazonaws.com/"),),
        file_prefixes=("https://sentinel-cogs.s3.us-west-2.amazonaws.com/",),
        gdal={"AWS_NO_SIGN_REQUEST": "YES", "AWS_REGION": "us-west-2"}),
    "planetary-computer": Archive(
        "planetary-computer", "https://planetarycomputer.microsoft.com/api/stac/v1",
        asset_keys=_BAND_KEYS, angle_keys=("granule-metadata",), signing="planetary-computer",
        file_prefixes=("https://sentinel2l2a01.blob.core.windows.net/",)),
    "cdse": Archive(
        "cdse", "https://stac.dataspace.copernicus.eu/v1", asset_keys=_CDSE_KEYS,
        angle_keys=("granule_metadata",),
        # Its S3 is path-style only, at its own endpoint; keys from an operator's CDSE account.
        file_prefixes=("s3://eodata/",),
        gdal={"AWS_S3_ENDPOINT": "eodata.dataspace.copernicus.eu",
              "AWS_VIRTUAL_HOSTING": "FALSE", "AWS_HTTPS": "YES"},
        credentials={"AWS_ACCESS_KEY_ID": "CDSE_S3_ACCESS_KEY",
                     "AWS_SECRET_ACCESS_KEY": "CDSE_S3_SECRET_KEY"}),
}


def all_asset_keys() -> frozenset[str]:
    """Every asset key that names an L2A raster in some preset (what ingest recognises)."""
    return frozenset(key for archive in PRESETS.values()
                     for keys in archive.asset_keys.values() for key in keys)


def asset_keys_of(raster: str) -> tuple[str, ...]:
    """The keys the hub's own archive knows for an L2A raster (every preset's)."""
    return PRESETS["local"].asset_keys.get(raster, ())


def load_archives(names: str, file: str | Path | None = None) -> tuple[Archive, ...]:
    """The archives named in `names` (comma-separated, in priority order): presets, or archives
    of the TOML `file`, whose tables `[archives.NAME]` hold `Archive`'s fields and may start
    from a preset (`preset = "cdse"`); a table named like a preset adjusts it:

        [archives.cdse]
        collection = "sentinel-2-l2a"
        [archives.mirror]
        preset = "earth-search"
        stac_url = "https://stac.example.org/v1"
        href_rewrites = [["https://sentinel-cogs.s3.us-west-2.amazonaws.com/", "/data/cogs/"]]
    """
    defined = dict(PRESETS)
    if file:
        defined.update(_read_file(Path(file)))
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    if not wanted:
        raise ArchiveConfigError("HUB_ARCHIVES names no archive")
    unknown = [n for n in wanted if n not in defined]
    if unknown:
        raise ArchiveConfigError(
            f"HUB_ARCHIVES: unknown archive(s) {', '.join(unknown)} (known: "
            f"{', '.join(sorted(defined))}; define others in HUB_ARCHIVES_FILE)")
    if len(set(wanted)) != len(wanted):
        raise ArchiveConfigError("HUB_ARCHIVES names an archive twice")
    return tuple(defined[n] for n in wanted)


def _read_file(path: Path) -> dict[str, Archive]:
    try:
        with path.open("rb") as f:
            document = tomllib.load(f)
    except OSError as exc:
        raise ArchiveConfigError(f"HUB_ARCHIVES_FILE {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ArchiveConfigError(f"HUB_ARCHIVES_FILE {path}: not TOML ({exc})") from exc
    tables = document.get("archives", {})
    if not isinstance(tables, dict) or set(document) - {"archives"}:
        raise ArchiveConfigError(f"HUB_ARCHIVES_FILE {path}: holds only [archives.NAME] tables")
    return {name: _archive(name, table) for name, table in tables.items()}


_FIELDS = ("stac_url", "collection", "asset_keys", "angle_keys", "href_rewrites", "signing",
           "file_prefixes", "gdal", "credentials")


def _archive(name: str, table: Any) -> Archive:
    where = f"archive {name!r}"
    if not isinstance(table, dict):
        raise ArchiveConfigError(f"{where}: not a table")
    unknown = set(table) - {"preset", *_FIELDS}
    if unknown:
        raise ArchiveConfigError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    preset_name = table.get("preset", name if name in PRESETS else None)
    if preset_name is not None and preset_name not in PRESETS:
        raise ArchiveConfigError(f"{where}: preset {preset_name!r} is none of "
                                 f"{', '.join(PRESETS)}")
    base = replace(PRESETS[preset_name], name=name) if preset_name else None
    if base is None and "stac_url" not in table:
        raise ArchiveConfigError(f"{where}: stac_url is needed (or a preset)")
    values: dict[str, Any] = {}
    for key in _FIELDS:
        if key in table:
            values[key] = _field(where, key, table[key])
    archive = (replace(base, **values) if base is not None
               else Archive(name=name, **{"asset_keys": PRESETS["local"].asset_keys, **values}))
    if (archive.gdal or archive.credentials) and not archive.file_prefixes:
        raise ArchiveConfigError(f"{where}: gdal and credentials apply to the files under "
                                 f"file_prefixes; name them")
    return archive


def _field(where: str, key: str, value: Any) -> Any:
    def strings(v: Any) -> bool:
        return isinstance(v, list) and all(isinstance(s, str) for s in v)

    if key in ("stac_url", "collection", "signing"):
        if not isinstance(value, str):
            raise ArchiveConfigError(f"{where}: {key} must be a string")
        if key == "signing" and value not in SIGNING_METHODS:
            raise ArchiveConfigError(f"{where}: signing must be one of "
                                     f"{', '.join(repr(m) for m in SIGNING_METHODS)}")
        if key == "stac_url" and value and not value.startswith(("http://", "https://")):
            raise ArchiveConfigError(f"{where}: stac_url must be an http(s) URL")
        return value
    if key in ("angle_keys", "file_prefixes"):
        if not strings(value):
            raise ArchiveConfigError(f"{where}: {key} must be a list of strings")
        return tuple(value)
    if key == "href_rewrites":
        if not isinstance(value, list) or not all(strings(p) and len(p) == 2 for p in value):
            raise ArchiveConfigError(f"{where}: href_rewrites must be a list of "
                                     f"[prefix, replacement] pairs")
        return tuple((p[0], p[1]) for p in value)
    if key in ("gdal", "credentials"):
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise ArchiveConfigError(f"{where}: {key} must be a table of strings")
        return dict(value)
    # asset_keys: raster name -> key or list of keys
    if not isinstance(value, dict):
        raise ArchiveConfigError(f"{where}: asset_keys must be a table")
    known = {*l2a.BAND_NAMES, "SCL", "AOT", "CLD", "SNW"}
    keys: dict[str, tuple[str, ...]] = {}
    for raster, item_keys in value.items():
        if raster not in known:
            raise ArchiveConfigError(f"{where}: asset_keys.{raster} is no L2A raster "
                                     f"({', '.join(sorted(known))})")
        item_keys = [item_keys] if isinstance(item_keys, str) else item_keys
        if not strings(item_keys) or not item_keys:
            raise ArchiveConfigError(f"{where}: asset_keys.{raster} must be a key or a list")
        keys[raster] = tuple(item_keys)
    if "SCL" not in keys:
        raise ArchiveConfigError(f"{where}: asset_keys must name the SCL asset")
    return keys


def describe(archives: Sequence[Archive]) -> str:
    """The archives in priority order, for logs and messages."""
    return ", ".join(f"{a.name} ({a.stac_url or 'this hub'} {a.collection})" for a in archives)
