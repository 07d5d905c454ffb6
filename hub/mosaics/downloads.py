"""Download responses for finished products: byte ranges and ETags for single files and the
zip of them all (`productzip`), a metalink."""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree as ET

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.cache import get_conditional_response
from django.utils.http import content_disposition_header, http_date, parse_http_date_safe

from hub.mosaics.productzip import ProductZip

CHUNK_SIZE = 1024 * 1024
ZIP_CRC_CACHE_S = 24 * 3600
METALINK_NS = "urn:ietf:params:xml:ns:metalink"
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_ENCODED_TYPES = {"gzip": "application/gzip", "bzip2": "application/x-bzip",
                  "xz": "application/x-xz"}


@dataclass(frozen=True)
class StoredFile:
    """A product file on disk with the name and checksum the API publishes."""

    name: str
    path: Path
    size: int
    sha256: str


class RangeNotSatisfiableError(Exception):
    """The Range header is valid but selects no byte of the file."""


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """The inclusive (first, last) byte of a single `bytes=` range, or None to send it all.

    Invalid syntax, other units and multiple ranges are ignored (RFC 9110 §14.2), which
    answers with the whole file.
    """
    match = _RANGE.match(header.strip().replace(" ", ""))
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.groups()
    if first == "":  # suffix range: the last n bytes
        length = int(last)
        if length == 0 or size == 0:
            raise RangeNotSatisfiableError
        return max(size - length, 0), size - 1
    start = int(first)
    if last != "" and int(last) < start:
        return None
    if start >= size:
        raise RangeNotSatisfiableError
    return start, size - 1 if last == "" else min(int(last), size - 1)


def file_response(request: HttpRequest, stored: StoredFile) -> HttpResponse:
    """GET/HEAD one file with Range, If-Range, ETag and Last-Modified, streamed in chunks."""
    stat = stored.path.stat()
    etag = f'"{stored.sha256}"' if stored.sha256 else f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'
    return ranged_response(
        request, size=stat.st_size, etag=etag, mtime=int(stat.st_mtime),
        body=lambda first, length: _read_slice(stored.path, first, length),
        filename=PurePosixPath(stored.name).name, content_type=_content_type(stored.name),
        headers={"X-Checksum-SHA256": stored.sha256})


def zip_response(request: HttpRequest, files: list[StoredFile], folder: str) -> HttpResponse:
    """GET/HEAD the "Download all" zip of a product, with byte ranges like a single file: the
    zip is the same bytes every time (`productzip`), so a resumed download continues it."""
    archive = ProductZip(files, folder)
    # The CRCs an interrupted download found: its resumption reads only what it has not sent.
    key = f"mosaics:zip-crcs:{archive.etag}"
    archive.crcs.update(cache.get(key) or {})

    def body(first: int, length: int) -> Iterator[bytes]:
        try:
            yield from archive.stream(first, length)
        finally:  # also when the client goes away
            if archive.crcs:
                cache.set(key, archive.crcs, ZIP_CRC_CACHE_S)

    return ranged_response(request, size=archive.size, etag=archive.etag,
                           mtime=archive.last_modified, body=body,
                           filename=f"{folder}.zip", content_type="application/zip")


def ranged_response(request: HttpRequest, *, size: int, etag: str, mtime: int,
                    body: Callable[[int, int], Iterator[bytes]], filename: str,
                    content_type: str, headers: dict[str, str] | None = None) -> HttpResponse:
    """A download of `size` bytes that `body(first, length)` streams: Range and If-Range
    (RFC 9110), ETag and Last-Modified with 304/412, HEAD."""
    headers = {"ETag": etag, "Last-Modified": http_date(mtime), "Accept-Ranges": "bytes",
               **(headers or {})}
    validators = _with_headers(HttpResponse(), headers)
    conditional = get_conditional_response(request, etag=etag, last_modified=mtime,
                                           response=validators)
    if conditional is not validators:  # 304 Not Modified or 412 Precondition Failed
        return conditional
    try:
        selected = _selected_range(request, etag, mtime, size)
    except RangeNotSatisfiableError:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return _with_headers(response, headers)
    first, last = selected if selected else (0, size - 1)
    length = last - first + 1 if size else 0
    if request.method == "HEAD":
        response = HttpResponse(status=206 if selected else 200)
    else:
        response = StreamingHttpResponse(body(first, length), status=206 if selected else 200)
    if selected:
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    response["Content-Length"] = str(length)
    response["Content-Type"] = content_type
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return _with_headers(response, headers)


def _selected_range(request: HttpRequest, etag: str, mtime: int,
                    size: int) -> tuple[int, int] | None:
    """The range to send, after If-Range: a validator that no longer matches means 'all'."""
    header = request.META.get("HTTP_RANGE", "")
    if not header:
        return None
    if_range = request.META.get("HTTP_IF_RANGE", "").strip()
    if if_range:
        if if_range.startswith(('"', "W/")):
            fresh = if_range == etag  # strong comparison: a weak tag never matches
        else:
            fresh = parse_http_date_safe(if_range) == mtime
        if not fresh:
            return None
    return parse_range(header, size)


def _read_slice(path: Path, first: int, length: int) -> Iterator[bytes]:
    """The bytes first..first+length of a file, a chunk at a time; opened on first read."""
    with path.open("rb") as src:
        src.seek(first)
        while length > 0:
            chunk = src.read(min(CHUNK_SIZE, length))
            if not chunk:  # the file shrank under us: stop rather than loop forever
                return
            length -= len(chunk)
            yield chunk


def _with_headers(response: HttpResponse, headers: dict[str, str]) -> HttpResponse:
    for key, value in headers.items():
        if value:
            response[key] = value
    return response


def _content_type(name: str) -> str:
    content_type, encoding = mimetypes.guess_type(name)
    if encoding:
        return _ENCODED_TYPES.get(encoding, "application/octet-stream")
    return content_type or "application/octet-stream"


def metalink_document(files: Iterable[StoredFile], folder: str,
                      url_for: Callable[[StoredFile], str], published: datetime | None,
                      ) -> bytes:
    """A Metalink 4 (RFC 5854) document: name, size, SHA-256 and URL of each file."""
    # Unprefixed tags under a default xmlns: ElementTree's default_namespace option refuses
    # the unqualified attributes (name, type) that RFC 5854 uses.
    root = ET.Element("metalink", xmlns=METALINK_NS)
    ET.SubElement(root, "generator").text = "mosaichub"
    if published is not None:
        stamp = published.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        ET.SubElement(root, "published").text = stamp
    for stored in files:
        entry = ET.SubElement(root, "file", name=f"{folder}/{stored.name}")
        ET.SubElement(entry, "size").text = str(stored.size)
        ET.SubElement(entry, "hash", type="sha-256").text = stored.sha256
        ET.SubElement(entry, "url", priority="1").text = url_for(stored)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def safe_folder_name(name: str) -> str:
    """A folder name for archives and metalinks: no path separators, never empty or dots."""
    cleaned = re.sub(r"[^\w.\- ]+", "_", name).strip(" .")
    return cleaned or "product"
