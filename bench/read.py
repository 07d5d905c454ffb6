"""Reading throughput of one output chunk against the I/O floor, and STAC search latency.

For a 512 x 512 chunk at 10 m (UTM, the tiles' own CRS) and at 20 m in EPSG:3035, times
`read_stack` (every observation of June 2023, warped onto the chunk grid) and, as the floor,
plain windowed rasterio reads of the same files and windows without reprojection. Then times
item searches through pystac-client against the hub's own STAC API.

    DEBUG=1 .venv/bin/python bench/read.py
"""

from __future__ import annotations

import statistics
import time
from datetime import date

from _demo_hub import ensure_archive, setup_django


def main() -> None:
    ensure_archive()
    setup_django()
    import rasterio
    from affine import Affine
    from rasterio.warp import transform_bounds
    from rasterio.windows import Window, from_bounds
    from shapely.geometry import box

    from compositing.archive.read import close_datasets, read_stack
    from compositing.archive.scenes import group_acquisitions, search_scenes
    from compositing.demo.archive import DEMO_CENTER_32629
    from compositing.grid import OutputGrid
    from compositing.selection.composite import stack_bands
    from hub.mosaics.operator import archives

    url = archives()
    aoi = box(-7.5, 52.72, -7.40, 52.78)
    latencies = []
    for _ in range(20):
        t0 = time.perf_counter()
        scenes = search_scenes(url, aoi, date(2023, 6, 1), date(2023, 6, 30))
        latencies.append(time.perf_counter() - t0)
    print(f"STAC search (June, {len(scenes)} items, pystac-client over loopback): median "
          f"{1000 * statistics.median(latencies):.0f} ms, max {1000 * max(latencies):.0f} ms")
    year = search_scenes(url, aoi, date(2023, 1, 1), date(2023, 12, 31))
    t0 = time.perf_counter()
    search_scenes(url, aoi, date(2023, 1, 1), date(2023, 12, 31))
    print(f"STAC search (2023, {len(year)} items, paged): "
          f"{1000 * (time.perf_counter() - t0):.0f} ms")

    observations = group_acquisitions(scenes)
    bands = stack_bands(["B02", "B03", "B04", "B08"])
    cx, cy = DEMO_CENTER_32629
    print(f"\n{'grid':<18} {'obs':>4} {'warped s':>9} {'Mpx/s':>7} {'floor s':>8} {'ratio':>6}")
    for epsg, res in ((32629, 10), (3035, 20)):
        size = 512 * res
        left, bottom, right, top = transform_bounds(32629, epsg, cx - size / 2, cy - size / 2,
                                                    cx + size / 2, cy + size / 2)
        grid = OutputGrid(epsg, Affine(res, 0, left, 0, -res, top), 512, 512)
        chunk = next(grid.chunks(512))
        close_datasets()
        t0 = time.perf_counter()
        stack = read_stack(observations, bands, grid, chunk, res)
        warped = time.perf_counter() - t0
        native_bounds = {32629: transform_bounds(grid.crs, 32629, *grid.bounds),
                         32630: transform_bounds(grid.crs, 32630, *grid.bounds)}
        t0 = time.perf_counter()  # the floor: same files and windows, native grid, no warp
        for obs in observations:
            for scene in obs.scenes:
                for key in (*bands, "SCL", "AOT"):
                    with rasterio.open(scene.assets[key].href) as src:
                        window = from_bounds(*native_bounds[src.crs.to_epsg()],
                                             src.transform).round_offsets().round_lengths()
                        whole = Window(0, 0, src.width, src.height)
                        src.read(1, window=window.intersection(whole))
        floor = time.perf_counter() - t0
        print(f"EPSG:{epsg} {res} m{'':<5} {len(stack.obs_index):4d} {warped:9.2f} "
              f"{0.262144 / warped:7.2f} {floor:8.2f} {warped / floor:6.1f}")


if __name__ == "__main__":
    main()
