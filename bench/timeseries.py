"""Latency of the time-series tool: one pixel over a year of monthly composites, and its
raw observations, through `GET /api/v1/timeseries` as the browser page calls it.

The view runs in this process on the default demo archive (a year of 2023, three tiles; built
on first use), searching it through the hub's own STAC API over loopback HTTP as the web process
does. Every case is timed cold (first call in the process for that window) and then warm
(median of further calls at neighbouring pixels, so no result is cached; GDAL's cache keeps the
decoded blocks, as it does for a person clicking around one place: on the demo archive every
file is one block, so set HUB_WEB_GDAL_CACHE_MB=8 to see a click far from the last one).

The last case is what the page does: the composite series and the observations of its whole
periods asked at once, each answered by one of two processes (as by the two web workers of
`make run`); its time is the wall time of the pair, after two warming rounds.

    DEBUG=1 .venv/bin/python bench/timeseries.py [--repeat 5] [--only 'month 1x1']
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import time

from _demo_hub import ARCHIVE, ensure_archive, setup_django

CASES = [  # label, parameters beyond the point and the year
    ("composite month 1x1, 4 bands", {"kind": "composite", "window": "1"}),
    ("composite month 3x3, 4 bands", {"kind": "composite", "window": "3"}),
    ("composite month 1x1, 12 bands", {"kind": "composite", "window": "1", "bands": ""}),
    ("composite month 1x1, CSV", {"kind": "composite", "window": "1", "format": "csv"}),
    ("observations 1x1, 4 bands", {"kind": "observations", "window": "1"}),
    ("composite tenday 1x1, 4 bands", {"kind": "composite", "window": "1",
                                       "period": "tenday"}),
]


PAIR = ({"kind": "composite", "window": "1"},
        {"kind": "observations", "window": "1", "extent": "periods"})


def call(params: dict[str, str], step: int) -> tuple[float, int]:
    """One request to the view at a pixel `step` pixels from the demo centre: seconds, rows."""
    from django.contrib.auth.models import User
    from django.test import RequestFactory
    from pyproj import Transformer

    from compositing.demo.archive import DEMO_CENTER_32629
    from hub.mosaics.timeseries_api import timeseries

    to_lonlat = Transformer.from_crs(32629, 4326, always_xy=True)
    lon, lat = to_lonlat.transform(DEMO_CENTER_32629[0] + 60.0 * step,
                                   DEMO_CENTER_32629[1] - 60.0 * step)
    query = {"lon": f"{lon:.6f}", "lat": f"{lat:.6f}", "start": "2023-01-01",
             "end": "2023-12-31", "period": "month", "resolution": "20",
             "bands": "B02,B03,B04,B08", "format": "json", **params}
    request = RequestFactory().get("/api/v1/timeseries", query)
    request.user = User(username="bench")  # unsaved: the view only asks for someone logged in
    began = time.perf_counter()
    response = timeseries(request)
    seconds = time.perf_counter() - began
    assert response.status_code == 200, response.content[:300]
    if params.get("format") == "csv":
        return seconds, response.content.count(b"\n") - 1
    return seconds, len(json.loads(response.content)["rows"])


def _serve() -> None:
    """A pool process: Django on the archive, as a web worker."""
    from compositing import memory

    memory.serve_web()
    setup_django()
    from hub.stac.embedded import stac_api_url

    stac_api_url()


def both_at_once(repeat: int) -> tuple[float, float, int]:
    """The page's pair of requests on two processes: cold and median warm wall seconds."""
    with multiprocessing.get_context("spawn").Pool(2, initializer=_serve) as pool:
        def pair(step: int) -> float:
            began = time.perf_counter()
            pending = [pool.apply_async(call, (params, step)) for params in PAIR]
            for result in pending:
                result.get()
            return time.perf_counter() - began

        cold = pair(0)
        pair(1)  # each process has now answered both kinds, at least once
        warm = [pair(i) for i in range(2, repeat + 2)]
    return cold, statistics.median(warm), max(warm)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="warm calls per case")
    parser.add_argument("--only", default="", help="run the cases whose label contains this")
    args = parser.parse_args()
    ensure_archive()
    from compositing import memory

    memory.serve_web()  # as the web process (hub.wsgi): its GDAL cache
    setup_django()
    from hub.stac.embedded import stac_api_url

    stac_api_url()  # start the loopback STAC server outside the timings
    print(f"archive {ARCHIVE} · one pixel at 20 m, 2023-01-01 to 2023-12-31 · "
          f"{args.repeat} warm calls per case · GDAL cache {memory.gdal_cache_mb()} MB "
          "(HUB_WEB_GDAL_CACHE_MB) · "
          f"load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs (figures grow with it)")
    print(f"{'case':34} {'rows':>5} {'cold s':>8} {'warm median s':>14} {'warm max s':>11}")
    for label, params in [c for c in CASES if args.only in c[0]]:
        cold, rows = call(params, 0)
        warm = [call(params, i)[0] for i in range(1, args.repeat + 1)]
        print(f"{label:34} {rows:5d} {cold:8.3f} {statistics.median(warm):14.3f} "
              f"{max(warm):11.3f}")
    label = "both at once (page), 2 processes"
    if args.only in label:
        cold, median, most = both_at_once(args.repeat)
        print(f"{label:34} {'':>5} {cold:8.3f} {median:14.3f} {most:11.3f}")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
