"""One order read from local disk, from nginx over HTTP and from an S3 API, with injected latency.

The monthly 10 m order (June 2023, bands B02,B03,B04,B08, aux valid_obs,method) over a square
of each --side-km around the demo centre (a table each: the round trips an order waits for
before its first chunk weigh more in a small order), from the year demo archive of
bench/pipeline.py, runs in a fresh process per row (after a warm-up order read from disk and a
worker's warm-up, so that compiled kernels, GDAL's drivers, the STAC API and the reading
threads are not timed):

- local: the archive's files on disk, the hub's default reading threads;
- nginx / s3: the same files served by nginx (HTTP Range) or by moto's S3 server, both behind a
  proxy on loopback (tests/faultproxy.py) that holds every request --latency-ms before passing
  it on: a round trip to a distant store. Once per --remote-threads (HUB_REMOTE_READ_THREADS,
  "default" for the hub's own): reads of different files in flight at once.

A "2nd order" row repeats a remote row in a process that composed another order over the same
tiles before (May), as a long-running worker has: the chunk layout's look at the files is then
known (`archive/blocks.py`); the server's figures are not shown for it (they would count the
order before). Per row: wall seconds and the ratio to the local row, the requests the server
answered, the most in flight at once, the MB it sent (headers included) and the MB of the
windows the order needed: the compressed bytes of the COG blocks its windows meet (each block
once, from the files' tile byte counts), and their ratio (goal <= 1.5). A remote read must also
give the local product: the rows compare their rasters with the local row's.

    DEBUG=1 .venv/bin/python bench/remote.py [--side-km 5.12,10.24] [--latency-ms 100]
                                             [--remote-threads default,2,64]
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _demo_hub import REPO, ensure_extent_archive

sys.path.insert(0, str(REPO))

START = "2023-06-01"
ORDER = {"crs": "EPSG:32629", "bands": ["B02", "B03", "B04", "B08"],
         "aux": ["valid_obs", "method"], "period": "month", "resolution": 10,
         "start": START}
ARCHIVE_KM = 10.49  # bench/pipeline.py's 4x archive


def child(archive: Path, side_km: float, archives_file: str, out: Path) -> None:
    """One order in this process after a warm-up read from disk; print its figures as JSON."""
    from _demo_hub import setup_django
    from pipeline import aoi_square

    setup_django(archive)
    from django.conf import settings

    from compositing.archive.archives import load_archives
    from compositing.archive.files import logging_reads
    from compositing.archive.read import close_datasets
    from compositing.orders.spec import parse_spec
    from compositing.pipeline import run_mosaic
    from compositing.selection.warmup import compile_kernels
    from hub.mosaics.services import mosaic_settings, warm_up

    compile_kernels()
    with tempfile.TemporaryDirectory() as warm:
        run_mosaic(parse_spec({**ORDER, "aoi": aoi_square(100)}), mosaic_settings(),
                   Path(warm), "warm-up")
    close_datasets()
    if archives_file:
        settings.HUB_ARCHIVES = load_archives("remote", archives_file)
        warm_up()  # as a worker does at its start: here, the threads that read remote files
        if os.environ.get("BENCH_SERVED_BEFORE"):
            # A worker that has composed an order over these tiles before (May: other files,
            # the same tiles), as a long-running worker has.
            with tempfile.TemporaryDirectory() as before:
                run_mosaic(parse_spec({**ORDER, "start": "2023-05-01",
                                       "aoi": aoi_square(side_km * 1000)}),
                           mosaic_settings(), Path(before), "before")
            close_datasets()
    spec = parse_spec({**ORDER, "aoi": aoi_square(side_km * 1000)})
    timings: dict[str, float] = {}
    with logging_reads() as log:
        t0, cpu0 = time.perf_counter(), time.process_time()
        result = run_mosaic(spec, mosaic_settings(), out, "bench", timings=timings)
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    close_datasets()
    print(json.dumps({"wall": wall, "cpu": cpu, "timings": timings,
                      "windows": [(href, list(w.flatten())) for href, w in log],
                      "folder": str(result.folder)}))


def _tile_bytes(path: Path) -> tuple[int, int, int, list[int]]:
    """Tile width, height, image width and the compressed size of each tile of the first
    image of a (Big)TIFF, from its tags."""
    with path.open("rb") as f:
        data = f.read(1 << 20)
    order = "<" if data[:2] == b"II" else ">"
    big = struct.unpack(order + "H", data[2:4])[0] == 43
    if big:
        offset = struct.unpack(order + "Q", data[8:16])[0]
        count, entry, head = struct.unpack(order + "Q", data[offset:offset + 8])[0], 20, 8
    else:
        offset = struct.unpack(order + "I", data[4:8])[0]
        count, entry, head = struct.unpack(order + "H", data[offset:offset + 2])[0], 12, 2
    sizes = {1: 1, 3: 2, 4: 4, 16: 8}
    formats = {1: "B", 3: "H", 4: "I", 16: "Q"}
    tags: dict[int, list[int]] = {}
    for i in range(count):
        at = offset + head + i * entry
        tag, kind = struct.unpack(order + "HH", data[at:at + 4])
        n = struct.unpack(order + ("Q" if big else "I"), data[at + 4:at + (12 if big else 8)])[0]
        value_at = at + (12 if big else 8)
        nbytes = sizes.get(kind, 1) * n
        if nbytes > (8 if big else 4):
            value_at = struct.unpack(order + ("Q" if big else "I"),
                                     data[value_at:value_at + (8 if big else 4)])[0]
            if value_at + nbytes > len(data):
                with path.open("rb") as f:
                    f.seek(value_at)
                    raw = f.read(nbytes)
                value_at, blob = 0, raw
            else:
                blob = data
        else:
            blob = data
        if kind in formats:
            tags[tag] = list(struct.unpack(order + formats[kind] * n,
                                           blob[value_at:value_at + nbytes]))
    return tags[322][0], tags[323][0], tags[256][0], tags[325]


def needed_bytes(windows: list[tuple[str, list[float]]], to_local: dict[str, str]) -> int:
    """The compressed bytes of the blocks the windows meet, each block once."""
    blocks: set[tuple[str, int]] = set()
    layout: dict[str, tuple[int, int, int, list[int]]] = {}
    for href, (col, row, width, height) in windows:
        path = href
        for prefix, local in to_local.items():
            if href.startswith(prefix):
                path = local + href[len(prefix):]
        if "\0" in path:  # an overview level: not in this order (10 m)
            continue
        if path not in layout:
            layout[path] = _tile_bytes(Path(path))
        tw, th, image_w, _ = layout[path]
        across = -(-image_w // tw)
        for r in range(int(row) // th, (int(row) + int(height) - 1) // th + 1):
            for c in range(int(col) // tw, (int(col) + int(width) - 1) // tw + 1):
                blocks.add((path, r * across + c))
    return sum(layout[path][3][index] for path, index in blocks)


def run(archive: Path, side_km: float, archives_file: str, threads: int | None,
        out: Path, served_before: bool = False) -> dict[str, Any]:
    env = {**os.environ, "DEBUG": "1"}
    env.pop("BENCH_SERVED_BEFORE", None)
    if served_before:
        env["BENCH_SERVED_BEFORE"] = "1"
    env.pop("HUB_REMOTE_READ_THREADS", None)
    if threads:
        env["HUB_REMOTE_READ_THREADS"] = str(threads)
    proc = subprocess.run([sys.executable, __file__, "--child", str(archive), str(side_km),
                           archives_file, str(out)], capture_output=True, text=True,
                          cwd=REPO, env=env)
    if proc.returncode:
        sys.exit(f"order failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side-km", default="5.12,10.24",
                        help="sides of the square orders, comma-separated (at most 10.49)")
    parser.add_argument("--latency-ms", type=float, default=100)
    parser.add_argument("--remote-threads", default="default",
                        help="HUB_REMOTE_READ_THREADS of the remote rows, comma-separated")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        archive, side, file, out = args.child
        child(Path(archive), float(side), file, Path(out))
        return
    from tests.archive_files import s3_fields, write_archives_file
    from tests.faultproxy import Action, fault_proxy
    from tests.s3server import REGION, s3_serving
    from tests.webserver import nginx_serving

    started = time.perf_counter()
    sides = [float(side) for side in args.side_km.split(",")]
    thread_counts = [None if t == "default" else int(t) for t in args.remote_threads.split(",")]
    archive = ensure_extent_archive(ARCHIVE_KM, ARCHIVE_KM)
    delay = Action(delay_s=args.latency_ms / 1000)
    rows: dict[float, list[Row]] = {side: [] for side in sides}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for side in sides:
            rows[side].append(("local disk", None, run(archive, side, "", None,
                                                       tmp / f"local{side}"), None))
        root = str(archive.resolve())
        with nginx_serving(archive.resolve(), tmp / "nginx") as web, \
                fault_proxy(int(web.base.rsplit(":", 1)[1]), lambda *a: delay) as proxy:
            file = write_archives_file(tmp / "nginx.toml", "remote", preset="local",
                                       href_rewrites=[[f"{root}/", f"{proxy.base}/"]])
            served_rows(rows, "nginx", args.latency_ms, proxy, web.pid, archive, file,
                        thread_counts, tmp)
        print("uploading the archive to the S3 server ...", flush=True)
        with s3_serving(archive.resolve() / "sentinel-2-l2a", tmp / "s3", prefix="l2a") as s3, \
                fault_proxy(int(s3.endpoint.rsplit(":", 1)[1]), lambda *a: delay) as proxy:
            file = write_archives_file(
                tmp / "s3.toml", "remote", preset="local",
                href_rewrites=[[f"{root}/sentinel-2-l2a/", f"s3://{s3.bucket}/l2a/"]],
                file_prefixes=[f"s3://{s3.bucket}/"],
                **s3_fields(proxy.base.removeprefix("http://"), REGION,
                            AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench"))
            served_rows(rows, "s3", args.latency_ms, proxy, s3.pid, archive, file,
                        thread_counts, tmp)
        for side in sides:
            print_table(side, args.latency_ms, rows[side])
        print("plan s: search and chunk layout (opens the central granule's files); read s: "
              "time the kernels waited for reads; cpu s: CPU the order's process used; server "
              "cpu s: CPU the server's processes and the latency proxy used meanwhile, on the "
              "order's own cores. 2nd order: the same order in a process that composed one "
              "over the same tiles before (May), as a long-running worker has.")
    print(f"\nbench/remote.py took {(time.perf_counter() - started) / 60:.1f} min")


# (label, HUB_REMOTE_READ_THREADS or None, the child's figures, for a served row the requests
# answered, bytes sent, most in flight and the server's CPU seconds)
Row = tuple[str, "int | None", dict[str, Any], "tuple[int, int, int, float] | None"]


def served_rows(rows: dict[float, list[Row]], server: str, latency_ms: float, proxy: Any,
                server_pid: int, archive: Path, file: Path, thread_counts: list[int | None],
                tmp: Path) -> None:
    """Per order size, a row per thread count read through the proxy in front of a server,
    and the order as a worker that composed one over the same tiles before composes it."""
    for side in rows:
        for threads in thread_counts:
            rows[side].append(served_row(f"{server} +{latency_ms:g} ms", proxy, server_pid,
                                         archive, side, file, threads,
                                         tmp / f"{server}{side}-{threads}"))
        # The server's figures would count the order before it too: not shown.
        rows[side].append((f"{server}, 2nd order", None,
                           run(archive, side, str(file), None, tmp / f"{server}{side}-2nd",
                               served_before=True), None))


def served_row(label: str, proxy: Any, server_pid: int, archive: Path, side: float,
               file: Path, threads: int | None, out: Path) -> Row:
    """One order read through the proxy in front of a server, with what the server did."""
    before = (proxy.forwarded, proxy.bytes_out, tree_cpu_s(server_pid) + proxy.cpu_s())
    proxy.most_in_flight = 0
    r = run(archive, side, str(file), threads, out)
    server_cpu = tree_cpu_s(server_pid) + proxy.cpu_s() - before[2]
    return (label, threads, r, (proxy.forwarded - before[0], proxy.bytes_out - before[1],
                                proxy.most_in_flight, server_cpu))


def print_table(side: float, latency_ms: float, rows: list[Row]) -> None:
    import numpy as np

    from tests.archive_files import rasters

    local = rows[0][2]
    needed = needed_bytes(local["windows"], {})
    reference = rasters(Path(local["folder"]))
    print(f"\nMonthly 10 m order over {side:g} km (June 2023, {len(local['windows'])} windows "
          f"read, {needed / 2**20:.1f} MiB of compressed blocks needed), {os.cpu_count()} CPUs; "
          f"proxy latency {latency_ms:g} ms per request.")
    head = (f"{'source':>16} {'threads':>10} {'wall s':>7} {'x local':>7} {'plan s':>6} "
            f"{'read s':>6} {'cpu s':>6} {'server cpu s':>12} {'requests':>8} "
            f"{'in flight':>9} {'MiB sent':>8} {'sent/needed':>11} {'same pixels':>11}")
    print(head)
    print("-" * len(head))
    for label, threads, r, served in rows:
        same = all(np.array_equal(v, rasters(Path(r["folder"]))[k])
                   for k, v in reference.items())
        shown = str(threads or f"{_default_threads(r is not local)} (def.)")
        phases = (f"{r['wall']:7.2f} {r['wall'] / local['wall']:7.2f} "
                  f"{r['timings']['search']:6.2f} {r['timings']['read']:6.2f} {r['cpu']:6.2f}")
        if served is None:
            print(f"{label:>16} {shown:>10} {phases} {'-':>12} {'-':>8} {'-':>9} {'-':>8} "
                  f"{'-':>11} {'yes' if same else 'NO':>11}")
            continue
        answered, sent, flight, server_cpu = served
        print(f"{label:>16} {shown:>10} {phases} {server_cpu:12.2f} {answered:8d} {flight:9d} "
              f"{sent / 2**20:8.1f} {sent / needed:11.2f} {'yes' if same else 'NO':>11}")


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user and system) a process and its descendants have used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        pending += [int(c) for c in children]
    return total


def _default_threads(remote: bool) -> int:
    from compositing.archive.files import read_threads, remote_read_threads

    return remote_read_threads() if remote else read_threads()


if __name__ == "__main__":
    main()
