"""Sun and view angles of a granule on any chunk grid: bilinear between the 5 km nodes of its
angle sidecar, azimuths wrapped, older sidecars read too."""

from __future__ import annotations

import json

import numpy as np
import pytest
from affine import Affine

from compositing.archive.angles import (
    MAX_VIEW_ZENITH_DEG,
    AngleGrids,
    angle_grids,
    angles_on_chunk,
    incidence_zenith,
    load_angles,
    too_oblique,
)


def _doc(**grids: list[list[float | None]]) -> dict:
    return {"crs": "EPSG:32629", "ulx": 500000.0, "uly": 5010000.0, "col_step": 5000.0,
            "row_step": 5000.0, **grids}


CHUNK = Affine(1000, 0, 500000, 0, -1000, 5010000)


def test_angles_are_bilinear_between_the_5km_nodes():
    i, j = np.mgrid[0:3, 0:3]
    doc = _doc(sun_zenith=(30 + i + 2 * j).tolist(), view_zenith_mean=(1.0 + 0 * i).tolist())
    out = angles_on_chunk(doc, CHUNK, (10, 10), 32629)
    centres = (np.arange(10) + 0.5) * 1000 / 5000  # fractional node index of pixel centres
    np.testing.assert_allclose(out["sun_zenith"], 30 + centres[:, None] + 2 * centres[None, :],
                               atol=1e-4)
    assert "sun_azimuth" not in out and "view_azimuth_mean" not in out
    # A node without a value is left out, not taken as 0 or NaN for the whole cell.
    doc["sun_zenith"][0][0] = None
    holed = angles_on_chunk(doc, CHUNK, (10, 10), 32629)["sun_zenith"]
    assert np.isfinite(holed).all() and holed[0, 0] > 30.5
    # The separable path (chunk on the tile's CRS) equals the per-pixel one (spelled apart).
    general = angles_on_chunk({**doc, "crs": "epsg:32629"}, CHUNK, (10, 10), 32629)
    np.testing.assert_allclose(general["sun_zenith"], holed, atol=1e-5)


def test_azimuths_wrap_and_the_view_azimuth_flips_smoothly_across_nadir():
    doc = _doc(sun_azimuth=[[350.0, 10.0, 10.0]] * 3,
               view_zenith_mean=[[4.0, 0.0, 4.0]] * 3,
               view_azimuth_mean=[[103.0, 103.0, 283.0]] * 3)
    out = angles_on_chunk(doc, CHUNK, (10, 10), 32629)
    sun = out["sun_azimuth"][0]
    assert (np.minimum(sun, 360 - sun) <= 10.0 + 1e-3).all()  # near north, never ~180
    view = out["view_azimuth_mean"][0]
    assert view[:4] == pytest.approx(103, abs=1e-3)  # west of nadir, as the west node
    assert view[6:] == pytest.approx(283, abs=1e-3)  # east of it, as the east node


def test_angles_reach_another_crs_and_older_sidecars_get_a_mean_view_azimuth(tmp_path):
    i, j = np.mgrid[0:3, 0:3]
    doc = _doc(sun_zenith=(30 + i + 2 * j).tolist(),
               view_azimuth={"B02": [[350.0] * 3] * 3, "B03": [[10.0] * 3] * 3,
                             "B10": [[180.0] * 3] * 3})
    path = tmp_path / "angles.json"
    path.write_text(json.dumps(doc))
    loaded = load_angles(str(path))
    assert np.allclose(np.array(loaded["view_azimuth_mean"]) % 360, 0)  # B10 left out
    # A geographic chunk over the same ground gives the same values (pixel centres reprojected).
    utm = angles_on_chunk(loaded, Affine(5000, 0, 502500, 0, -5000, 5007500), (1, 1), 32629)
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(32629, 4326, always_xy=True).transform(505000, 5005000)
    geo = angles_on_chunk(loaded, Affine(1e-4, 0, lon - 5e-5, 0, -1e-4, lat + 5e-5), (1, 1),
                          4326)
    assert geo["sun_zenith"][0, 0] == pytest.approx(utm["sun_zenith"][0, 0], abs=1e-3)


def test_view_zenith_grows_across_the_swath():
    zen = incidence_zenith(np.array([0.0, 110e3, 145e3]))
    assert zen[0] == 0 and 8.5 < zen[1] < 9.5 and 11 < zen[2] < 12.5


def _grid(rng: np.random.Generator, n: int, low: float, high: float,
          holes: float) -> list[list[float | None]]:
    values = rng.uniform(low, high, (n, n))
    return [[None if rng.random() < holes else round(float(v), 4) for v in row]
            for row in values]


def _random_chunk(rng: np.random.Generator, n: int, epsg: int) -> tuple[Affine, tuple[int, int]]:
    """A chunk somewhere on or around an n x n node grid, at 10 m to 1 km, up to 60 px a side."""
    res = float(rng.choice([10.0, 20.0, 60.0, 1000.0]))
    x0 = 500000 + rng.uniform(-6000, 5000 * n)
    y0 = 5010000 - rng.uniform(-6000, 5000 * n)
    if epsg != 32629:
        from pyproj import Transformer

        x0, y0 = Transformer.from_crs(32629, epsg, always_xy=True).transform(x0, y0)
        res = res / 1e5 if epsg == 4326 else res
    shape = (int(rng.integers(1, 61)), int(rng.integers(1, 61)))
    return Affine(res, 0, x0, 0, -res, y0), shape


@pytest.mark.parametrize("epsg", [32629, 32630, 4326])
@pytest.mark.parametrize(("low", "high", "holes"), [
    (8.0, 14.0, 0.0),    # straddles the threshold
    (8.0, 14.0, 0.3),    # and has nodes without a value
    (10.99, 11.01, 0.2),  # hugs it
    (0.0, 10.9, 0.2),    # all below
    (11.0, 15.0, 0.0),   # all at or above: every pixel oblique
    (11.0, 15.0, 0.5),   # all above, but cells without any value are not
])
def test_too_oblique_is_the_thresholded_view_zenith_on_any_chunk(epsg, low, high, holes):
    rng = np.random.default_rng([epsg, int(100 * low), int(100 * high), int(10 * holes)])
    seen = {"none": 0, "some": 0, "all": 0}
    for _ in range(60):
        n = int(rng.integers(2, 6))
        doc = _doc(view_zenith_mean=_grid(rng, n, low, high, holes))
        if low < MAX_VIEW_ZENITH_DEG < high and rng.random() < 0.2:  # a node on it exactly
            doc["view_zenith_mean"][0][0] = MAX_VIEW_ZENITH_DEG
        t, shape = _random_chunk(rng, n, epsg)
        want = angles_on_chunk(doc, t, shape, epsg)["view_zenith_mean"] >= MAX_VIEW_ZENITH_DEG
        got = too_oblique(doc, t, shape, epsg)
        if got is None:
            assert not want.any()
        else:
            assert got.dtype == bool and got.shape == shape
            np.testing.assert_array_equal(got, want)
        seen["none" if not want.any() else "all" if want.all() else "some"] += 1
    if low >= MAX_VIEW_ZENITH_DEG and not holes:
        assert seen["all"] == 60
    elif high < MAX_VIEW_ZENITH_DEG:
        assert seen["none"] == 60
    elif low < MAX_VIEW_ZENITH_DEG < high:
        assert seen["some"] > 0  # the cases drawn did straddle the threshold


def test_too_oblique_decides_whole_chunks_from_their_nodes():
    # Nodes below 11° except one column far east: a chunk in the west is decided without it.
    doc = _doc(view_zenith_mean=[[5.0, 6.0, 7.0, 20.0]] * 4)
    assert too_oblique(doc, CHUNK, (10, 10), 32629) is None
    east = Affine(10, 0, 510000, 0, -10, 5005000)  # from the 7° node past the 20° one
    mask = too_oblique(doc, east, (100, 600), 32629)
    assert mask is not None and not mask[:, 0].any() and mask[:, -1].all()
    # Within float32 rounding of 11° is 11° in the layer, and so oblique.
    close = _doc(view_zenith_mean=[[MAX_VIEW_ZENITH_DEG - 1e-7] * 3] * 3)
    assert angles_on_chunk(close, CHUNK, (10, 10), 32629)["view_zenith_mean"].min() == 11
    assert too_oblique(close, CHUNK, (10, 10), 32629).all()
    # All nodes at or above it: everything is oblique; no view zenith grid: nothing is.
    high = _doc(view_zenith_mean=[[12.0] * 3] * 3)
    assert too_oblique(high, CHUNK, (10, 10), 32629).all()
    assert too_oblique(_doc(sun_zenith=[[30.0] * 3] * 3), CHUNK, (10, 10), 32629) is None
    assert too_oblique({"crs": "EPSG:32629"}, CHUNK, (10, 10), 32629) is None
    # A cell whose nodes all lack a value has no view zenith: not oblique.
    hole = _doc(view_zenith_mean=[[None, None, 12.0], [None, None, 12.0], [12.0] * 3])
    mask = too_oblique(hole, CHUNK, (10, 10), 32629)
    assert mask is not None and not mask[0, 0] and mask[-1, -1]


@pytest.mark.parametrize("epsg", [32629, 3035])
def test_only_the_angle_layers_named_are_made_and_equal_the_full_call(epsg):
    rng = np.random.default_rng(epsg)
    doc = _doc(sun_zenith=_grid(rng, 4, 30, 60, 0.1), sun_azimuth=_grid(rng, 4, 0, 360, 0.1),
               view_zenith_mean=_grid(rng, 4, 0, 14, 0.1),
               view_azimuth_mean=_grid(rng, 4, 0, 360, 0.1))
    t, shape = _random_chunk(rng, 4, epsg)
    full = angles_on_chunk(doc, t, shape, epsg)
    assert set(full) == {"sun_zenith", "sun_azimuth", "view_zenith_mean", "view_azimuth_mean"}
    for names in (["sun_azimuth"], ["view_azimuth_mean", "sun_zenith"], ["view_zenith_mean"]):
        some = angles_on_chunk(doc, t, shape, epsg, names=names)
        assert set(some) == set(names)
        for name in names:
            np.testing.assert_array_equal(some[name], full[name])
    assert angles_on_chunk(doc, t, shape, epsg, names=[]) == {}
    # The grids parsed once give the same layers as the document.
    grids = AngleGrids.from_doc(doc)
    assert grids is not None
    for name, values in angles_on_chunk(grids, t, shape, epsg).items():
        np.testing.assert_array_equal(values, full[name])


def test_a_documents_grids_are_parsed_once(tmp_path):
    path = tmp_path / "angles.json"
    path.write_text(json.dumps(_doc(view_zenith_mean=[[12.0] * 3] * 3)))
    grids = angle_grids(str(path))
    assert grids is angle_grids(str(path)) and grids is not None
    assert grids.view_zenith is not None and grids.view_zenith.shape == (3, 3)
    assert too_oblique(grids, CHUNK, (10, 10), 32629).all()
    missing = tmp_path / "no_grid.json"
    missing.write_text(json.dumps({"crs": "EPSG:32629"}))
    assert angle_grids(str(missing)) is None
