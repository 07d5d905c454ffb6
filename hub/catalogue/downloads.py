"""Downloads of selected items: a zip streamed chunk by chunk, or a Metalink 4 document."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from hub.catalogue.models import ItemFile

CHUNK = 1 << 20
METALINK_NS = "urn:ietf:params:xml:ns:metalink"
METALINK_TYPE = "application/metalink4+xml"


class _Sink(io.RawIOBase):
    """A write-only, unseekable buffer that hands back what was written since the last take."""

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        """Everything written since the previous call."""
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def entry_name(file: ItemFile) -> str:
    """The path of a file inside a download: identifier/name."""
    return f"{file.item.identifier}/{file.name}"


def zip_chunks(files: Iterable[ItemFile]) -> Iterator[bytes]:
    """A zip of the local files, streamed; URL-only files listed in links.txt."""
    sink = _Sink()
    links: list[str] = []
    missing: list[str] = []
    # ZIP_STORED: the products are already compressed; the sink is unseekable, so zipfile
    # writes data descriptors and never needs to go back.
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        for file in files:
            local = file.local_file()
            if local is None:
                (links if file.url else missing).append(file.url or entry_name(file))
                continue
            with local.open("rb") as source, archive.open(entry_name(file), "w",
                                                          force_zip64=True) as target:
                while block := source.read(CHUNK):
                    target.write(block)
                    yield sink.take()
        if links:
            archive.writestr("links.txt", "".join(f"{url}\n" for url in links))
        if missing:
            archive.writestr("missing.txt", "".join(f"{name}\n" for name in missing))
    yield sink.take()


def metalink(files: Iterable[ItemFile], local_url: Callable[[ItemFile], str]) -> bytes:
    """A Metalink 4 (RFC 5854) document with name, size, SHA-256 and URLs of every file."""
    ET.register_namespace("", METALINK_NS)
    root = ET.Element(f"{{{METALINK_NS}}}metalink")
    ET.SubElement(root, f"{{{METALINK_NS}}}generator").text = "Sentinel-2 Mosaic Hub catalogue"
    ET.SubElement(root, f"{{{METALINK_NS}}}published").text = (
        datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    for file in files:
        urls = [file.url] if file.url else []
        if file.local_file() is not None:
            urls.insert(0, local_url(file))
        if not urls:
            continue
        node = ET.SubElement(root, f"{{{METALINK_NS}}}file", name=entry_name(file))
        ET.SubElement(node, f"{{{METALINK_NS}}}size").text = str(file.size)
        ET.SubElement(node, f"{{{METALINK_NS}}}hash", type="sha-256").text = file.sha256
        for priority, url in enumerate(urls, 1):
            ET.SubElement(node, f"{{{METALINK_NS}}}url", priority=str(priority)).text = url
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
