"""An acquisition seen by tiles of two UTM zones counts once per pixel in the product.

The zone-border demo area has windows of 29UPU (EPSG:32629) and 30UUD (EPSG:32630) that overlap
east of 6 W; its AOI crosses the 6 W meridian. Every pass sees both tiles with one datatake, so
`total_obs` may never exceed the number of passes, and equals it wherever both windows (or
either) have data, whichever UTM zone the product is in.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.warp import Resampling, reproject

from compositing.demo import archive as demo
from compositing.orders.spec import parse_spec
from compositing.pipeline import run_mosaic
from hub.mosaics.services import mosaic_settings

pytestmark = pytest.mark.django_db

START, END = date(2023, 6, 1), date(2023, 6, 20)


@pytest.fixture(scope="module")
def border_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The zone-border area only: four passes of 29UPU and 30UUD in small windows."""
    archive = tmp_path_factory.mktemp("zone-border")
    demo.build_demo_archive(archive, start=START, end=END, tiles=("29UPU", "30UUD"),
                            size_m=2400)
    return archive


@pytest.fixture
def border_hub(settings, border_archive: Path, tmp_path: Path) -> Path:
    settings.HUB_ARCHIVE_DIR = border_archive
    settings.HUB_MEDIA_ROOT = tmp_path / "media"
    settings.HUB_STAC_URL = ""
    return border_archive


def _passes(archive: Path) -> dict[str, list[Path]]:
    """The archive's items grouped by datatake."""
    out: dict[str, list[Path]] = {}
    for path in sorted(archive.glob("sentinel-2-l2a/*/*.json")):
        if path.stem != path.parent.name:  # a sidecar (angles.json), not the item
            continue
        datatake = json.loads(path.read_text())["properties"]["s2:datatake_id"]
        out.setdefault(datatake, []).append(path)
    return out


def _has_data(item: Path, profile: dict) -> np.ndarray:
    """Where the scene's SCL has data, on the product's grid (nearest neighbour)."""
    out = np.zeros((profile["height"], profile["width"]), np.uint8)
    with rasterio.open(item.parent / "SCL.tif") as src:
        reproject(src.read(1), out, src_transform=src.transform, src_crs=src.crs,
                  dst_transform=profile["transform"], dst_crs=profile["crs"],
                  resampling=Resampling.nearest, src_nodata=0, dst_nodata=0)
    return out > 0


@pytest.mark.parametrize("crs", ["EPSG:32629", "EPSG:32630"])
def test_total_obs_is_not_doubled_where_the_zones_overlap(border_hub, tmp_path, crs):
    passes = _passes(border_hub)
    assert len(passes) == 4 and all(len(items) == 2 for items in passes.values())
    spec = parse_spec({"aoi": list(demo.DEMO_ZONE_BORDER_AOI_BBOX), "period": "custom",
                       "start": START.isoformat(), "end": END.isoformat(), "resolution": 20,
                       "crs": crs, "bands": ["B04", "B08"], "aux": ["valid_obs", "total_obs"],
                       "name": "border"})
    result = run_mosaic(spec, mosaic_settings(), tmp_path, "zb")
    assert result.observations == len(passes)
    metadata = json.loads((result.folder / "metadata.json").read_text())
    sources = metadata["Source_product_list"].values()
    assert sorted(len(s["scenes"]) for s in sources) == [2, 2, 2, 2]  # both zones, one entry
    layers = {}
    for name in ("valid_obs", "total_obs"):
        with rasterio.open(next(result.folder.glob(f"{name}_*.tif"))) as src:
            layers[name], profile = src.read(1), src.profile
    assert profile["crs"].to_epsg() == int(crs.removeprefix("EPSG:"))
    inside = layers["total_obs"] != 255
    assert inside.mean() > 0.5

    # per pass: does 29UPU, 30UUD, or either have data at each product pixel?
    upu = np.stack([_has_data(next(p for p in items if "_29UPU_" in p.name), profile)
                    for items in passes.values()])
    uud = np.stack([_has_data(next(p for p in items if "_30UUD_" in p.name), profile)
                    for items in passes.values()])
    total, valid = layers["total_obs"].astype(int), layers["valid_obs"].astype(int)
    overlap = inside & (upu & uud).all(0)
    only_upu = inside & (upu & ~uud).all(0)
    assert overlap.sum() > 1000 and only_upu.sum() > 1000, "the AOI holds both kinds of pixel"
    assert (total[inside] <= len(passes)).all()
    np.testing.assert_array_equal(total[overlap], len(passes))  # 4, not 8
    np.testing.assert_array_equal(total[only_upu], len(passes))
    # wherever either tile has data, a pass counts once (edge pixels are the nearest's call)
    either = (upu | uud).sum(0)
    assert (total[inside] == either[inside]).mean() > 0.99
    assert (valid[inside] <= total[inside]).all()
    assert valid[inside].min() < len(passes) and valid[inside].max() == len(passes)
