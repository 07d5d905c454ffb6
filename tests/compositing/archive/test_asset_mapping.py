"""Every catalogue's asset names map to L2A bands, with each item's own scale and offset."""

from __future__ import annotations

import json

import pytest

from compositing import l2a
from compositing.archive.scenes import scene_from_item

ITEMS = {
    # file under data/real/stac_items: (expected offset of the reflectance bands)
    "riotilerpds_earthsearch_v1_S2A_29RKH_20200219_0_L2A.json": 0.0,
    "odcstac_S2A_28QCH_20200714_0_L2A.json": 0.0,
    "odcstac_S2B_MSIL2A_20190629T212529_R043_T06VVN_20201006T080531.json": 0.0,
}


@pytest.mark.parametrize("name,offset", ITEMS.items())
def test_real_items_map_every_band(shared_data, name, offset):
    item = json.loads((shared_data / "real" / "stac_items" / name).read_text())
    scene = scene_from_item(item)
    assert set(l2a.BAND_NAMES) | {"SCL"} <= set(scene.assets)
    for band in l2a.BAND_NAMES:
        asset = scene.assets[band]
        assert asset.scale == pytest.approx(1e-4) and asset.offset == pytest.approx(offset)
        assert asset.nodata == 0
    assert scene.assets["SCL"].scale == 1.0


def test_jp2_twins_stand_in_when_the_cog_is_absent(shared_data):
    item = json.loads((shared_data / "real" / "stac_items" /
                       "riotilerpds_earthsearch_v1_S2A_29RKH_20200219_0_L2A.json").read_text())
    red = item["assets"].pop("red")
    scene = scene_from_item(item)
    assert scene.assets["B04"].href == item["assets"]["red-jp2"]["href"] != red["href"]


def test_the_offset_comes_from_the_item_then_from_its_baseline():
    def item(baseline: str, assets: dict) -> dict:
        return {"id": "x", "bbox": [0, 0, 1, 1], "geometry": None, "assets": assets,
                "properties": {"datetime": "2023-06-02T11:54:11Z",
                               "s2:processing_baseline": baseline}}

    declared = {"red": {"href": "/b.tif", "raster:bands": [{"scale": 0.0001, "offset": -0.1}]}}
    assert scene_from_item(item("02.14", declared)).assets["B04"].offset == pytest.approx(-0.1)
    bare = {"B04": {"href": "/a/B04.tif"}}
    assert scene_from_item(item("05.09", bare)).assets["B04"].offset == pytest.approx(-0.1)
    assert scene_from_item(item("02.14", bare)).assets["B04"].offset == 0.0
