"""GDAL's options for archive files read over HTTP(S) and S3, set on purpose.

Remote COGs are read by HTTP range requests (GDAL's /vsicurl/ and /vsis3/). GDAL's defaults
are made for one interactive user, not for a worker reading a year of granules: opening a file
would list its folder first (an extra request per file, a LIST on S3), neighbouring blocks
would each cost a request, and a stalled connection could hold a chunk for minutes. The
options below are set for the process unless the operator's environment sets them already
(GDAL reads a config option from the environment when nothing else set it).

An archive's own options (its endpoint, credentials) are set for the paths of its files only
(`apply_archive_options`), through GDAL's path-specific options, which rasterio does not
expose: this module calls the GDAL library rasterio loaded.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import rasterio
import rasterio.io

if TYPE_CHECKING:
    from compositing.archive.archives import Archive

NETWORK_OPTIONS: Mapping[str, str] = {
    # The COG header and its tile index in the first request (S2 COGs: under 32 KB).
    "GDAL_INGESTED_BYTES_AT_OPEN": "32768",
    # The blocks of one window in one request: adjacent ranges merged, others in a multi-range
    # request where the server takes them.
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
    "GDAL_HTTP_MULTIRANGE": "YES",
    # Transient faults (429, 5xx, dropped connections) are retried with a growing delay.
    "GDAL_HTTP_MAX_RETRY": "5",
    "GDAL_HTTP_RETRY_DELAY": "1",
    # A server that stops answering fails the read instead of holding the chunk.
    "GDAL_HTTP_CONNECTTIMEOUT": "15",
    "GDAL_HTTP_TIMEOUT": "60",
    # Connections kept open and reused across the reads of one process.
    "GDAL_HTTP_TCP_KEEPALIVE": "YES",
    # Bytes fetched, kept for the process (GDAL's default: 16 MB). A file's header must stay
    # until its first read, which needs it again, and a 20 m block is read for each of the
    # chunks it covers: with 64 reading threads, 16 MB was flushed within one chunk's reads
    # and each file's header was fetched a second time (bench/remote.py).
    "CPL_VSIL_CURL_CACHE_SIZE": str(64 << 20),
}


# Remote files are opened without listing their folder for sidecar files (.aux.xml, .ovr,
# .msk: a request each, or a LIST on S3). Set for the remote file systems only: local files
# keep their sidecars (a JPEG 2000 product's nodata is in its .aux.xml).
REMOTE_PATH_OPTIONS: Mapping[str, str] = {"GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR"}
REMOTE_FILE_SYSTEMS = ("/vsicurl/", "/vsis3/", "/vsigs/", "/vsiaz/", "/vsiadls/", "/vsioss/",
                       "/vsiswift/")


def configure_network(environ: dict[str, str] | None = None) -> dict[str, str]:
    """Set NETWORK_OPTIONS in the environment where it does not set them already, and
    REMOTE_PATH_OPTIONS on the remote file systems where the environment does not set them
    for every file; the options now in force (the remote-only ones included)."""
    env = os.environ if environ is None else environ
    for key, value in NETWORK_OPTIONS.items():
        env.setdefault(key, value)
    in_force = {key: env[key] for key in NETWORK_OPTIONS}
    for key, value in REMOTE_PATH_OPTIONS.items():
        if key in env:
            in_force[key] = env[key]
            continue
        if environ is None:
            for prefix in REMOTE_FILE_SYSTEMS:
                _gdal().VSISetPathSpecificOption(prefix.encode(), key.encode(), value.encode())
        in_force[key] = value
    return in_force


def vsi_path(href: str) -> str:
    """The GDAL virtual file path of an href (as rasterio opens it): s3://b/k -> /vsis3/b/k,
    http(s)://... -> /vsicurl/http(s)://...; anything else as it is."""
    if href.startswith("s3://"):
        return "/vsis3/" + href[len("s3://"):]
    if href.startswith(("http://", "https://")):
        return "/vsicurl/" + href
    return href


def open_raster(href: str, **kwargs: Any) -> rasterio.io.DatasetReader:
    """rasterio.open of an href by its GDAL path (`vsi_path`).

    Given an s3:// address, or any address with "amazonaws.com" in it (Earth Search's COGs),
    rasterio builds a boto3 session for every open when boto3 is installed: a credential
    lookup that ends by asking the EC2 metadata service, which off EC2 waits for its timeout.
    In `bench/remote.py` that was most of the order's CPU on S3 (two thirds of its opens' time).
    GDAL finds the same credentials itself (environment, ~/.aws, the metadata service) and
    the archive's own are set on its paths (`apply_archive_options`), so the GDAL path, which
    rasterio passes on as it is, loses nothing."""
    return rasterio.open(vsi_path(href), **kwargs)


def is_remote(href: str) -> bool:
    """Whether an href is read over the network (a URL, or a GDAL network file system path)."""
    return vsi_path(href.partition("\0")[0]).startswith(REMOTE_FILE_SYSTEMS)


class SigningError(OSError):
    """An href could not be signed (the token service refused or could not be reached)."""


# File prefix -> how hrefs under it are signed before they are opened.
_signers: dict[str, Callable[[str], str]] = {}


def apply_archive_options(archives: Sequence[Archive],
                          environ: Mapping[str, str] | None = None) -> None:
    """Make GDAL read each archive's files with its own options (`Archive.gdal_options`):
    options set for the path prefixes of its files (GDAL's path-specific options), so two
    stores with different endpoints or credentials are read side by side in one process; and
    sign the hrefs of archives that need it (`signed`)."""
    lib = _gdal()
    for archive in archives:
        if archive.signing:
            for prefix in archive.file_prefixes:
                _signers[prefix] = _SIGNING[archive.signing]
        options = archive.gdal_options(environ)
        for prefix in archive.file_prefixes:
            for key, value in options.items():
                lib.VSISetPathSpecificOption(vsi_path(prefix).encode(), key.encode(),
                                             value.encode())


def signed(href: str) -> str:
    """The href to open: signed where its archive says so (a Planetary Computer SAS token,
    cached by the SDK until a minute before it expires), else itself."""
    for prefix, sign in _signers.items():
        if href.startswith(prefix):
            try:
                return sign(href)
            except Exception as exc:  # the token service's own errors, whatever their type
                raise SigningError(f"{href}: no access token ({type(exc).__name__}: "
                                   f"{exc})") from exc
    return href


def _planetary_computer(href: str) -> str:
    """The href with a SAS token of its storage account and container (the first path part):
    the token service is the SDK's (PC_SDK_SAS_URL, PC_SDK_SUBSCRIPTION_KEY)."""
    from urllib.parse import urlsplit

    from planetary_computer.sas import get_token

    parts = urlsplit(href)
    account = parts.netloc.split(".", 1)[0]
    container = parts.path.lstrip("/").split("/", 1)[0]
    with _token_lock:  # the reading threads meet the first file together: one asks, all wait
        token = get_token(account, container, retry_total=3, retry_backoff_factor=0.5)
    return str(token.sign(href).href)


_token_lock = threading.Lock()


_SIGNING: Mapping[str, Callable[[str], str]] = {"planetary-computer": _planetary_computer}


def path_option(href: str, key: str) -> str | None:
    """The option GDAL applies to `key` for the file at href (path-specific, else global)."""
    lib = _gdal()
    value = lib.VSIGetPathSpecificOption(vsi_path(href).encode(), key.encode(), None)
    return value.decode() if value is not None else None


def read_bytes(href: str, limit: int) -> bytes:
    """The bytes of a remote file through GDAL's virtual file systems, as the rasters are read
    (same options, credentials and retries); OSError with GDAL's reason if it cannot be read,
    ValueError past `limit` bytes."""
    lib = _gdal()
    path = vsi_path(signed(href)).encode()
    handle = lib.VSIFOpenL(path, b"rb")
    if not handle:
        raise OSError(f"{href}: {lib.CPLGetLastErrorMsg().decode() or 'cannot be opened'}")
    try:
        chunks, total = [], 0
        buffer = ctypes.create_string_buffer(1 << 20)
        while True:
            n = lib.VSIFReadL(buffer, 1, len(buffer), handle)
            if n == 0:
                break
            chunks.append(buffer.raw[:n])
            total += n
            if total > limit:
                raise ValueError(f"{href}: more than {limit} bytes")
        if lib.VSIFEofL(handle) == 0:
            raise OSError(f"{href}: {lib.CPLGetLastErrorMsg().decode() or 'read failed'}")
        return b"".join(chunks)
    finally:
        lib.VSIFCloseL(handle)


@lru_cache(maxsize=1)
def _gdal() -> ctypes.CDLL:
    """The GDAL library rasterio reads with (its wheel's copy, else the system's): the same
    loaded library, so options set here are the ones rasterio's reads see."""
    import rasterio

    bundled = sorted(Path(rasterio.__file__).parent.parent.glob("rasterio.libs/libgdal*.so*"))
    name = str(bundled[0]) if bundled else ctypes.util.find_library("gdal")
    if name is None:
        raise OSError("the GDAL library rasterio uses was not found")
    lib = ctypes.CDLL(name)
    lib.VSISetPathSpecificOption.argtypes = [ctypes.c_char_p] * 3
    lib.VSISetPathSpecificOption.restype = None
    lib.VSIGetPathSpecificOption.argtypes = [ctypes.c_char_p] * 3
    lib.VSIGetPathSpecificOption.restype = ctypes.c_char_p
    lib.VSIFOpenL.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    lib.VSIFOpenL.restype = ctypes.c_void_p
    lib.VSIFReadL.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_void_p]
    lib.VSIFReadL.restype = ctypes.c_size_t
    lib.VSIFEofL.argtypes = [ctypes.c_void_p]
    lib.VSIFEofL.restype = ctypes.c_int
    lib.VSIFCloseL.argtypes = [ctypes.c_void_p]
    lib.VSIFCloseL.restype = ctypes.c_int
    lib.CPLGetLastErrorMsg.argtypes = []
    lib.CPLGetLastErrorMsg.restype = ctypes.c_char_p
    return lib
