"""Products in other CRSs than the tiles' UTM: nearest neighbour, so every value is observed."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from compositing.orders.spec import parse_spec
from compositing.pipeline import run_mosaic
from hub.mosaics.services import mosaic_settings
from tests.conftest import TEST_AOI_BBOX

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("epsg", [4326, 3035, 32630])
def test_every_value_is_a_source_pixel_value(hub_dirs, tmp_path, epsg):
    spec = parse_spec({"aoi": list(TEST_AOI_BBOX), "start": "2023-06-01", "period": "month",
                       "resolution": 60, "crs": f"EPSG:{epsg}", "bands": ["B04"]})
    result = run_mosaic(spec, mosaic_settings(), tmp_path, "crs")
    with rasterio.open(next(result.folder.glob("bands_*.tif"))) as src:
        assert src.crs.to_epsg() == epsg
        values = src.read(1)
    observed = values[values != 65535]
    assert observed.size > 0.5 * values.size
    source = set()
    for path in hub_dirs["archive"].glob("sentinel-2-l2a/*/B04.tif"):
        with rasterio.open(path) as b04:
            dn = b04.read(1)
        source |= set(np.unique(np.clip(dn[dn > 0].astype(int) - 1000, 0, None)).tolist())
    assert set(np.unique(observed).tolist()) <= source, "a value was blended"
