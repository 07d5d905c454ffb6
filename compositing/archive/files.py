"""Open raster files and the threads that read them.

Each file is read by one thread only, the threads taking the files in turn as they are first
seen, and that thread keeps the file open: a rasterio dataset must not be shared between
threads, and opening a COG costs about as much as reading a chunk of it, so a file is opened
once per process, not once per thread that happens to need it. Reads release the GIL, so the
threads decode in parallel, and the caller (the pipeline's next chunk, or the kernels of the
previous one) runs beside them.

How many files stay open is sized to the request (`reserve`): every file a yearly order
touches, up to a share of the process's file-descriptor limit; beyond it the least recently
used are closed. Between requests a thread keeps up to DEFAULT_OPEN_DATASETS: the
time-series API, whose year of a pixel touches a few thousand files, must not reopen them on
every request.

What an open file costs in memory, beside its decoded blocks in GDAL's capped cache (`memory`):
about 190 KB once opened through rasterio (GDAL's own handle 25 KB, the CRS object 80 KB) and
some 300 KB more once read (per-file decoding buffers kept by the handle), so the 1,460 files
of a yearly order over two tiles hold about 330 MB until the order closes them (measured on the
demo archive: resident memory fell from 670 to 277 MB when they were closed and malloc
trimmed). That is a fixed part of a yearly order's peak, whatever the AOI's size.
"""

from __future__ import annotations

import os
import resource
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import rasterio
import rasterio.io
from rasterio.errors import RasterioError
from rasterio.windows import Window

from compositing import memory
from compositing.archive.network import SigningError, configure_network, signed
from compositing.archive.scenes import ArchiveDataError

T = TypeVar("T")
# Before any file is read through this module, so GDAL's cache starts with the hub's cap and
# remote files are read with the hub's network options.
memory.tune()
configure_network()

# Open datasets a thread keeps when no request said how many it needs (at most).
DEFAULT_OPEN_DATASETS = 2048
# Share of the file-descriptor limit that open datasets may hold (GDAL, sockets and the
# product's own files need the rest).
_FD_SHARE = 0.6
_local = threading.local()


def read_threads() -> int:
    """Reading threads per process: HUB_READ_THREADS, else one per core (at least two, so a
    read overlaps the next)."""
    configured = os.environ.get("HUB_READ_THREADS", "")
    return int(configured) if configured.isdigit() and int(configured) > 0 else max(
        2, os.cpu_count() or 1)


class FileThreads:
    """Threads that each own the files routed to them (`submit`)."""

    def __init__(self, threads: int) -> None:
        self.pid = os.getpid()
        self._budget = _fd_budget() // threads  # per thread; raises the soft limit once
        self.limit = self._default_limit = min(DEFAULT_OPEN_DATASETS, self._budget)
        self._pools = [ThreadPoolExecutor(1, thread_name_prefix=f"read-{i}")
                       for i in range(threads)]
        # href -> its thread, given in turn as files are first seen: the files a chunk reads
        # spread evenly over the threads (hashing their names piled up to six of a chunk's
        # hundred files on one thread of 64, and remote reads waited on that thread's queue).
        self._owners: dict[str, int] = {}
        self._owners_lock = threading.Lock()

    def submit(self, href: str, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Run fn(*args) on the thread that owns href (fn may call `open_dataset(href)`)."""
        with self._owners_lock:
            owner = self._owners.get(href)
            if owner is None:
                owner = self._owners[href] = len(self._owners) % len(self._pools)
        return self._pools[owner].submit(_reading, href, self.limit, fn, *args)

    def reserve(self, files: int) -> None:
        """Keep up to `files` open (a request's distinct files), within the fd budget."""
        self.limit = max(self._default_limit, min(files, self._budget))

    def close_datasets(self) -> None:
        """Close every thread's open datasets (after an order: frees their descriptors and
        their blocks in GDAL's cache)."""
        for future in [pool.submit(close_datasets) for pool in self._pools]:
            future.result()
        self.limit = self._default_limit
        with self._owners_lock:
            self._owners.clear()

    def shutdown(self) -> None:
        self.close_datasets()
        for pool in self._pools:
            pool.shutdown()


_threads: FileThreads | None = None
_threads_lock = threading.Lock()


def file_threads() -> FileThreads:
    """This process's reading threads (made anew in a forked child: threads do not survive
    a fork)."""
    global _threads
    with _threads_lock:
        if _threads is None or _threads.pid != os.getpid():
            _threads = FileThreads(read_threads())
        return _threads


def open_dataset(href: str) -> rasterio.io.DatasetReader:
    """This thread's open dataset for href; "path\0level" opens the file's overview level as a
    dataset of its own (`read._averaged_overview`).

    Datasets stay open across requests (the time-series API's readers stay warm); a local file
    replaced since it was opened (another inode, size or modification time) is opened anew, and
    so is a signed remote file once its token was renewed (`network.signed`).
    """
    cache: OrderedDict[str, tuple[rasterio.io.DatasetReader, Any]] = (
        _local.__dict__.setdefault("datasets", OrderedDict()))
    path, sep, level = href.partition("\0")
    target = signed(path)
    stamp = _file_stamp(path) if target == path else target
    entry = cache.get(href)
    if entry is None or entry[0].closed or entry[1] != stamp:
        if entry is not None:
            entry[0].close()
        entry = cache[href] = (open_href(target + sep + level), stamp)
        limit = getattr(_local, "limit", DEFAULT_OPEN_DATASETS)
        while len(cache) > limit:
            cache.popitem(last=False)[1][0].close()
    cache.move_to_end(href)
    return entry[0]


def open_href(href: str) -> rasterio.io.DatasetReader:
    """A new dataset for href: a file, or "path\0level" for one of its overview levels."""
    path, _, level = href.partition("\0")
    return rasterio.open(path, overview_level=int(level)) if level else rasterio.open(path)


def _file_stamp(path: str) -> tuple[int, int, int] | None:
    """What tells a local file from its replacement; None for a remote one (or none there)."""
    if "://" in path or path.startswith("/vsi"):
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


def close_datasets() -> None:
    """Close this thread's open datasets."""
    cache = _local.__dict__.pop("datasets", {})
    for src, _ in cache.values():
        src.close()


def _with_limit(limit: int, fn: Callable[..., T], *args: Any) -> T:
    _local.limit = limit
    return fn(*args)


def _reading(href: str, limit: int, fn: Callable[..., T], *args: Any) -> T:
    """fn(*args) within the open-file limit; a file GDAL cannot read becomes an
    ArchiveDataError naming it and GDAL's reason (which `RasterioIOError` alone does not). The
    file is named by its scene folder and name: the message reaches the person who ordered,
    who has no business with the server's paths."""
    try:
        return _with_limit(limit, fn, *args)
    except SigningError as exc:
        name = "/".join(href.partition("\0")[0].rstrip("/").split("/")[-2:])
        raise ArchiveDataError(f"the archive file {name} cannot be read: {exc}") from exc
    except RasterioError as exc:
        reasons = []
        cause: BaseException | None = exc
        while cause is not None:
            if str(cause) and str(cause) not in reasons:
                reasons.append(str(cause))
            cause = cause.__cause__ or cause.__context__
        name = "/".join(href.partition("\0")[0].rstrip("/").split("/")[-2:])
        raise ArchiveDataError(f"the archive file {name} cannot be read: "
                               f"{'; '.join(reversed(reasons))}") from exc


def _fd_budget() -> int:
    """File descriptors open datasets may use, after raising the soft limit to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return int(soft * _FD_SHARE)


# Windows read while `logging_reads` is active: (href, window), for benchmarks that replay
# exactly what an order read.
_read_log: list[tuple[str, Window]] | None = None


@contextmanager
def logging_reads() -> Iterator[list[tuple[str, Window]]]:
    """Collect the (href, window) of every aligned read of the process meanwhile."""
    global _read_log
    log: list[tuple[str, Window]] = []
    _read_log = log
    try:
        yield log
    finally:
        _read_log = None


def read_logger(href: str) -> Callable[[Window], None] | None:
    """What `aligned.read_aligned` reports a read of href to, if reads are logged."""
    log = _read_log
    if log is None:
        return None
    return lambda window: log.append((href, window))
