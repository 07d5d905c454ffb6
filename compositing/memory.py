"""A worker's resident memory bound by the order at hand, not by the orders before it.

Two caches would otherwise decide it. GDAL keeps decoded blocks up to GDAL_CACHEMAX (5 % of
the machine's memory by default, 1.2 GB on 24 GB); chunks on the inputs' block grid
(`archive.blocks`) only need the blocks shared by the chunks of one group, so the hub caps it
(HUB_GDAL_CACHE_MB). Measured on a yearly 10 m order over 20 km: 64, 160 and 400 MB took the
same time and peaked at 1.49, 1.64 and 2.08 GB; 32 MB serialised the reading threads on
GDAL's cache lock (CPU/wall 1.0 over 10 km). And glibc's malloc keeps what was freed
for reuse: with its default dynamic threshold, arrays of up to 32 MB come from heaps that grow
per thread and are not given back, so an order leaves hundreds of MB behind (measured: 912 MB
resident after a 100 m warm-up order, 290 MB after `malloc_trim`). Two arenas, a fixed 1 MB
mmap threshold and a trim after each chunk keep that in check. A lower threshold saves more
(128 KiB: about 150 MB less at the peak of a yearly 10 m order) but every decoded block then
faults in fresh pages: the order took 30 % longer, a third of it in the kernel.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading

# Allocations from this size up are mapped on their own and unmapped when freed.
MMAP_THRESHOLD = 1 << 20
# mallopt parameters (glibc's malloc.h).
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
# Heaps malloc may spread threads over: each keeps its own free memory.
ARENA_MAX = 2
DEFAULT_GDAL_CACHE_MB = 64
# The web process answers the time-series tool: a pixel-year is one block of each of about
# 1,500 files, and the next click near it (within a block: 10 km in a 1024-pixel block at 10 m)
# reads the same blocks. With them cached, a warm series on the demo archive took 0.45 s
# instead of 1.4-1.9 s (`bench/timeseries.py`); each of the web server's processes may hold
# this much more memory for it.
DEFAULT_WEB_GDAL_CACHE_MB = 256

_lock = threading.Lock()
_tuned = False
_capped_by_hub = False  # GDAL_CACHEMAX is the hub's, not the operator's
_web = False


def _libc() -> ctypes.CDLL | None:
    """glibc, if this process runs on it (musl and others have no malloc_trim)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    if libc is None or not hasattr(libc, "malloc_trim") or not hasattr(libc, "mallopt"):
        return None
    return libc


def gdal_cache_mb() -> int:
    """The cap on GDAL's block cache: HUB_GDAL_CACHE_MB (DEFAULT_GDAL_CACHE_MB) in a worker,
    HUB_WEB_GDAL_CACHE_MB (DEFAULT_WEB_GDAL_CACHE_MB) in a web process (`serve_web`)."""
    name, default = (("HUB_WEB_GDAL_CACHE_MB", DEFAULT_WEB_GDAL_CACHE_MB) if _web
                     else ("HUB_GDAL_CACHE_MB", DEFAULT_GDAL_CACHE_MB))
    configured = os.environ.get(name, "")
    return int(configured) if configured.isdigit() and int(configured) > 0 else default


def serve_web() -> None:
    """Mark this process as a web server's (`hub.wsgi`): GDAL's cache gets the web size. GDAL
    sizes its cache at the first block it reads, so this holds if no raster was read yet, also
    where the hub's modules were imported before (`manage.py runserver`); an operator's own
    GDAL_CACHEMAX still wins."""
    global _web
    with _lock:
        _web = True
        if _tuned and _capped_by_hub:
            os.environ["GDAL_CACHEMAX"] = str(gdal_cache_mb())


def tune() -> None:
    """Cap GDAL's block cache and fix malloc's mmap threshold, once per process, before
    the first raster is read (GDAL reads GDAL_CACHEMAX when its cache is first used; an
    operator's own GDAL_CACHEMAX is kept)."""
    global _tuned
    with _lock:
        if _tuned:
            return
        _tuned = True
        if "GDAL_CACHEMAX" not in os.environ:
            os.environ["GDAL_CACHEMAX"] = str(gdal_cache_mb())
            global _capped_by_hub
            _capped_by_hub = True
        libc = _libc()
        if libc is not None:
            libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
            libc.mallopt(_M_ARENA_MAX, ARENA_MAX)


def release_free_memory() -> None:
    """Give the memory malloc holds free back to the system (after an order)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


def peak_rss_mib(reset: bool = False) -> float | None:
    """This process's peak resident memory (VmHWM) in MiB since it started or was last reset;
    `reset`: start a new peak from the current RSS (Linux `clear_refs`). None where /proc has
    no such figures."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            peak = next(int(line.split()[1]) / 1024 for line in status
                        if line.startswith("VmHWM:"))
        if reset:
            with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
                refs.write("5")
    except (OSError, StopIteration):
        return None
    return peak
