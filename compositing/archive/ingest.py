"""Registering real L2A products in the local archive: SAFE folders, .SAFE.zip, STAC Items.

Each product becomes `{archive}/{collection}/{item_id}/{item_id}.json` (see
`compositing.archive.store`). Rasters are not copied: assets point at the original files by absolute
path (`/vsizip/...` inside a zip). Everything is validated before anything is written, and the
item file is written to a temporary file and renamed, so a failed ingest leaves the archive as
it was and ingesting the same product again writes identical bytes.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import rasterio
from rasterio.errors import RasterioError
from shapely.geometry import mapping

from compositing import l2a
from compositing.archive import safe
from compositing.archive.archives import all_asset_keys, asset_keys_of
from compositing.stacspec import STAC_VERSION, extension

LICENSE_URL = "https://sentinel.esa.int/documents/247904/690755/Sentinel_Data_Legal_Notice"
EXTENSIONS = [
    extension(name)
    for name in ("eo/v1.1.0", "projection/v1.1.0", "raster/v1.1.0", "mgrs/v1.0.0",
                 "grid/v1.1.0", "view/v1.0.0", "sat/v1.0.0")
]
# L2A rasters registered from a SAFE product, each at the finest resolution present.
SAFE_RASTERS: tuple[str, ...] = (*l2a.BAND_NAMES, "SCL", "AOT", "WVP")
RESOLUTIONS_M: tuple[int, ...] = (10, 20, 60)
ANGLES_FILE = "angles.json"
_JP2_TYPE = "image/jp2"
_BAND_FILE = re.compile(r"_(B\d{2}|B8A|SCL|AOT|WVP|TCI)_(10|20|60)m\.jp2$")
# Sen2Cor's cloud and snow probability masks in the granule's QI_DATA, registered as the
# assets CLD and SNW (percent; the quality_cloud/snow_confidence layers).
_PROB_FILE = re.compile(r"^MSK_(CLDPRB|SNWPRB)_(20|60)m\.jp2$")
PROB_RASTERS: dict[str, str] = {"CLDPRB": "CLD", "SNWPRB": "SNW"}
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
_API_LINK_RELS = {"self", "root", "parent", "collection", "items", "next", "prev"}
_L2A_KEYS = all_asset_keys()


class IngestError(Exception):
    """A path that cannot be registered; the message names the file and the reason."""


@dataclass
class IngestResult:
    """What ingesting one path did."""

    source: Path
    item_id: str
    status: str  # "registered", "already registered" or "updated"
    item_path: Path
    assets: dict[str, str]  # asset key -> short description (resolution)
    missing: list[str] = field(default_factory=list)  # what the product lacks
    notes: list[str] = field(default_factory=list)


@dataclass
class _Prepared:
    """A validated item with its sidecar files, ready to write."""

    item: dict[str, Any]
    sidecars: dict[str, str]  # file name in the item folder -> text
    assets: dict[str, str]
    missing: list[str]
    notes: list[str]


def ingest_path(path: Path | str, archive_dir: Path | str,
                collection: str = "sentinel-2-l2a", keep_remote: bool = False) -> IngestResult:
    """Register one SAFE folder, .SAFE.zip, MTD_MSIL2A.xml or STAC Item JSON; IngestError else.
    `keep_remote`: a STAC Item's assets with no local file are registered by their remote
    hrefs (http(s), s3), not downloaded, where otherwise they are dropped."""
    source = Path(os.path.abspath(Path(path).expanduser()))
    prepared = prepare(source, keep_remote)
    prepared.item["collection"] = collection
    archive = Path(os.path.abspath(Path(archive_dir).expanduser()))
    return _write(source, prepared, archive / collection)


def prepare(source: Path, keep_remote: bool = False) -> _Prepared:
    """Read and validate a source of any kind into an item (nothing is written)."""
    if not source.exists():
        raise IngestError(f"{source}: no such file or directory")
    if source.is_dir():
        if not (source / "MTD_MSIL2A.xml").is_file():
            raise IngestError(f"{source}: not a SAFE folder (no MTD_MSIL2A.xml in it)")
        return _from_safe(_DirSafe(source))
    head = _head(source)
    if zipfile.is_zipfile(source):
        product = _ZipSafe.open(source)
        try:
            return _from_safe(product)
        finally:
            product.zf.close()
    if head.startswith(b"<"):
        if source.name != "MTD_MSIL2A.xml":
            _check_xml(source)
            raise IngestError(f"{source}: L2A product metadata outside a SAFE folder: ingest "
                              "the SAFE folder (its MTD_MSIL2A.xml beside GRANULE/)")
        return _from_safe(_DirSafe(source.parent))
    if head.startswith(b"{"):
        return _from_stac_item(source, keep_remote)
    raise IngestError(f"{source}: not a SAFE folder, a .SAFE.zip, an MTD_MSIL2A.xml or a "
                      "STAC Item JSON file")


def _head(path: Path) -> bytes:
    """The first bytes of a file without a BOM and leading white space."""
    try:
        with open(path, "rb") as f:
            data = f.read(512)
    except OSError as exc:
        raise IngestError(f"{path}: cannot be read ({exc.strerror})") from None
    return data.removeprefix(b"\xef\xbb\xbf").lstrip()


def _check_xml(path: Path) -> None:
    """Raise IngestError saying what an XML file that is not MTD_MSIL2A.xml is."""
    try:
        safe.parse_product(path.read_bytes())
    except safe.MetadataError as exc:
        raise IngestError(f"{path}: not L2A product metadata: {exc}") from None


# --- SAFE products ------------------------------------------------------------------------------


class _DirSafe:
    """A SAFE product unpacked in a folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.label = str(root)

    def read(self, rel: str) -> bytes:
        """Bytes of a file of the product."""
        return (self.root / rel).read_bytes()

    def names(self) -> list[str]:
        """Every file of the product, relative to its root, with '/' separators."""
        return sorted(p.relative_to(self.root).as_posix() for p in self.root.rglob("*")
                      if p.is_file())

    def href(self, rel: str) -> str:
        """The path GDAL opens a file of the product by."""
        return str(self.root / rel)


class _ZipSafe:
    """A SAFE product inside a zip file (read through GDAL's /vsizip/)."""

    def __init__(self, path: Path, zf: zipfile.ZipFile, prefix: str) -> None:
        self.path = path
        self.zf = zf
        self.prefix = prefix
        self.label = str(path)

    @classmethod
    def open(cls, path: Path) -> _ZipSafe:
        """Find the SAFE folder inside the zip (the shallowest MTD_MSIL2A.xml)."""
        try:
            zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise IngestError(f"{path}: not a readable zip file ({exc})") from None
        mtds = sorted((n for n in zf.namelist() if n.rsplit("/", 1)[-1] == "MTD_MSIL2A.xml"),
                      key=lambda n: n.count("/"))
        if not mtds:
            zf.close()
            raise IngestError(f"{path}: the zip holds no SAFE product (no MTD_MSIL2A.xml)")
        return cls(path, zf, mtds[0][: -len("MTD_MSIL2A.xml")])

    def read(self, rel: str) -> bytes:
        """Bytes of a member of the product."""
        try:
            return self.zf.read(self.prefix + rel)
        except (KeyError, zipfile.BadZipFile, OSError) as exc:
            raise OSError(f"cannot read {rel} from the zip: {exc}") from None

    def names(self) -> list[str]:
        """Every member of the product, relative to the SAFE folder."""
        return sorted(n[len(self.prefix):] for n in self.zf.namelist()
                      if n.startswith(self.prefix) and not n.endswith("/"))

    def href(self, rel: str) -> str:
        """The /vsizip/ path of a member."""
        return f"/vsizip/{self.path}/{self.prefix}{rel}"


def _from_safe(product: _DirSafe | _ZipSafe) -> _Prepared:
    """Parse a SAFE product's metadata, find its rasters and build its item."""
    label = product.label
    try:
        meta = safe.parse_product(product.read("MTD_MSIL2A.xml"))
    except (OSError, safe.MetadataError) as exc:
        raise IngestError(f"{label}/MTD_MSIL2A.xml: not L2A product metadata: {exc}") from None
    names = product.names()
    tile_mtds = [n for n in names if re.fullmatch(r"GRANULE/[^/]+/MTD_TL\.xml", n)]
    if len(tile_mtds) != 1:
        raise IngestError(f"{label}: expected one GRANULE/*/MTD_TL.xml, found {len(tile_mtds)}")
    try:
        tile_meta = safe.parse_tile(product.read(tile_mtds[0]))
    except (OSError, safe.MetadataError) as exc:
        raise IngestError(f"{label}/{tile_mtds[0]}: not L2A tile metadata: {exc}") from None
    granule = tile_mtds[0].rsplit("/", 1)[0]
    files = _band_files(names, granule)
    assets: dict[str, dict[str, Any]] = {}
    described: dict[str, str] = {}
    for band in SAFE_RASTERS:
        found = [(res, files[(band, res)]) for res in RESOLUTIONS_M if (band, res) in files]
        if not found:
            continue
        res, rel = found[0]
        assets[band] = _safe_asset(product, rel, band, res, meta, tile_meta)
        described[band] = f"{res} m"
    for key in PROB_RASTERS.values():
        found = [(res, files[(key, res)]) for res in (20, 60) if (key, res) in files]
        if found:
            res, rel = found[0]
            assets[key] = _safe_asset(product, rel, key, res, meta, tile_meta)
            described[key] = f"{res} m"
    if "SCL" not in assets or not any(b in assets for b in l2a.BAND_NAMES):
        raise IngestError(f"{label}: no SCL or no reflectance band file under "
                          f"{granule}/IMG_DATA/R10m|R20m|R60m")
    missing = _safe_missing(meta, names, assets)
    item_id = meta.product_uri.removesuffix(".SAFE")
    if not _SAFE_ID.match(item_id):
        raise IngestError(f"{label}: PRODUCT_URI {meta.product_uri!r} is not usable as an id")
    assets[ANGLES_FILE.split(".")[0]] = {
        "href": f"./{ANGLES_FILE}", "type": "application/json",
        "title": "Sun and viewing incidence angle grids (5 km) from MTD_TL.xml",
        "roles": ["metadata"],
    }
    item = _safe_item(item_id, meta, tile_meta, assets)
    sidecar = json.dumps(safe.angles_document(tile_meta), indent=None, separators=(",", ":"))
    return _Prepared(item, {ANGLES_FILE: sidecar + "\n"}, described, missing, [])


def _band_files(names: list[str], granule: str) -> dict[tuple[str, int], str]:
    """(raster, resolution) -> file of the granule's IMG_DATA/R{res}m folders."""
    found: dict[tuple[str, int], str] = {}
    for name in names:
        folder, _, base = name.rpartition("/")
        match = _BAND_FILE.search(base)
        if match and folder == f"{granule}/IMG_DATA/R{match.group(2)}m":
            found[(match.group(1), int(match.group(2)))] = name
        prob = _PROB_FILE.match(base)
        if prob and folder == f"{granule}/QI_DATA":
            found[(PROB_RASTERS[prob.group(1)], int(prob.group(2)))] = name
    return found


def _safe_missing(meta: safe.ProductMetadata, names: list[str],
                  assets: dict[str, Any]) -> list[str]:
    """Rasters with no file, and the band files MTD_MSIL2A.xml lists that are absent."""
    missing = [f"{band}: no file at any resolution (not registered)"
               for band in SAFE_RASTERS if band not in assets]
    missing += [f"{key}: no QI_DATA/MSK_{name}_20m|60m.jp2 (its confidence layer is nodata)"
                for name, key in PROB_RASTERS.items() if key not in assets]
    present = {n.removesuffix(".jp2") for n in names}
    absent: dict[str, list[str]] = {}
    for listed in meta.image_files:
        match = _BAND_FILE.search(listed + ".jp2")
        if match and listed not in present and match.group(1) in SAFE_RASTERS:
            absent.setdefault(f"{match.group(2)} m", []).append(match.group(1))
    for res, bands in sorted(absent.items(), key=lambda kv: int(kv[0].split()[0])):
        missing.append(f"{res} files listed in MTD_MSIL2A.xml but absent: {', '.join(bands)}")
    return missing


def _safe_asset(product: _DirSafe | _ZipSafe, rel: str, band: str, res: int,
                meta: safe.ProductMetadata, tile_meta: safe.TileMetadata) -> dict[str, Any]:
    """One raster asset, its grid read from the file and checked against MTD_TL.xml."""
    href = product.href(rel)
    shape, transform, epsg, dtype = _raster_grid(href, f"{product.label}/{rel}")
    expected = (tile_meta.ulx.get(res), tile_meta.uly.get(res))
    if epsg != tile_meta.epsg or (transform[2], transform[5]) != expected \
            or (transform[0], transform[4]) != (res, -res):
        raise IngestError(f"{product.label}/{rel}: grid EPSG:{epsg} {transform} differs from "
                          f"MTD_TL.xml (EPSG:{tile_meta.epsg}, {res} m at {expected})")
    raster: dict[str, Any] = {"nodata": 0, "data_type": dtype, "spatial_resolution": res}
    if band in l2a.BAND_BY_NAME:
        q = meta.quantification
        raster |= {"scale": 1 / q, "offset": meta.boa_add_offset.get(band, 0) / q}
        info = l2a.BAND_BY_NAME[band]
        title = f"{info.description.capitalize()} ({band}) - {res}m"
        extra: dict[str, Any] = {"eo:bands": [{
            "name": band, "common_name": info.common_name, "description": info.description,
            "center_wavelength": info.center_nm / 1000}]}
        roles = ["data", "reflectance"]
    elif band in PROB_RASTERS.values():
        del raster["nodata"]  # 0 % is a value; outside the swath SCL says no data
        raster["unit"] = "%"
        title = {"CLD": "Cloud probability (%)", "SNW": "Snow probability (%)"}[band] + \
            f" - {res}m"
        extra, roles = {}, ["data"]
    else:
        if band == "AOT":
            raster |= {"scale": 1 / meta.aot_quantification, "offset": 0}
        elif band == "WVP":
            raster |= {"scale": 1 / meta.wvp_quantification, "offset": 0, "unit": "cm"}
        title = {"SCL": "Scene classification map (SCL)",
                 "AOT": "Aerosol optical thickness (AOT)",
                 "WVP": "Water vapour (WVP)"}[band] + f" - {res}m"
        extra, roles = {}, ["data"]
    return {"href": href, "type": _JP2_TYPE, "title": title, **extra, "gsd": res,
            "proj:shape": list(shape), "proj:transform": list(transform),
            "raster:bands": [raster], "roles": roles}


def _raster_grid(href: str, label: str) -> tuple[tuple[int, int], list[float], int | None, str]:
    """(rows, cols), 6-number transform, EPSG and data type of a raster; IngestError if bad."""
    try:
        with rasterio.open(href) as src:
            epsg = src.crs.to_epsg() if src.crs else None
            return (src.height, src.width), list(src.transform)[:6], epsg, src.dtypes[0]
    except (RasterioError, OSError) as exc:
        raise IngestError(f"{label}: cannot be read as a raster ({exc})") from None


def _safe_item(item_id: str, meta: safe.ProductMetadata, tile_meta: safe.TileMetadata,
               assets: dict[str, Any]) -> dict[str, Any]:
    """The STAC Item of a SAFE product, in the shape of the demo items."""
    return {
        "type": "Feature", "stac_version": STAC_VERSION, "stac_extensions": EXTENSIONS,
        "id": item_id, "collection": "",
        "geometry": safe.rounded(mapping(meta.footprint)), "bbox": safe.stac_bbox(meta.footprint),
        "properties": safe.item_properties(meta, tile_meta),
        "links": [{"rel": "license", "href": LICENSE_URL}],
        "assets": assets,
    }


# --- STAC Items with local COGs -----------------------------------------------------------------


def _from_stac_item(path: Path, keep_remote: bool = False) -> _Prepared:
    """A STAC Item JSON whose asset hrefs are mapped to files beside it; with `keep_remote`,
    those with none keep their remote href (with the size and checksum the item gives)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise IngestError(f"{path}: not valid JSON ({exc})") from None
    problem = _item_problem(raw)
    if problem:
        raise IngestError(f"{path}: not a STAC Item: {problem}")
    folder = path.parent
    assets: dict[str, Any] = {}
    described: dict[str, str] = {}
    dropped: list[str] = []
    notes: list[str] = []
    for key, asset in raw["assets"].items():
        local = _local_file(str(asset["href"]), folder)
        if local is None and keep_remote and _is_remote(str(asset["href"])):
            assets[key] = asset  # read where it is, by ranges: nothing is downloaded
            described[key] = (f"{asset.get('gsd', '?')} m, remote" if key in _L2A_KEYS
                              else "remote file")
            continue
        if local is None:
            dropped.append(key)
            continue
        asset = dict(asset, href=str(local))
        if _is_raster(asset, local):
            asset, change = _refresh_grid(asset, local, key)
            if change:
                notes.append(change)
            described[key] = f"{asset.get('gsd', '?')} m"
        else:
            described[key] = "file"
        assets[key] = asset
    where = "a remote href or a local file" if keep_remote else "a local file beside it"
    if not any(key in _L2A_KEYS for key in assets):
        raise IngestError(f"{path}: no L2A band or SCL asset of the item has {where} "
                          f"(looked for {', '.join(sorted(raw['assets'])[:6])}, ...)")
    missing = [f"assets with no {'usable href' if keep_remote else 'local file'} (dropped): "
               f"{', '.join(dropped)}"] if dropped else []
    if not any(key in assets for key in asset_keys_of("SCL")):
        missing.insert(0, f"SCL: no {'usable href' if keep_remote else 'local file'} (scene "
                          "classification needed to composite)")
    item = {k: v for k, v in raw.items() if k not in ("assets", "links", "collection")}
    item["links"] = [link for link in raw.get("links") or []
                     if isinstance(link, dict) and link.get("rel") not in _API_LINK_RELS]
    item["assets"] = assets
    return _Prepared(item, {}, described, missing, notes)


def _item_problem(raw: Any) -> str:
    """Why a decoded JSON value is not a usable STAC Item ('' when it is)."""
    if not isinstance(raw, dict) or raw.get("type") != "Feature":
        kind = raw.get("type") if isinstance(raw, dict) else type(raw).__name__
        return f"its type is {kind!r}, not 'Feature'"
    if not isinstance(raw.get("id"), str) or not _SAFE_ID.match(raw["id"]):
        return f"id {raw.get('id')!r} is missing or unusable as a folder name"
    props = raw.get("properties")
    if not isinstance(props, dict) or not (props.get("datetime") or props.get("start_datetime")):
        return "properties.datetime is missing"
    if raw.get("geometry") is None and not raw.get("bbox"):
        return "it has neither geometry nor bbox"
    assets = raw.get("assets")
    if not isinstance(assets, dict) or not assets or not all(
            isinstance(a, dict) and isinstance(a.get("href"), str) for a in assets.values()):
        return "assets are missing or have no href"
    return ""


_REMOTE_SCHEMES = ("http", "https", "s3")


def _is_remote(href: str) -> bool:
    """Whether GDAL reads the href over the network (http(s) ranges, S3)."""
    return urlparse(href).scheme in _REMOTE_SCHEMES


def _local_file(href: str, folder: Path) -> Path | None:
    """The local file an href stands for: itself if local, else its basename beside the item."""
    parsed = urlparse(href)
    if parsed.scheme and len(parsed.scheme) > 1:  # a URL (one letter: a Windows drive)
        if parsed.scheme == "file":
            candidates = [Path(parsed.path)]
        else:
            candidates = []
        candidates.append(folder / Path(parsed.path).name)
    else:
        candidates = [folder / href, folder / Path(href).name]
    for candidate in candidates:
        if candidate.name and candidate.is_file():
            return candidate.resolve()
    return None


def _is_raster(asset: dict[str, Any], local: Path) -> bool:
    """Whether an asset is a raster to be opened with rasterio."""
    return ("raster:bands" in asset or "proj:shape" in asset
            or local.suffix.lower() in {".tif", ".tiff", ".jp2"}
            or "image/tiff" in str(asset.get("type", "")))


def _refresh_grid(asset: dict[str, Any], local: Path, key: str) -> tuple[dict[str, Any], str]:
    """The asset with proj/gsd fields of the local file (it may be a reduced copy)."""
    shape, transform, epsg, _ = _raster_grid(str(local), str(local))
    res = abs(transform[0])
    res_out: int | float = int(res) if res == int(res) else res
    before = asset.get("gsd") or (asset.get("raster:bands") or [{}])[0].get("spatial_resolution")
    out = dict(asset, **{"proj:shape": list(shape), "proj:transform": transform})
    if epsg is not None and ("proj:epsg" in asset or "proj:code" in asset):
        out["proj:epsg"], out["proj:code"] = epsg, f"EPSG:{epsg}"
    if "gsd" in asset or before is not None:
        out["gsd"] = res_out
    if out.get("raster:bands"):
        out["raster:bands"] = [dict(b, spatial_resolution=res_out)
                               if "spatial_resolution" in b else b
                               for b in out["raster:bands"]]
    change = f"{key} {before}->{res_out} m" if before not in (None, res_out) else ""
    return out, change


# --- writing ------------------------------------------------------------------------------------


def _write(source: Path, prepared: _Prepared, collection_dir: Path) -> IngestResult:
    """Write the item folder (sidecars first, item last), atomically and only if changed."""
    item = prepared.item
    item_id = item["id"]
    folder = collection_dir / item_id
    item_path = folder / f"{item_id}.json"
    text = json.dumps(item, indent=1) + "\n"
    files = {**prepared.sidecars, item_path.name: text}
    existing = {name: _read_text(folder / name) for name in files}
    if existing == files:
        status = "already registered"
    else:
        status = "updated" if existing[item_path.name] is not None else "registered"
        created = not folder.exists()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for name, content in files.items():  # the item file last: it makes the entry
                if existing[name] != content:
                    _atomic_write(folder / name, content)
        except OSError as exc:
            if created:
                for name in files:
                    (folder / name).unlink(missing_ok=True)
                folder.rmdir()
            raise IngestError(f"{source}: cannot write {folder}: {exc}") from None
    return IngestResult(source, item_id, status, item_path, prepared.assets,
                        prepared.missing, prepared.notes)


def _read_text(path: Path) -> str | None:
    """A file's text, None when it does not exist or cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _atomic_write(path: Path, text: str) -> None:
    """Write to a hidden temporary file in the same folder, then rename over `path`."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
