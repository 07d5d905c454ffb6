"""Sun and view angles of a granule on any chunk grid: bilinear between the 5 km nodes of its
angle sidecar, azimuths wrapped, older sidecars read too."""

from __future__ import annotations

import json

import numpy as np
import pytest
from affine import Affine

from compositing.archive.angles import angles_on_chunk, incidence_zenith, load_angles


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
