"""Bands missing from the archive: stand-ins for selection only, clear errors otherwise."""

from datetime import UTC, datetime

import pytest
from shapely.geometry import box

from compositing.archive.scenes import Asset, MissingBandsError, Scene, resolve_bands
from compositing.selection.composite import stack_bands


def scene(*bands: str) -> Scene:
    return Scene("s", datetime(2022, 10, 5, tzinfo=UTC), "sentinel-2a", "dt", box(0, 0, 1, 1),
                 {b: Asset(f"/x/{b}.tif") for b in bands})


ALL_BUT_B08 = [b for b in stack_bands(["B04"]) if b != "B08"] + ["SCL"]


def test_selection_uses_b8a_where_no_scene_has_b08():
    scenes, used = resolve_bands([scene(*ALL_BUT_B08)], stack_bands(["B04"]), ["B04"])
    assert used == {"B08": "B8A"}
    assert scenes[0].assets["B08"] == scenes[0].assets["B8A"]


def test_an_ordered_band_is_never_stood_in_for():
    with pytest.raises(MissingBandsError, match="B08"):
        resolve_bands([scene(*ALL_BUT_B08)], stack_bands(["B08"]), ["B08"])


def test_a_selection_band_without_stand_in_fails_naming_it():
    bands = [b for b in ALL_BUT_B08 if b != "B11"]
    with pytest.raises(MissingBandsError, match="B11"):
        resolve_bands([scene(*bands)], stack_bands(["B04"]), ["B04"])


def test_complete_scenes_are_left_alone():
    full = scene(*stack_bands(["B04"]), "SCL")
    assert resolve_bands([full], stack_bands(["B04"]), ["B04"]) == ([full], {})
