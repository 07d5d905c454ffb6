"""An order's work (pixels times granules over them) and the rate fitted to finished orders."""

from __future__ import annotations

import pytest
from shapely.geometry import box

from compositing.orders.effort import Rate, fit_rate, granules_per_pixel, order_work

AOI = box(10.0, 50.0, 10.2, 50.1)


def test_granules_per_pixel_sums_the_share_each_footprint_covers():
    whole = box(9.0, 49.0, 11.0, 51.0)
    west_half = box(9.0, 49.0, 10.1, 51.0)
    elsewhere = box(20.0, 20.0, 21.0, 21.0)
    assert granules_per_pixel(AOI, [whole]) == pytest.approx(1.0)
    # Half of the AOI's area on the ellipsoid: the halves differ by far less than a percent.
    assert granules_per_pixel(AOI, [whole, whole, west_half]) == pytest.approx(2.5, rel=1e-3)
    assert granules_per_pixel(AOI, [elsewhere]) == 0.0
    assert granules_per_pixel(AOI, []) == 0.0


def test_work_is_million_pixel_observations():
    assert order_work(2000 * 1000, 12.0) == 24.0


def test_the_rate_separates_the_fixed_part_from_the_part_per_work():
    rate = fit_rate([(1.0, 3.0), (2.0, 5.0), (4.0, 9.0)])  # 1 s + 2 s per Mpx-obs
    assert rate is not None and rate.orders == 3
    assert rate.overhead_s == pytest.approx(1.0) and rate.seconds_per_work == pytest.approx(2.0)
    assert rate.estimate(10.0) == pytest.approx(21.0)


def test_without_finished_orders_there_is_no_rate():
    assert fit_rate([]) is None
    assert fit_rate([(0.0, 5.0)]) is None  # an order that read nothing measures nothing


def test_one_order_or_orders_of_one_size_give_time_per_work():
    assert fit_rate([(2.0, 8.0)]) == Rate(0.0, 4.0, 1)
    assert fit_rate([(2.0, 8.0), (2.0, 6.0), (2.1, 7.0)]).overhead_s == 0.0


def test_noise_never_gives_a_negative_part():
    # Larger orders that happened to run faster: no line with a positive slope.
    falling = fit_rate([(1.0, 9.0), (2.0, 6.0), (4.0, 5.0)])
    assert falling.overhead_s == 0.0 and falling.seconds_per_work == pytest.approx(20 / 7)
    # A line through the points crosses zero above the origin: through the origin instead.
    steep = fit_rate([(1.0, 1.0), (2.0, 5.0), (4.0, 13.0)])
    assert steep.overhead_s == 0.0 and steep.seconds_per_work == pytest.approx(19 / 7)
    assert all(fit_rate(s).estimate(0.5) >= 0 for s in ([(1, 9), (2, 6), (4, 5)],
                                                        [(1, 1), (2, 5), (4, 13)]))
