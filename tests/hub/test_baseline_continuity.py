"""A composite spanning the 2022-01-25 processing-baseline change shows no radiometric jump."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest
import rasterio
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT

from compositing.demo.archive import build_demo_archive
from compositing.l2a import BAND_NAMES
from compositing.orders.spec import parse_spec
from compositing.pipeline import run_mosaic
from hub.mosaics.services import mosaic_settings
from tests.conftest import TEST_AOI_BBOX

pytestmark = pytest.mark.django_db
BANDS = ["B02", "B04", "B08", "B11"]


@pytest.fixture(scope="module")
def winter_2022(tmp_path_factory):
    archive = tmp_path_factory.mktemp("winter2022")
    build_demo_archive(archive, start=date(2022, 1, 5), end=date(2022, 2, 15), size_m=2400)
    return archive


def truth_on(href: str, grid_src, bands: list[int]) -> np.ndarray:
    with rasterio.open(href) as src, WarpedVRT(
            src, crs=grid_src.crs, transform=grid_src.transform, width=grid_src.width,
            height=grid_src.height, resampling=Resampling.nearest, nodata=np.nan) as vrt:
        return vrt.read(bands)


def test_reflectance_matches_the_truth_on_both_sides_of_the_change(settings, winter_2022,
                                                                   tmp_path):
    settings.HUB_ARCHIVE_DIR, settings.HUB_STAC_URL = winter_2022, ""
    spec = parse_spec({"aoi": list(TEST_AOI_BBOX), "period": "custom", "start": "2022-01-05",
                       "end": "2022-02-15", "resolution": 20, "crs": "EPSG:32629",
                       "bands": BANDS, "aux": ["source_index"], "name": "span"})
    result = run_mosaic(spec, mosaic_settings(), tmp_path, "s")
    meta = json.loads((result.folder / "metadata.json").read_text())
    sources = meta["Source_product_list"]
    with rasterio.open(next(result.folder.glob("bands_*.tif"))) as prod:
        values = prod.read().astype(np.float64) * 1e-4
        nodata = prod.read() == 65535
        with rasterio.open(next(result.folder.glob("source_index_*.tif"))) as src_index:
            index = src_index.read(1)
        truth = np.full(values.shape, np.nan)
        clear = np.zeros(index.shape, bool)
        after = np.zeros(index.shape, bool)
        for key, source in sources.items():
            picked = index == int(key)
            if not picked.any():
                continue
            scene = source["scenes"][0]
            folder = winter_2022 / "sentinel-2-l2a" / scene
            item = json.loads((folder / f"{scene}.json").read_text())
            t_refl = truth_on(str(folder / "truth" / "reflectance.tif"), prod,
                              [BAND_NAMES.index(b) + 1 for b in BANDS])  # truth in L2A order
            t_cloud = truth_on(str(folder / "truth" / "cloud.tif"), prod, [1])[0]
            truth[:, picked] = t_refl[:, picked]
            clear |= picked & (t_cloud == 0)
            if item["properties"]["s2:processing_baseline"] == "04.00":
                after |= picked
    check = clear & ~nodata.any(axis=0) & np.isfinite(truth).all(axis=0)
    assert (check & after).sum() > 50 and (check & ~after).sum() > 50, \
        "the composite should pick observations from both baselines"
    error = values - truth
    for side in (after, ~after):
        bias = np.abs(np.nanmean(error[:, check & side], axis=1))
        assert (bias < 0.01).all(), f"bias per band {bias} (a missed offset is 0.1)"
    jump = np.nanmean(error[:, check & after], axis=1) - np.nanmean(error[:, check & ~after],
                                                                     axis=1)
    assert (np.abs(jump) < 0.01).all(), f"jump across the baseline change {jump}"
