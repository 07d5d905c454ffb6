"""Files are read by the thread that owns them, stay open across requests, and are opened
anew when replaced on disk."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import rasterio
from affine import Affine

from compositing.archive import files


def write(path, value: int) -> None:
    with rasterio.open(path, "w", driver="GTiff", width=8, height=8, count=1, dtype="uint16",
                       crs="EPSG:32629", transform=Affine(10, 0, 0, 0, -10, 80)) as dst:
        dst.write(np.full((8, 8), value, np.uint16), 1)


def first_value(href: str) -> tuple[int, int, str]:
    src = files.open_dataset(href)
    return id(src), int(src.read(1)[0, 0]), threading.current_thread().name


def test_a_file_stays_open_on_its_thread_until_replaced(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "STAMP_CHECK_S", 0.2)
    href = str(tmp_path / "band.tif")
    write(href, 7)
    threads = files.FileThreads(2, 2)
    try:
        first = threads.submit(href, first_value, href).result()
        again = threads.submit(href, first_value, href).result()
        assert again == first  # the same open dataset, on the same thread
        # A new file written and renamed over the old one, as an archive replaces an asset:
        # read as it was until the file is looked at again, then anew.
        write(href + ".new", 9)
        os.replace(href + ".new", href)
        assert threads.submit(href, first_value, href).result() == first
        time.sleep(0.25)
        replaced = threads.submit(href, first_value, href).result()
        assert replaced[1:] == (9, first[2])
    finally:
        threads.shutdown()


def test_the_least_recently_used_files_close_beyond_the_limit(tmp_path):
    hrefs = [str(tmp_path / f"{i}.tif") for i in range(4)]
    for i, href in enumerate(hrefs):
        write(href, i)

    def open_all(limit: int) -> list[bool]:
        files._local.limit = limit
        try:
            opened = [files.open_dataset(h) for h in hrefs]
            files.open_dataset(hrefs[0])  # opened anew: it was closed
            return [src.closed for src in opened]
        finally:
            files.close_datasets()
            del files._local.limit

    # Run on a thread of its own, so this test's open datasets are its own.
    result: list[list[bool]] = []
    worker = threading.Thread(target=lambda: result.append(open_all(2)))
    worker.start()
    worker.join()
    # With a limit of two, opening the third and fourth closed the first two; reopening the
    # first closed the third.
    assert result == [[True, True, True, False]]


def test_the_files_of_a_request_spread_evenly_over_the_threads(tmp_path):
    """A file keeps its thread; new files go to the threads in turn, so no thread queues
    several of a chunk's files while another has none (remote reads wait on the queue)."""
    hrefs = []
    for n in range(8):
        hrefs.append(str(tmp_path / f"b{n}.tif"))
        write(hrefs[-1], n)
    threads = files.FileThreads(4, 4)
    try:
        owners = [threads.submit(h, first_value, h).result()[2] for h in hrefs]
        assert sorted(owners.count(name) for name in set(owners)) == [2, 2, 2, 2]
        again = [threads.submit(h, first_value, h).result()[2] for h in reversed(hrefs)]
        assert again == owners[::-1]  # each file stays on its thread
    finally:
        threads.shutdown()


def test_remote_files_have_threads_of_their_own_started_by_the_first_of_them(tmp_path):
    """Local files share the few threads sized to the cores; remote files are spread over
    many more, which a hub that reads only its disk never starts."""
    local = []
    for n in range(3):
        local.append(str(tmp_path / f"b{n}.tif"))
        write(local[-1], n)
    remote = [f"https://archive.example/S2A_{n}/B04.tif" for n in range(5)] + [
        "s3://bucket/S2B/B08.tif", "/vsicurl/https://archive.example/S2C/SCL.tif"]
    threads = files.FileThreads(2, 6)
    try:
        local_owners = [threads.submit(h, first_value, h).result()[2] for h in local]
        assert all(name.startswith("read-") for name in local_owners)
        assert threads._remote.pools == []  # none started

        def thread_name() -> str:  # routing only: nothing is fetched
            return threading.current_thread().name

        remote_owners = [threads.submit(h, thread_name).result() for h in remote]
        assert remote_owners == [f"remote-{i % 6}_0" for i in range(7)]
        assert [threads.submit(h, first_value, h).result()[2] for h in local] == local_owners
    finally:
        threads.shutdown()


def test_starting_the_remote_threads_prepares_each_of_them():
    threads = files.FileThreads(2, 3)
    try:
        threads.start_remote()
        assert len(threads._remote.pools) == 3

        def prepared() -> tuple[str, bool]:
            return threading.current_thread().name, getattr(files._prepared, "done", False)

        assert [threads.submit(f"https://archive.example/{n}.tif", prepared).result()
                for n in range(3)] == [(f"remote-{n}_0", True) for n in range(3)]
    finally:
        threads.shutdown()
