"""Is the first order of a new worker process as fast as its second? (issue 12)

Each run starts a fresh Python process that, like a worker, imports the hub, optionally warms
up (untimed, printed apart), then runs the same small order twice (search, read, composite,
write, publish: `run_mosaic` through the hub's embedded STAC API) and prints the wall time of
both. Cases:

- cold: an empty numba cache (NUMBA_CACHE_DIR in a new temporary folder) and no warm-up: a
  fresh install that did not compile its kernels; the first order compiles them;
- cached: numba's cache filled (`python -m compositing.selection.warmup`, as `make install`
  runs it) and no warm-up: the first order loads the kernels from the cache;
- kernels: filled cache, `compile_kernels()` at process start;
- worker: filled cache, `services.warm_up()` at process start, as each Celery pool process runs
  it (workers/celery.py): the kernels and one archive search, which starts the embedded STAC
  API and loads the code behind it;
- cold worker: an empty cache and `services.warm_up()` at start (a worker after the kernels'
  code changed): the warm-up compiles, the orders do not.

Runs of the warm cases are repeated (--repeat) and their medians printed: the machine is shared
and a small order lasts half a second. The order: June 2023 at 20 m, bands B02, B03, B04, B08
with valid_obs and method, over a square around the demo centre (2 km by default), on a year
of demo scenes covering it (built once under var/bench).

    DEBUG=1 .venv/bin/python bench/first_order.py [--side-m 2000] [--resolution 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _demo_hub import REPO, ensure_extent_archive, setup_django
from pipeline import ORDER, aoi_square, covering_extent_km

CASES = (  # label, empty numba cache, warm-up at process start (None, "kernels", "worker")
    ("cold", True, None),
    ("cached", False, None),
    ("kernels", False, "kernels"),
    ("worker", False, "worker"),
    ("cold worker", True, "worker"),
)
DONE_WHEN = 1.5  # issue 12: the first order within 1.5x of the second


def child(archive: Path, side_m: float, resolution: int, warm_up: str | None) -> None:
    """The warm-up asked for, then two identical orders; their seconds as one JSON line."""
    setup_django(archive)
    from compositing.orders.spec import parse_spec
    from compositing.pipeline import run_mosaic
    from compositing.selection.warmup import compile_kernels
    from hub.mosaics import services

    t0 = time.perf_counter()
    if warm_up == "kernels":
        compile_kernels()
    elif warm_up == "worker":
        services.warm_up()
    warm_s = time.perf_counter() - t0
    spec = parse_spec({**ORDER, "aoi": aoi_square(side_m), "start": "2023-06-01",
                       "period": "month", "resolution": resolution})
    walls = []
    with tempfile.TemporaryDirectory() as out:
        for n in range(2):
            t0 = time.perf_counter()
            # The settings per order, as the worker's service asks for them per request (the
            # first call starts the embedded STAC API).
            run_mosaic(spec, services.mosaic_settings(), Path(out), f"order{n}")
            walls.append(time.perf_counter() - t0)
    print(json.dumps({"warm_up": warm_s if warm_up else None, "first": walls[0],
                      "second": walls[1]}))


def run(archive: Path, side_m: float, resolution: int, empty_cache: bool,
        warm_up: str | None) -> dict:
    """One run in a fresh process (with a new, empty NUMBA_CACHE_DIR for the cold cases)."""
    command = [sys.executable, __file__, "--child", str(archive), "--side-m", str(side_m),
               "--resolution", str(resolution)] + (["--warm-up", warm_up] if warm_up else [])
    with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache:
        env = {**os.environ, "DEBUG": "1"}
        if empty_cache:
            env["NUMBA_CACHE_DIR"] = cache
        out = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env)
    if out.returncode:
        sys.exit(f"run failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median(runs: list[dict], key: str) -> float | None:
    values = [r[key] for r in runs if r[key] is not None]
    return statistics.median(values) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side-m", type=float, default=2000, help="side of the square AOI")
    parser.add_argument("--resolution", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each case with a filled cache (cold cases run once)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--warm-up", choices=("kernels", "worker"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.side_m, args.resolution, args.warm_up)
        return
    extent = covering_extent_km(aoi_square(args.side_m))
    archive = ensure_extent_archive(extent, extent)
    # The project's numba cache filled as `make install` does, for the cases that use it.
    subprocess.run([sys.executable, "-m", "compositing.selection.warmup"], check=True,
                   cwd=REPO, capture_output=True)
    print(f"\nThe same order twice in a fresh process: June 2023, {args.resolution} m, "
          f"{args.side_m:g} m square, {os.cpu_count()} CPUs; medians of {args.repeat} runs "
          f"(cold cases: 1). Load average before: {os.getloadavg()[0]:.1f}.")
    head = (f"{'case':>11} {'runs':>4} {'warm-up s':>9} {'first s':>8} {'second s':>8} "
            f"{'first/second':>12}  {'ratio per run':<20}")
    print(head)
    print("-" * len(head))
    for label, empty_cache, warm_up in CASES:
        runs = [run(archive, args.side_m, args.resolution, empty_cache, warm_up)
                for _ in range(1 if empty_cache else args.repeat)]
        ratios = [r["first"] / r["second"] for r in runs]
        warm_s = _median(runs, "warm_up")
        warm_text = f"{warm_s:9.2f}" if warm_s is not None else f"{'-':>9}"
        first, second = _median(runs, "first"), _median(runs, "second")
        print(f"{label:>11} {len(runs):4d} {warm_text} {first:8.2f} {second:8.2f} "
              f"{statistics.median(ratios):12.2f}  {' '.join(f'{x:.2f}' for x in ratios)}",
              flush=True)
    print(f"Done when (issue 12): the worker's first order within {DONE_WHEN}x of its second. "
          f"Load average after: {os.getloadavg()[0]:.1f}.")


if __name__ == "__main__":
    main()
