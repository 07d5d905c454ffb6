"""A whole request (search -> read -> composite -> write) on the demo archive.

Prints output Mpx/s, the share of time per phase and the peak RSS of the process, for a
base AOI and one 16x larger, each in a fresh process; with chunked streaming the peak RSS must
stay the same (bounded by chunk size and observation count, not by AOI size).

    DEBUG=1 .venv/bin/python bench/pipeline.py [--chunk 128] [--side-km 1.4]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _demo_hub import REPO, ensure_archive, setup_django

PHASES = ("search", "read", "composite", "write", "publish")


def child(side_km: float, chunk: int) -> None:
    """Run one request in this process and print its figures as JSON."""
    setup_django()
    from dataclasses import replace

    from pyproj import Transformer

    from compositing.demo.archive import DEMO_CENTER_32629
    from compositing.orders.spec import parse_spec
    from compositing.pipeline import run_mosaic
    from hub.mosaics.services import mosaic_settings

    half = side_km * 500
    to_lonlat = Transformer.from_crs(32629, 4326, always_xy=True)
    cx, cy = DEMO_CENTER_32629
    west, south = to_lonlat.transform(cx - half, cy - half)
    east, north = to_lonlat.transform(cx + half, cy + half)
    spec = parse_spec({"aoi": [west, south, east, north], "start": "2023-06-01",
                       "period": "month", "resolution": 10, "crs": "EPSG:32629",
                       "bands": ["B02", "B03", "B04", "B08"], "aux": ["valid_obs", "method"]})
    settings = replace(mosaic_settings(), chunk_size=chunk)
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        result = run_mosaic(spec, settings, Path(out), "bench", timings=timings)
        total = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"px": result.grid.width * result.grid.height, "seconds": total,
                      "timings": timings, "peak_mb": peak_mb, "obs": result.observations}))


def run(side_km: float, chunk: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", "--side-km", str(side_km),
                          "--chunk", str(chunk)], capture_output=True, text=True, check=True,
                         cwd=REPO, env={**os.environ, "DEBUG": "1"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side-km", type=float, default=1.4)
    parser.add_argument("--chunk", type=int, default=128)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.side_km, args.chunk)
        return
    ensure_archive()
    run(0.5, args.chunk)  # warm numba's cache outside the measured runs
    print(f"{'AOI':>10} {'Mpx':>6} {'obs':>4} {'Mpx/s':>7} "
          + " ".join(f"{p:>9}" for p in PHASES) + f" {'peak MB':>8}")
    rows = []
    for scale in (1, 4):  # the second AOI is 4x the side, 16x the area
        side = args.side_km * scale
        r = run(side, args.chunk)
        rows.append(r)
        shares = " ".join(f"{100 * r['timings'].get(p, 0) / r['seconds']:8.1f}%" for p in PHASES)
        print(f"{side:8.1f}km {r['px'] / 1e6:6.2f} {r['obs']:4d} "
              f"{r['px'] / 1e6 / r['seconds']:7.2f} {shares} {r['peak_mb']:8.0f}")
    print(f"peak RSS ratio (16x AOI / base): {rows[1]['peak_mb'] / rows[0]['peak_mb']:.2f}")


if __name__ == "__main__":
    main()
