"""How much work an order is, in one measure that the hub's finished orders and a new order's
preview share, so that a new order's time is estimated from the rate this hub has measured.

The measure is output pixels times granules read per pixel, in millions ("Mpx-obs"): reading
and decoding the granules over each pixel is most of an order's time (issue 12's profiles),
and selecting among them the rest. Granules per pixel is the summed share of the AOI that each
granule's footprint covers: a granule over a corner of the AOI costs that corner, and two tiles
of one acquisition overlapping the AOI are both read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from shapely.geometry.base import BaseGeometry

from compositing.orders.spec import aoi_area_km2


def granules_per_pixel(aoi: BaseGeometry, footprints: Iterable[BaseGeometry]) -> float:
    """The mean number of granules over a pixel of the AOI."""
    total = aoi_area_km2(aoi)
    if total <= 0:
        return 0.0
    covered = sum(aoi_area_km2(f.intersection(aoi)) for f in footprints if f.intersects(aoi))
    return covered / total


def order_work(pixels: int, granules: float) -> float:
    """The work of an order in million pixel-observations."""
    return pixels * granules / 1e6


@dataclass(frozen=True)
class Rate:
    """Seconds an order takes: a fixed part (planning, delivery, metadata) plus a part per
    million pixel-observations, fitted to `orders` finished orders."""

    overhead_s: float
    seconds_per_work: float
    orders: int

    def estimate(self, work: float) -> float:
        """The processing time of an order of this much work, in seconds."""
        return self.overhead_s + self.seconds_per_work * work


def fit_rate(samples: Sequence[tuple[float, float]]) -> Rate | None:
    """The rate of finished orders given as (work, seconds); None without any.

    A least-squares line where the orders' work differs enough to tell the fixed part from the
    part per pixel, else all of the time per work. Neither part may be negative: a few noisy
    orders must not promise that a large order takes no time.
    """
    usable = [(w, s) for w, s in samples if w > 0 and s >= 0]
    if not usable:
        return None
    n = len(usable)
    mean_w = sum(w for w, _ in usable) / n
    mean_s = sum(s for _, s in usable) / n
    spread = sum((w - mean_w) ** 2 for w, _ in usable)
    if n >= 3 and spread > 0 and max(w for w, _ in usable) >= 2 * min(w for w, _ in usable):
        slope = sum((w - mean_w) * (s - mean_s) for w, s in usable) / spread
        overhead = mean_s - slope * mean_w
        if slope > 0 and overhead >= 0:
            return Rate(overhead, slope, n)
        if slope > 0:  # the line passes below zero: through the origin instead
            return Rate(0.0, sum(s for _, s in usable) / sum(w for w, _ in usable), n)
    return Rate(0.0, mean_s / mean_w, n)
