"""Open raster files and the threads that read them.

Each file is read by one thread only, the threads taking the files in turn as they are first
seen, and that thread keeps the file open: a rasterio dataset must not be shared between
threads, and opening a COG costs about as much as reading a chunk of it, so a file is opened
once per process, not once per thread that happens to need it. Reads release the GIL, so the
threads decode in parallel, and the caller (the pipeline's next chunk, or the kernels of the
previous one) runs beside them.

Files on disk and files read over the network have threads of their own. A local read keeps a
core busy, so there are about as many of those threads as cores. A remote read mostly waits
for its answer (a round trip of 10-100 ms to a distant store), and only a read in flight on
every file at once keeps that wait from adding up, file after file: with 100 ms of latency,
2 threads read an order 26-31x slower than disk, 64 threads 2.6x and 128 threads 2.2x
(`bench/remote.py`). Those threads start when the first remote file is read, so a hub that
reads only its own disk never has them, or at a worker's start where its archives are remote
(`start_remote`): a thread's first raster costs GDAL and PROJ about 8 ms of set-up with
Python's lock held, a second for 128 threads, which an order should not wait for.

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

import math
import os
import resource
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np
import rasterio
import rasterio.io
from affine import Affine
from rasterio.errors import RasterioError
from rasterio.io import MemoryFile
from rasterio.windows import Window

from compositing import memory
from compositing.archive.network import (
    SigningError,
    configure_network,
    is_remote,
    open_raster,
    signed,
)
from compositing.archive.scenes import ArchiveDataError

T = TypeVar("T")
# Before any file is read through this module, so GDAL's cache starts with the hub's cap and
# remote files are read with the hub's network options.
memory.tune()
configure_network()

# How long a local file's open dataset is used before the file is looked at again (another
# inode, size or time: replaced). A stat per read cost the time series a fifth of its reading
# time; a file replaced meanwhile is read as it was for at most this long.
STAMP_CHECK_S = 1.0
# Open datasets a thread keeps when no request said how many it needs (at most).
DEFAULT_OPEN_DATASETS = 2048
# Share of the file-descriptor limit that open datasets may hold (GDAL, sockets and the
# product's own files need the rest).
_FD_SHARE = 0.6
_local = threading.local()


# Threads for files read over the network, when HUB_REMOTE_READ_THREADS does not say.
DEFAULT_REMOTE_READ_THREADS = 128


def read_threads() -> int:
    """Threads per process reading files on disk: HUB_READ_THREADS, else one per core (at
    least two, so a read overlaps the next)."""
    return _configured("HUB_READ_THREADS") or max(2, os.cpu_count() or 1)


def remote_read_threads() -> int:
    """Threads per process reading files over the network: HUB_REMOTE_READ_THREADS, else
    DEFAULT_REMOTE_READ_THREADS."""
    return _configured("HUB_REMOTE_READ_THREADS") or DEFAULT_REMOTE_READ_THREADS


def _configured(name: str) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.isdigit() else 0


class FileThreads:
    """Threads that each own the files routed to them (`submit`): `threads` for files on disk,
    and `remote_threads` more for remote files, started with the first of those."""

    def __init__(self, threads: int, remote_threads: int) -> None:
        self.pid = os.getpid()
        self._budget = _fd_budget() // threads  # per thread; raises the soft limit once
        self.limit = self._default_limit = min(DEFAULT_OPEN_DATASETS, self._budget)
        self._local = _Group("read", threads)
        self._remote = _Group("remote", remote_threads)
        # href -> its thread, given in turn as files are first seen: the files a chunk reads
        # spread evenly over the threads (hashing their names piled up to six of a chunk's
        # hundred files on one thread of 64, and remote reads waited on that thread's queue).
        self._owners: dict[str, ThreadPoolExecutor] = {}
        self._owners_lock = threading.Lock()

    def submit(self, href: str, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Run fn(*args) on the thread that owns href (fn may call `open_dataset(href)`)."""
        with self._owners_lock:
            owner = self._owners.get(href)
            if owner is None:
                group = self._remote if is_remote(href) else self._local
                owner = self._owners[href] = group.next()
        return owner.submit(_reading, href, self.limit, fn, *args)

    def start_remote(self) -> None:
        """Start every remote-file thread now, each with GDAL's state for its thread made."""
        with self._owners_lock:
            pools = self._remote.start_all()
        for future in [pool.submit(_prepare_thread) for pool in pools]:
            future.result()

    def reserve(self, files: int) -> None:
        """Keep up to `files` open (a request's distinct files), within the fd budget."""
        self.limit = max(self._default_limit, min(files, self._budget))

    def close_datasets(self) -> None:
        """Close every thread's open datasets (after an order: frees their descriptors and
        their blocks in GDAL's cache)."""
        pools = self._local.pools + self._remote.pools
        for future in [pool.submit(close_datasets) for pool in pools]:
            future.result()
        self.limit = self._default_limit
        with self._owners_lock:
            self._owners.clear()

    def shutdown(self) -> None:
        self.close_datasets()
        for pool in self._local.pools + self._remote.pools:
            pool.shutdown()


class _Group:
    """Single-thread executors, started as needed up to `size`, taken in turn."""

    def __init__(self, name: str, size: int) -> None:
        self.name, self.size = name, max(1, size)
        self.pools: list[ThreadPoolExecutor] = []
        self._files = 0

    def next(self) -> ThreadPoolExecutor:
        """The thread for the next new file (the caller holds the owners' lock)."""
        index = self._files % self.size
        self._files += 1
        if index == len(self.pools):
            self._add()
        return self.pools[index]

    def start_all(self) -> list[ThreadPoolExecutor]:
        while len(self.pools) < self.size:
            self._add()
        return list(self.pools)

    def _add(self) -> None:
        self.pools.append(ThreadPoolExecutor(
            1, thread_name_prefix=f"{self.name}-{len(self.pools)}", initializer=_prepare_thread))


_prepared = threading.local()


def _prepare_thread() -> None:
    """Make GDAL's and PROJ's state for this thread, as its first raster would: by writing and
    reading back a small tiled, compressed GeoTIFF in UTM, in memory. A thread's first
    raster costs about 8 ms, most of it PROJ looking up its first UTM system (another zone
    then costs about 2 ms), all of it with Python's lock held: 128 new threads opening their
    first files made every other reading thread wait about a second."""
    if getattr(_prepared, "done", False):
        return
    try:
        with MemoryFile() as mem:
            with mem.open(driver="GTiff", width=256, height=256, count=1, dtype="uint16",
                          crs="EPSG:32631", transform=Affine(10, 0, 500000, 0, -10, 5000000),
                          tiled=True, blockxsize=256, blockysize=256,
                          compress="deflate") as dst:
                dst.write(np.zeros((1, 256, 256), np.uint16))
            with mem.open() as src:
                src.read(1)
    except Exception:  # noqa: BLE001 - an initializer that raises breaks its executor for
        return  # good; unprepared, the thread only pays the set-up at its first file
    _prepared.done = True


_threads: FileThreads | None = None
_threads_lock = threading.Lock()


def file_threads() -> FileThreads:
    """This process's reading threads (made anew in a forked child: threads do not survive
    a fork)."""
    global _threads
    with _threads_lock:
        if _threads is None or _threads.pid != os.getpid():
            _threads = FileThreads(read_threads(), remote_read_threads())
        return _threads


def open_dataset(href: str) -> rasterio.io.DatasetReader:
    """This thread's open dataset for href; "path\0level" opens the file's overview level as a
    dataset of its own (`read._averaged_overview`).

    Datasets stay open across requests (the time-series API's readers stay warm); a local file
    replaced since it was opened (another inode, size or modification time) is opened anew, and
    so is a signed remote file once its token was renewed (`network.signed`).
    """
    cache: OrderedDict[str, tuple[rasterio.io.DatasetReader, Any, float]] = (
        _local.__dict__.setdefault("datasets", OrderedDict()))
    entry = cache.get(href)
    now = time.monotonic()
    if entry is not None and not entry[0].closed and now - entry[2] < STAMP_CHECK_S:
        cache.move_to_end(href)
        return entry[0]
    path, sep, level = href.partition("\0")
    target = signed(path)
    stamp = _file_stamp(path) if target == path else target
    if entry is None or entry[0].closed or entry[1] != stamp:
        if entry is not None:
            entry[0].close()
        entry = (open_href(target + sep + level), stamp, now)
    # A local file is looked at again after STAMP_CHECK_S; a remote one at every use (its
    # signed address may have been renewed).
    cache[href] = (entry[0], entry[1], now if entry[1] is not None and target == path
                   else -math.inf)
    cache.move_to_end(href)
    limit = getattr(_local, "limit", DEFAULT_OPEN_DATASETS)
    while len(cache) > limit:
        cache.popitem(last=False)[1][0].close()
    return entry[0]


def open_href(href: str) -> rasterio.io.DatasetReader:
    """A new dataset for href: a file, or "path\0level" for one of its overview levels."""
    path, _, level = href.partition("\0")
    src = open_raster(path, overview_level=int(level)) if level else open_raster(path)
    # Every read asks for the band's mask flags, which GDAL finds in the file's header the
    # first time, holding Python's lock (rasterio does not release it there). Asked now,
    # the header is at hand; asked at the first read of a remote file opened ahead, GDAL
    # fetched the header again while every other reading thread waited (a round trip each,
    # one file after the other).
    _ = src.mask_flag_enums
    return src


def _file_stamp(path: str) -> tuple[int, int, int] | None:
    """What tells a local file from its replacement; None for a remote one (or none there)."""
    if is_remote(path) or path.startswith("/vsi"):
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


def close_datasets() -> None:
    """Close this thread's open datasets."""
    cache = _local.__dict__.pop("datasets", {})
    for src, *_ in cache.values():
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

