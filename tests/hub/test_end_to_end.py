"""Order through the REST API against a real web server and a real Celery worker.

Two deployments: production-shaped (PostgreSQL + Redis on loopback, gunicorn) and the embedded
default of `make run` (SQLite + the serverless filesystem transport). Each runs in subprocesses
with its own database, queue and product folder, and must give the same raster as the in-process
`manage.py mosaic` command for the same order.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rasterio
import requests

from tests.conftest import TEST_AOI_BBOX as DEMO_AOI_BBOX

REPO = Path(__file__).resolve().parents[2]
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(env: dict, *args: str) -> str:
    proc = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def postgres_database() -> Iterator[str]:
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True,
                                connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable on 127.0.0.1:5432 ({exc}); make test starts it")
    name = f"mosaichub_e2e_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgres://postgres@127.0.0.1:5432/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def redis_broker() -> str:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_timeout=3).ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"Redis is not reachable on 127.0.0.1:6379 ({exc}); make test starts it")
    return "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["postgres+redis", "embedded"])
def deployment(request, tmp_path, demo_archive) -> Iterator[dict]:
    """A running hub (web + worker) and an API token of its user alice."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CELERY_"))}
    env.update(DEBUG="0", SECRET_KEY="e2e-test-key", HUB_ARCHIVE_DIR=str(demo_archive),
               HUB_MEDIA_ROOT=str(tmp_path / "media"), HUB_STATE_DIR=str(tmp_path / "state"),
               HUB_STAC_URL="", HUB_QUEUE=f"e2e-{uuid.uuid4().hex[:8]}", HUB_CHUNK_SIZE="64",
               DJANGO_SETTINGS_MODULE="hub.settings")
    database = None
    if request.param == "postgres+redis":
        database = postgres_database()
        env["DATABASE_URL"] = next(database)
        env["CELERY_BROKER_URL"] = redis_broker()
    manage(env, "migrate", "--noinput")
    manage(env, "shell", "-c", "from django.contrib.auth import get_user_model; "
                               "get_user_model().objects.create_user('alice', password='x1!a')")
    token = manage(env, "create_token", "alice").strip()
    port = free_port()
    logs = tmp_path / "logs"
    logs.mkdir()
    procs = [
        subprocess.Popen([sys.executable, "-m", "gunicorn", "hub.wsgi", "-b",
                          f"127.0.0.1:{port}", "-w", "1", "--timeout", "120"], cwd=REPO, env=env,
                         stdout=(logs / "web.log").open("w"), stderr=subprocess.STDOUT),
        subprocess.Popen([sys.executable, "-m", "celery", "-A", "workers", "worker",
                          "--concurrency=1", "--loglevel=INFO", f"--hostname=e2e-{port}@%h"],
                         cwd=REPO, env=env, stdout=(logs / "worker.log").open("w"),
                         stderr=subprocess.STDOUT),
    ]
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: requests.get(base + "/api/v1/openapi.json", timeout=10).ok, 90)
        yield {"base": base, "token": token, "env": env, "tmp": tmp_path, "logs": logs}
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        if database is not None:
            next(database, None)


def wait_for(check, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except requests.RequestException:  # not listening yet, or still importing
            pass
        time.sleep(0.5)
    raise AssertionError(f"not ready within {timeout} s")


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
