"""Order through the REST API against a real web server and a real Celery worker.

Two deployments: production-shaped (PostgreSQL + Redis on loopback, gunicorn) and the embedded
default of `make run` (SQLite + the serverless filesystem transport). Each runs in subprocesses
with its own database, queue and product folder, and must give the same raster as the in-process
`manage.py mosaic` command for the same order.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pytest
import rasterio
import requests

from tests.conftest import TEST_AOI_BBOX as DEMO_AOI_BBOX
from tests.hubstack import manage, running_hub

pytestmark = pytest.mark.heavy  # a web process and a Celery worker per deployment
DONE_TIMEOUT_S = 240
ORDER = {
    "name": "e2e",
    "aoi": list(DEMO_AOI_BBOX),
    "period": "month",
    "start": "2023-06-01",
    "resolution": 20,
    "crs": "EPSG:32629",
    "format": "GTiff",
    "bands": ["B02", "B03", "B04", "B08"],
    "aux": ["valid_obs", "method", "source_index"],
}


@pytest.fixture(params=[pytest.param("postgres+redis", marks=pytest.mark.services),
                        "embedded"])
def deployment(request, tmp_path, demo_archive) -> Iterator[dict]:
    """A running hub (web + worker) and an API token of its user alice."""
    with running_hub(request.param, tmp_path, demo_archive) as hub:
        yield hub


def test_an_order_goes_from_queued_to_done_and_downloads(deployment):
    base, headers = deployment["base"], {"Authorization": f"Token {deployment['token']}"}
    created = requests.post(base + "/api/v1/mosaics", json=ORDER, headers=headers, timeout=10)
    assert created.status_code == 201, created.text
    url = base + created.json()["links"]["self"]
    seen, deadline = set(), time.monotonic() + DONE_TIMEOUT_S
    while time.monotonic() < deadline:
        state = requests.get(url, headers=headers, timeout=10).json()
        seen.add(state["status"])
        if state["status"] in {"DONE", "FAILED"}:
            break
        time.sleep(0.5)
    logs = "\n".join(p.read_text()[-3000:] for p in deployment["logs"].iterdir())
    assert state["status"] == "DONE", f"{state}\n{logs}"
    assert state["progress"] == 100
    files = {f["name"]: f for f in state["files"]}
    assert "metadata.json" in files
    band_file = next(n for n in files if n.startswith("bands_M20_20230601_e2e"))
    response = requests.get(base + files[band_file]["href"], headers=headers, timeout=30)
    assert response.status_code == 200
    assert len(response.content) == files[band_file]["size"]
    downloaded = deployment["tmp"] / "downloaded.tif"
    downloaded.write_bytes(response.content)
    # The worker wrote the links of the host the order came through (no HUB_PUBLIC_URL here).
    meta = requests.get(base + files["metadata.json"]["href"], headers=headers, timeout=10)
    assert meta.json()["Resource_locator"] == f"{base}/requests/{state['id']}/"
    item = requests.get(base + files["stac_item.json"]["href"], headers=headers, timeout=10)
    assert item.json()["assets"]["bands"]["href"] == base + files[band_file]["href"]

    out = deployment["tmp"] / "cli"
    manage(deployment["env"], "mosaic", "--aoi=" + ",".join(map(str, DEMO_AOI_BBOX)),
           "--start", "2023-06-01", "--period", "month", "--resolution", "20",
           "--crs", "EPSG:32629", "--bands", "B02,B03,B04,B08", "--name", "e2e",
           "--out", str(out))
    reference = next(out.glob(f"*/{band_file}"))
    with rasterio.open(downloaded) as got, rasterio.open(reference) as want:
        assert got.crs.to_epsg() == 32629
        assert got.transform == want.transform and got.transform.a == 20
        assert got.count == 4 and got.descriptions == ("B02", "B03", "B04", "B08")
        assert got.nodata == 65535 and got.dtypes[0] == "uint16"
        data = got.read()
        np.testing.assert_array_equal(data, want.read())
        assert (data != 65535).mean() > 0.8, "most of the AOI should have a composite value"
