"""Product size estimates, and orders too big for one product: MGRS tiles, or a refusal."""

from __future__ import annotations

import pytest
from shapely.geometry import box

from compositing.grid import OutputGrid
from compositing.orders.size import (
    COMPRESSION_RATIO,
    fit_to_limit,
    human_bytes,
    product_size,
)
from compositing.orders.spec import SpecError, parse_spec

# About 120 x 110 km in Ireland, inside UTM zone 29's tiles.
MIDLANDS = [-8.6, 53.0, -6.8, 54.0]


def order(**changes):
    return parse_spec({"aoi": MIDLANDS, "start": "2023-06-01", "period": "month",
                       "resolution": 10, "crs": "UTM", "bands": ["B02", "B03", "B04", "B08"],
                       "aux": ["valid_obs"], **changes})


def test_the_estimate_counts_bands_and_layers_per_output_pixel():
    spec = order()
    size = product_size(spec)
    grid = OutputGrid.for_aoi(box(*MIDLANDS), spec.crs, 10)
    assert (size.width, size.height) == (grid.width, grid.height)
    assert size.estimated_bytes == int(grid.width * grid.height * (4 * 2 + 1)
                                       * COMPRESSION_RATIO)
    assert size.tiles == 0 and size.describe().startswith("will be delivered as one product")


def test_a_change_order_counts_both_mosaics_and_its_change_layers():
    spec = order(compare_start="2024-06-01", aux=[])
    grid = OutputGrid.for_aoi(box(*MIDLANDS), spec.crs, 10)
    # Per pixel: 2 mosaics x 4 uint16 bands, uint16 magnitude and angle, uint8 mask and class,
    # and per mosaic an int16 source index and an int32 acquisition day.
    per_pixel = 2 * 4 * 2 + 2 + 2 + 1 + 1 + 2 * (2 + 4)
    assert product_size(spec).estimated_bytes == int(grid.width * grid.height * per_pixel
                                                     * COMPRESSION_RATIO)


def test_an_order_beyond_the_limit_in_utm_is_delivered_as_mgrs_tiles():
    spec = order()
    assert fit_to_limit(spec, 10**12) is spec
    tiled = fit_to_limit(spec, 10**8)
    assert tiled.tiling == "mgrs" and tiled.aoi == spec.aoi and tiled.bands == spec.bands
    size = product_size(tiled)
    assert size.tiles >= 4  # the area spans several 110 km tiles
    assert size.describe() == (f"will be delivered as {size.tiles} MGRS tiles, "
                               f"about {human_bytes(size.estimated_bytes)}")


def test_an_order_beyond_the_limit_that_cannot_be_tiled_is_refused_naming_why():
    spec = order(crs="EPSG:3035")
    with pytest.raises(SpecError) as refused:
        fit_to_limit(spec, 10**8)
    assert refused.value.field == "crs"
    assert "100 MB" in refused.value.message and "MGRS" in refused.value.message
    assert "EPSG:3035" in refused.value.message


@pytest.mark.parametrize(("n", "text"), [(512, "512 bytes"), (1_234_000, "1.2 MB"),
                                         (160e9, "160 GB"), (3.2e12, "3.2 TB")])
def test_sizes_read_as_disks_are_sold(n, text):
    assert human_bytes(n) == text
