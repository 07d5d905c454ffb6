"""A product's "Download all" zip as a fixed layout of bytes: any byte range of it can be sent.

The zip is the same bytes whenever it is asked for (same files, same order, same dates), so a
client that resumes (`curl -C -`, a Range request) continues the stream it started. Every
member is stored as it is: a product's rasters are compressed already and its text files are
small, and stored members make the layout follow from the files' names and sizes alone. Only
the CRC-32s need the files' bytes; they go in a data descriptor after each member and in the
central directory, and are computed while the members are sent (a range that starts inside a
member reads that member's skipped part once for its CRC); `crcs` keeps those found, so that
a resumed download need not read again what it was sent before.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol

CHUNK_SIZE = 1024 * 1024
# Fields of four bytes; beyond this a member's sizes or an offset need zip64 records (the
# limit Python's zipfile keeps, as some readers take these fields as signed).
ZIP64_LIMIT = (1 << 31) - 1
ZIP_FILECOUNT_LIMIT = 0xFFFF
_DOS_EPOCH = 315532800  # 1980-01-01, the earliest date a zip holds
_FLAGS = 0x08  # sizes and CRC in a data descriptor after the data
_UTF8_NAME = 0x800
_VERSION = 20
_VERSION_ZIP64 = 45
_MADE_BY = (3 << 8) | _VERSION  # Unix, so that the permissions below are read
_PERMISSIONS = 0o100644 << 16
_LAYOUT_VERSION = 1  # part of the ETag: a change of layout is a new zip


class ZippedFile(Protocol):
    """What the zip needs to know of a file: its name in the zip and where it is."""

    @property
    def name(self) -> str: ...
    @property
    def path(self) -> Path: ...
    @property
    def sha256(self) -> str: ...


@dataclass(frozen=True)
class _Member:
    name: bytes
    flags: int
    path: Path
    size: int
    dos_time: int
    dos_date: int
    offset: int  # of its local header

    @property
    def zip64(self) -> bool:
        return self.size > ZIP64_LIMIT

    def local_header(self) -> bytes:
        extra = struct.pack("<HHQQ", 1, 16, 0, 0) if self.zip64 else b""
        sizes = 0xFFFFFFFF if self.zip64 else 0
        return struct.pack("<4s5H3L2H", b"PK\x03\x04", _VERSION_ZIP64 if self.zip64 else
                           _VERSION, self.flags, 0, self.dos_time, self.dos_date, 0, sizes,
                           sizes, len(self.name), len(extra)) + self.name + extra

    def descriptor(self, crc: int) -> bytes:
        if self.zip64:
            return struct.pack("<4sLQQ", b"PK\x07\x08", crc, self.size, self.size)
        return struct.pack("<4s3L", b"PK\x07\x08", crc, self.size, self.size)

    @property
    def descriptor_size(self) -> int:
        return 24 if self.zip64 else 16

    @property
    def end(self) -> int:
        """The offset after its data descriptor."""
        return (self.offset + len(self.local_header()) + self.size + self.descriptor_size)

    def central_header(self, crc: int) -> bytes:
        values = []
        size = self.size
        offset = self.offset
        if self.zip64:
            values += [self.size, self.size]
            size = 0xFFFFFFFF
        if self.offset > ZIP64_LIMIT:
            values.append(self.offset)
            offset = 0xFFFFFFFF
        extra = struct.pack(f"<HH{len(values)}Q", 1, 8 * len(values), *values) if values else b""
        needs = _VERSION_ZIP64 if values else _VERSION
        return struct.pack("<4s6H3L5H2L", b"PK\x01\x02", _MADE_BY, needs, self.flags, 0,
                           self.dos_time, self.dos_date, crc, size, size, len(self.name),
                           len(extra), 0, 0, 0, _PERMISSIONS, offset) + self.name + extra

    def central_header_size(self) -> int:
        return len(self.central_header(0))


class ProductZip:
    """The zip of files under `folder/`, laid out from their names and sizes at creation."""

    def __init__(self, files: Iterable[ZippedFile], folder: str) -> None:
        self.members: list[_Member] = []
        offset = 0
        digest = hashlib.sha256(f"{_LAYOUT_VERSION}\n{folder}".encode())
        self.last_modified = _DOS_EPOCH
        for stored in files:
            stat = stored.path.stat()
            name = f"{folder}/{stored.name}"
            when = datetime.fromtimestamp(max(int(stat.st_mtime), _DOS_EPOCH), UTC)
            member = _Member(
                name=name.encode("utf-8"), flags=_FLAGS | (0 if name.isascii() else _UTF8_NAME),
                path=stored.path, size=stat.st_size,
                dos_time=(when.hour << 11) | (when.minute << 5) | (when.second // 2),
                dos_date=((when.year - 1980) << 9) | (when.month << 5) | when.day,
                offset=offset)
            self.members.append(member)
            offset = member.end
            self.last_modified = max(self.last_modified, int(stat.st_mtime))
            digest.update(json.dumps([name, stat.st_size, stored.sha256, stat.st_mtime_ns])
                          .encode())
        self.directory_offset = offset
        self.directory_size = sum(m.central_header_size() for m in self.members)
        self.size = offset + self.directory_size + len(self._end_records())
        self.etag = f'"zip-{digest.hexdigest()[:40]}"'
        # CRC-32 of each member by index, as they are found; the caller may fill in those
        # found by an earlier request for the same ETag.
        self.crcs: dict[int, int] = {}

    def stream(self, first: int, length: int) -> Iterator[bytes]:
        """The bytes first..first+length of the zip, in pieces of about CHUNK_SIZE."""
        out = _Output(first, first + length)
        crcs = self.crcs
        for index, member in enumerate(self.members):
            if out.done:
                break
            yield from out.add(member.local_header())
            start = out.position
            if out.wants(start, start + member.size):
                lo = max(out.first, start) - start
                hi = min(out.end, start + member.size) - start
                out.position = start + lo
                for chunk in self._read(member, lo, hi, index, crcs):
                    yield from out.add(chunk)
            out.skip_to(start + member.size)
            if out.wants(out.position, out.position + member.descriptor_size):
                yield from out.add(member.descriptor(self._crc(index, crcs)))
            else:
                out.skip_to(out.position + member.descriptor_size)
        if not out.done:
            directory = b"".join(m.central_header(self._crc(i, crcs))
                                 for i, m in enumerate(self.members))
            yield from out.add(directory + self._end_records())
        yield from out.flush()

    def _read(self, member: _Member, lo: int, hi: int, index: int,
              crcs: dict[int, int]) -> Iterator[bytes]:
        """Bytes lo..hi of a member's file; its CRC on the way when they reach its end."""
        to_end = hi == member.size and index not in crcs
        crc = 0
        with member.path.open("rb") as src:
            if to_end and lo:
                crc = _crc_of(src, lo)
            src.seek(lo)
            left = hi - lo
            while left > 0:
                chunk = src.read(min(CHUNK_SIZE, left))
                if not chunk:  # the file shrank under us: stop rather than send a lie
                    raise OSError(f"{member.path.name} changed while it was sent")
                left -= len(chunk)
                if to_end:
                    crc = zlib.crc32(chunk, crc)
                yield chunk
        if to_end:
            crcs[index] = crc

    def _crc(self, index: int, crcs: dict[int, int]) -> int:
        if index not in crcs:
            member = self.members[index]
            with member.path.open("rb") as src:
                crcs[index] = _crc_of(src, member.size)
        return crcs[index]

    def _end_records(self) -> bytes:
        count, size, offset = len(self.members), self.directory_size, self.directory_offset
        records = b""
        if count > ZIP_FILECOUNT_LIMIT or size > ZIP64_LIMIT or offset > ZIP64_LIMIT:
            records = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, _MADE_BY, _VERSION_ZIP64,
                                  0, 0, count, count, size, offset)
            records += struct.pack("<4sLQL", b"PK\x06\x07", 0, offset + size, 1)
            count = min(count, 0xFFFF)
            size, offset = min(size, 0xFFFFFFFF), min(offset, 0xFFFFFFFF)
        return records + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, size,
                                     offset, 0)


class _Output:
    """The part of the zip's byte sequence inside [first, end), gathered into pieces."""

    def __init__(self, first: int, end: int) -> None:
        self.first, self.end = first, end
        self.position = 0  # in the whole zip
        self._pending: list[bytes] = []
        self._pending_size = 0

    @property
    def done(self) -> bool:
        return self.position >= self.end

    def wants(self, start: int, stop: int) -> bool:
        return stop > self.first and start < self.end

    def skip_to(self, position: int) -> None:
        self.position = max(self.position, position)

    def add(self, data: bytes) -> Iterator[bytes]:
        """Keep the part of data, which starts at position, that lies in the range."""
        start = self.position
        self.position += len(data)
        piece = data[max(self.first - start, 0):max(self.end - start, 0)]
        if piece:
            self._pending.append(piece)
            self._pending_size += len(piece)
        if self._pending_size >= CHUNK_SIZE:
            yield from self.flush()

    def flush(self) -> Iterator[bytes]:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            self._pending_size = 0
            yield data


def _crc_of(src: BinaryIO, length: int) -> int:
    """The CRC-32 of the next `length` bytes of an open file."""
    crc = 0
    while length > 0:
        chunk = src.read(min(CHUNK_SIZE, length))
        if not chunk:
            raise OSError("a product file shrank while it was zipped")
        length -= len(chunk)
        crc = zlib.crc32(chunk, crc)
    return crc
