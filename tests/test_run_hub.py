"""`make run`'s supervisor (bin/run-hub) with its real processes: the catalogue holds the demo
mosaics on first start, a worker that dies is started again while the web server keeps
serving, and TERM stops everything within 10 s."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.hubstack import REPO, free_port, wait_for

pytestmark = pytest.mark.heavy  # gunicorn and a Celery worker


def children(pid: int) -> set[int]:
    return {int(c) for task in Path(f"/proc/{pid}/task").glob("*")
            for c in (task / "children").read_text().split()}


def descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            for child in (task / "children").read_text().split():
                found.add(int(child))
                todo.append(int(child))
    return found


def command_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except FileNotFoundError:
        return ""


def test_run_hub_restarts_a_dead_worker_and_stops_within_10_s(tmp_path, demo_archive):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CELERY_"))}
    env.update(DEBUG="1", HUB_PORT=str(port), HUB_STATE_DIR=str(tmp_path / "state"),
               HUB_MEDIA_ROOT=str(tmp_path / "media"), HUB_ARCHIVE_DIR=str(demo_archive),
               HUB_STAC_URL="", HUB_QUEUE=f"run-hub-{port}")
    log = (tmp_path / "run-hub.log").open("w")
    hub = subprocess.Popen([str(REPO / "bin" / "run-hub")], cwd=REPO, env=env, stdout=log,
                           stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: requests.get(base + "/api/v1/openapi.json", timeout=5).ok, 120)
        demo = requests.get(base + "/catalogue/stac/collections/sentinel-2-global-mosaic/items",
                            timeout=10).json()
        assert demo["numberMatched"] == 2, (tmp_path / "run-hub.log").read_text()

        def workers() -> list[int]:  # the worker's main process (its pool has its command)
            return [p for p in children(hub.pid) if "celery -A workers worker" in command_of(p)]

        seen: list[int] = []

        def one_worker() -> bool:  # kept from the look that found it: /proc changes between
            seen[:] = workers()    # looks while the worker's pool starts
            return len(seen) == 1

        wait_for(one_worker, 60)
        first = seen[0]
        os.kill(first, signal.SIGKILL)  # as the out-of-memory killer would
        def replaced() -> bool:  # one look: the list may empty between two
            found = workers()
            return bool(found) and found[0] != first

        wait_for(replaced, 60)
        assert requests.get(base + "/api/v1/openapi.json", timeout=5).ok
        assert "the worker exited (status -9); starting it again" in \
            (tmp_path / "run-hub.log").read_text()

        everything = descendants(hub.pid)
        start = time.monotonic()
        hub.send_signal(signal.SIGTERM)
        hub.wait(timeout=15)
        took = time.monotonic() - start
        assert took < 10, f"stopped after {took:.1f} s"
        assert hub.returncode == 0
        left = [p for p in everything if Path(f"/proc/{p}").exists()
                and "zombie" not in Path(f"/proc/{p}/status").read_text()]
        assert not left, [command_of(p) for p in left]
    finally:
        if hub.poll() is None:
            hub.send_signal(signal.SIGTERM)
            try:
                hub.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(hub.pid, signal.SIGKILL)
        log.close()
