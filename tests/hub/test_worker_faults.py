"""Requests composed by several worker processes, and by workers that die: the processes are
real (gunicorn, Celery workers, Celery beat), started here; workers are killed with SIGKILL.

Every product must hold the same pixel values as the same order composed in one process by
`manage.py mosaic`, and no work folder may be left behind.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
import requests

from tests.conftest import TEST_AOI_BBOX
from tests.hubstack import manage, running_hub

pytestmark = pytest.mark.heavy  # hub processes per test

DONE_TIMEOUT_S = 300
# Small chunks, so that a 2 km order has dozens of chunk tasks to interrupt; the lease of the
# issue's test, so that the reaper finds lost work within a minute.
FAULT_ENV = {"HUB_CHUNK_SIZE": "40", "HUB_TASK_LEASE_S": "30", "HUB_ORDER_TASKS": "3"}
ORDER = {
    "name": "faults", "aoi": list(TEST_AOI_BBOX), "period": "month", "start": "2023-06-01",
    "resolution": 10, "crs": "EPSG:32629", "format": "GTiff",
    "bands": ["B02", "B03", "B04", "B08"], "aux": ["valid_obs", "method", "source_index"],
}
BACKENDS = [pytest.param("postgres+redis", marks=pytest.mark.services), "embedded"]


def order(hub: dict) -> str:
    headers = {"Authorization": f"Token {hub['token']}"}
    created = requests.post(hub["base"] + "/api/v1/mosaics", json=ORDER, headers=headers,
                            timeout=10)
    assert created.status_code == 201, created.text
    return hub["base"] + created.json()["links"]["self"]


def state_of(hub: dict, url: str) -> dict[str, Any]:
    headers = {"Authorization": f"Token {hub['token']}"}
    return requests.get(url, headers=headers, timeout=10).json()


def wait_until(hub: dict, url: str, done: Callable[[dict], bool], timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = state_of(hub, url)
        if done(state) or state["status"] in {"DONE", "FAILED", "CANCELLED"}:
            return state
        time.sleep(0.1)
    raise AssertionError(f"timed out; last state {state}\n{hub['procs'].logs_text()}")


def finished(hub: dict, url: str) -> dict:
    state = wait_until(hub, url, lambda s: False, DONE_TIMEOUT_S)
    assert state["status"] == "DONE", f"{state}\n{hub['procs'].logs_text()}"
    assert state["progress"] == 100
    return state


def product_arrays(folder: Path) -> dict[str, np.ndarray]:
    """Every data raster of a product folder, decoded, by file name without the product id."""
    arrays = {}
    for path in sorted(folder.rglob("*.tif")):
        with rasterio.open(path) as src:
            arrays[path.name.rsplit("_", 1)[0]] = src.read()
    assert arrays
    return arrays


def reference(hub: dict) -> dict[str, np.ndarray]:
    """The order composed in one process by the CLI, with the same settings."""
    out = hub["tmp"] / "cli"
    manage(hub["env"], "mosaic", "--aoi=" + ",".join(map(str, ORDER["aoi"])),
           "--start", ORDER["start"], "--period", ORDER["period"], "--resolution", "10",
           "--crs", ORDER["crs"], "--bands", ",".join(ORDER["bands"]),
           "--aux", ",".join(ORDER["aux"]), "--name", ORDER["name"], "--out", str(out))
    return product_arrays(next(out.iterdir()))


def assert_same_pixels(hub: dict, state: dict, want: dict[str, np.ndarray]) -> None:
    media = hub["tmp"] / "media"
    folders = [p for p in media.iterdir() if p.is_dir()]
    assert not [p.name for p in folders if p.name.startswith(".partial-")]
    folder = next(p for p in folders if p.name.endswith(state["id"][:8]))
    got = product_arrays(folder)
    assert got.keys() == want.keys()
    for name in want:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)


def pool_children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def wait_while_computing(pid: int, timeout: float = 60) -> None:
    """Return once the process computes (running on a CPU at two looks 5 ms apart): then it
    is inside a chunk, not between two."""
    deadline = time.monotonic() + timeout
    stat = Path(f"/proc/{pid}/stat")
    running = 0
    while time.monotonic() < deadline:
        state = stat.read_text().rsplit(")", 1)[1].split()[0]
        running = running + 1 if state == "R" else 0
        if running == 2:
            return
        time.sleep(0.005)
    raise AssertionError(f"process {pid} was never seen computing")


def kill_while_computing(pid: int) -> None:
    """SIGKILL the process while it computes, as the out-of-memory killer does to a pool
    process at its peak. Not between tasks: a pool process killed while it talks to the worker
    over their shared pipes can leave the prefork pool unable to start tasks (billiard), which
    no redelivery repairs."""
    wait_while_computing(pid)
    os.kill(pid, signal.SIGKILL)


# Chunks of the running request held by a worker process and nowhere else: sent (the request's
# cursor), not waiting on the broker, and without a piece on storage.
HELD_CHUNKS = """
from hub.celery_app import queued_messages
from hub.mosaics import fanout
from hub.mosaics.models import MosaicRequest, Status
req = MosaicRequest.objects.get(status=Status.RUNNING)
print(req.next_chunk - queued_messages() - len(fanout.work_folder(req).done()))
"""


def held_chunks(hub: dict) -> int:
    return int(manage(hub["env"], "shell", "-c", HELD_CHUNKS).split()[-1])


def kill_worker_mid_chunk(hub: dict, name: str, tries: int = 20) -> None:
    """kill -9 the worker and its pool process while a chunk task composes, before its piece
    is written, so that the chunk is lost with it and only the reaper can finish the order.
    The pool process is stopped (SIGSTOP) at a moment it computes; if it holds no chunk that
    is lost with it (its piece is written, or it is between tasks), it goes on and another
    moment is tried."""
    worker = hub["procs"].procs[name]
    for _ in range(tries):
        child = pool_children(worker.pid)[0]
        wait_while_computing(child)
        os.kill(child, signal.SIGSTOP)
        if held_chunks(hub) > 0:
            hub["procs"].kill(name)
            return
        os.kill(child, signal.SIGCONT)
    raise AssertionError(f"no moment found in {tries} tries with a chunk task mid-compose")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_worker_killed_mid_order_is_replaced_and_the_order_ends_done(
        backend, tmp_path, demo_archive):
    with running_hub(backend, tmp_path, demo_archive, beat=True, env=FAULT_ENV) as hub:
        url = order(hub)
        state = wait_until(hub, url, lambda s: s["progress"] >= 10, 120)
        assert state["status"] == "RUNNING" and state["progress"] < 90, state
        kill_worker_mid_chunk(hub, "worker0")
        killed_at = state_of(hub, url)["progress"]
        assert killed_at < 99, "the order ended before the kill"
        hub["procs"].start_worker("worker0")
        state = finished(hub, url)
        logs = hub["procs"].logs_text(tail=10**6)
        assert "restarted as attempt 1" in logs, logs[-5000:]  # by the reaper
        assert_same_pixels(hub, state, reference(hub))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_pool_process_killed_mid_chunk_has_its_chunk_redone(backend, tmp_path,
                                                              demo_archive):
    with running_hub(backend, tmp_path, demo_archive, beat=True, env=FAULT_ENV) as hub:
        url = order(hub)
        state = wait_until(hub, url, lambda s: s["progress"] >= 10, 120)
        assert state["status"] == "RUNNING", state
        worker = hub["procs"].procs["worker0"]
        children = pool_children(worker.pid)
        assert len(children) == 1
        kill_while_computing(children[0])
        state = finished(hub, url)
        assert_same_pixels(hub, state, reference(hub))


@pytest.mark.services
def test_one_two_and_three_workers_give_the_same_pixels(tmp_path, demo_archive):
    with running_hub("postgres+redis", tmp_path, demo_archive, workers=0,
                     env=FAULT_ENV) as hub:
        want = reference(hub)
        for n in (1, 2, 3):
            hub["procs"].start_worker(f"worker{n - 1}")
            state = finished(hub, order(hub))
            assert_same_pixels(hub, state, want)
