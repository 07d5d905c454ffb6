"""The share of an AOI that scenes cover, and the likely mistake behind an empty order."""

from __future__ import annotations

from datetime import date

import pytest
from shapely.geometry import box

from compositing.archive.coverage import covered_share, item_footprints, likely_mistake, swapped


def test_the_share_is_the_union_of_the_footprints_within_the_aoi():
    aoi = box(0.0, 0.0, 1.0, 1.0)
    # Two overlapping granules over the left half (counted once), one far away.
    left = [box(-1.0, -1.0, 0.5, 2.0), box(-0.5, -1.0, 0.5, 2.0), box(5.0, 5.0, 6.0, 6.0)]
    assert covered_share(aoi, left) == pytest.approx(0.5, rel=1e-3)
    assert covered_share(aoi, []) == 0.0
    assert covered_share(aoi, [box(-2.0, -2.0, 3.0, 3.0)]) == pytest.approx(1.0)


def test_footprints_come_from_the_items_that_have_one():
    items = [{"geometry": box(0, 0, 1, 1).__geo_interface__}, {"geometry": None}, {}]
    assert [f.bounds for f in item_footprints(items)] == [(0.0, 0.0, 1.0, 1.0)]


def test_swapping_exchanges_longitude_and_latitude_where_that_is_a_place():
    assert swapped(box(-7.46, 52.73, -7.42, 52.75)).bounds == pytest.approx(
        (52.73, -7.46, 52.75, -7.42))
    assert swapped(box(100.0, 10.0, 120.0, 20.0)) is None  # latitude 100 is nowhere


SPAN = (date(2023, 1, 3), date(2023, 12, 29))


@pytest.mark.parametrize(("share", "swapped_has", "elsewhere", "kind"), [
    (1.0, False, False, None),
    (0.5, False, False, None),  # at the threshold
    (0.3, False, False, "partial"),
    (0.0, True, True, "swapped"),  # exchanged coordinates explain it best
    (0.0, False, True, "period"),
    (0.0, False, False, "outside"),
])
def test_the_likely_mistake_follows_what_would_have_been_covered(share, swapped_has, elsewhere,
                                                                 kind):
    mistake = likely_mistake(share, 0.5, swapped_has, elsewhere, SPAN)
    assert (mistake.kind if mistake else None) == kind
    if kind in ("period", "outside"):
        assert "03 Jan 2023 to 29 Dec 2023" in mistake.message
    if kind == "partial":
        assert "30%" in mistake.message
