"""Latency of the time-series tool: one pixel over a year of monthly composites, and its
raw observations, through `GET /api/v1/timeseries` as the browser page calls it.

The view runs in this process on the default demo archive (a year of 2023, three tiles; built
on first use), searching it through the hub's own STAC API over loopback HTTP as the web process
does. Every case is timed cold (first call in the process for that window) and then warm
(median of further calls at neighbouring pixels, so no result is cached).

    DEBUG=1 .venv/bin/python bench/timeseries.py [--repeat 5] [--only 'month 1x1']
"""

from __future__ import annotations

import argparse
import json
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="warm calls per case")
    parser.add_argument("--only", default="", help="run the cases whose label contains this")
    args = parser.parse_args()
    ensure_archive()
    setup_django()
    from django.contrib.auth.models import User
    from django.test import RequestFactory
    from pyproj import Transformer

    from compositing.demo.archive import DEMO_CENTER_32629
    from hub.mosaics.timeseries_api import timeseries
    from hub.stac.embedded import stac_api_url

    stac_api_url()  # start the loopback STAC server outside the timings
    to_lonlat = Transformer.from_crs(32629, 4326, always_xy=True)
    factory = RequestFactory()
    user = User(username="bench")  # unsaved: the view only asks whether someone is logged in

    def call(params: dict[str, str], step: int) -> tuple[float, int]:
        lon, lat = to_lonlat.transform(DEMO_CENTER_32629[0] + 60.0 * step,
                                       DEMO_CENTER_32629[1] - 60.0 * step)
        query = {"lon": f"{lon:.6f}", "lat": f"{lat:.6f}", "start": "2023-01-01",
                 "end": "2023-12-31", "period": "month", "resolution": "20",
                 "bands": "B02,B03,B04,B08", "format": "json", **params}
        request = factory.get("/api/v1/timeseries", query)
        request.user = user
        began = time.perf_counter()
        response = timeseries(request)
        seconds = time.perf_counter() - began
        assert response.status_code == 200, response.content[:300]
        if params.get("format") == "csv":
            return seconds, response.content.count(b"\n") - 1
        return seconds, len(json.loads(response.content)["rows"])

    print(f"archive {ARCHIVE} · one pixel at 20 m, 2023-01-01 to 2023-12-31 · "
          f"{args.repeat} warm calls per case · load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs (figures grow with it)")
    print(f"{'case':34} {'rows':>5} {'cold s':>8} {'warm median s':>14} {'warm max s':>11}")
    for label, params in [c for c in CASES if args.only in c[0]]:
        cold, rows = call(params, 0)
        warm = [call(params, i)[0] for i in range(1, args.repeat + 1)]
        print(f"{label:34} {rows:5d} {cold:8.3f} {statistics.median(warm):14.3f} "
              f"{max(warm):11.3f}")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
