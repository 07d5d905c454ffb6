"""A 60 m request over the real SAFE orders the confidence and angle layers: each holds the
chosen observation's Sen2Cor probability and its interpolated MTD_TL.xml angles."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from compositing.archive.ingest import ingest_path
from compositing.orders.spec import parse_spec
from compositing.pipeline import run_mosaic
from compositing.products.layers import ANGLE_LAYERS, AUX_LAYERS, CONFIDENCE_LAYERS
from hub.mosaics.services import mosaic_settings
from tests.hub.test_ingest_command import SAFE_NAME, _aoi_bbox, archive  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db

QI = "GRANULE/L2A_T29UNU_A038058_20221005T115407/QI_DATA"
NEW_LAYERS = [*CONFIDENCE_LAYERS, *ANGLE_LAYERS]


def _layer(folder, name: str) -> tuple[np.ndarray, float | None]:  # noqa: ANN001
    with rasterio.open(next(folder.glob(f"{name}_*.tif"))) as src:
        return src.read(1), src.nodata


def test_60m_request_orders_the_confidence_and_angle_layers(archive, shared_data,  # noqa: F811
                                                            tmp_path):
    safe_dir = shared_data / "real" / f"{SAFE_NAME}.SAFE"
    ingest_path(safe_dir, archive, "sentinel-2-l2a")
    spec = parse_spec({"aoi": _aoi_bbox(), "start": "2022-10-05", "period": "day",
                       "resolution": 60, "crs": "EPSG:32629", "bands": ["B04"],
                       "aux": ["source_index", *NEW_LAYERS], "name": "aux60"})
    result = run_mosaic(spec, mosaic_settings(), tmp_path / "out", "aux60")
    grid = result.grid
    inside = grid.aoi_mask(spec.aoi, next(grid.chunks(100_000)))
    source, _ = _layer(result.folder, "source_index")
    chosen = inside & (source >= 0)
    assert chosen.sum() > 100

    layers = {}
    for name in NEW_LAYERS:
        values, nodata = _layer(result.folder, name)
        storage = AUX_LAYERS[name]
        assert values.dtype == np.dtype(storage.dtype) and nodata == storage.nodata
        assert (values[inside & (source < 0)] == storage.nodata).all()
        assert (values[chosen] != storage.nodata).all(), name
        layers[name] = values * storage.scale

    # The probabilities are the 20 m mask pixels holding each 60 m centre (nearest neighbour).
    col0 = int((grid.transform.c - 499980) / 60)
    row0 = int((5900040 - grid.transform.f) / 60)
    window = rasterio.windows.Window(3 * col0, 3 * row0, 3 * grid.width, 3 * grid.height)
    for name, mask in (("quality_cloud_confidence", "MSK_CLDPRB_20m.jp2"),
                       ("quality_snow_confidence", "MSK_SNWPRB_20m.jp2")):
        with rasterio.open(safe_dir / QI / mask) as src:
            expected = np.minimum(src.read(1, window=window)[1::3, 1::3], 100)
        np.testing.assert_array_equal(layers[name][chosen], expected[chosen])
    assert len(np.unique(layers["quality_cloud_confidence"][chosen])) > 1

    # Angles: smooth, near the granule's means (MTD_TL.xml: sun 57.82 / 172.84 degrees).
    assert layers["sun_zenith"][chosen] == pytest.approx(57.82, abs=0.6)
    assert layers["sun_azimuth"][chosen] == pytest.approx(172.84, abs=1.5)
    view = layers["view_zenith_mean"][chosen]
    assert (view > 0).all() and (view < 11).all()  # valid observations only
    assert view.max() - view.min() < 0.5  # a 3 km square: the 5 km grid varies little
    azimuth = layers["view_azimuth_mean"][chosen]
    assert ((azimuth > -180) & (azimuth <= 180)).all()
