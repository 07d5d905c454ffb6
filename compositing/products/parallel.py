"""Writing a product's files side by side.

GDAL encodes a file (DEFLATE, JPEG 2000) without holding Python's lock, so the files of one
product written on threads of their own keep every core of the process busy; written one
after another they kept one. A file's bytes do not depend on what else is written meanwhile.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor


def writer_threads() -> int:
    """Files written at once: the cores this process may run on."""
    return len(os.sched_getaffinity(0)) or 1


def write_all(jobs: Sequence[Callable[[], None]]) -> None:
    """Run every job (each writes its own file), up to `writer_threads()` at once. Every job
    runs to its end; then the first job's error, if any, is raised (the caller discards the
    whole folder: a product is published whole or not at all)."""
    if len(jobs) <= 1:
        for job in jobs:
            job()
        return
    with ThreadPoolExecutor(min(len(jobs), writer_threads()),
                            thread_name_prefix="product-file") as pool:
        futures = [pool.submit(job) for job in jobs]
    for future in futures:
        future.result()
