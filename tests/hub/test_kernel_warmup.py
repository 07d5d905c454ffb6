"""After the warm-up, orders and time series compile no kernel, and each process that composes
warms up before its first one: Celery's pool processes, not their parent, and the web server.

Each case runs in a fresh interpreter: in this one the kernels may have been compiled already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management.utils import get_random_secret_key

from tests.conftest import REPO

pytestmark = pytest.mark.heavy

SETUP = """
import json, sys, threading
import django
django.setup()
from compositing.selection import kernels
from compositing.selection.warmup import compile_kernels, kernel_signatures

def warm():
    return len(kernels._medoid_kernel.signatures) + len(kernels._stc_kernel.signatures)
"""

# A month (several observations a pixel), a day with one acquisition, and time series by day
# (periods without an observation or with one) and by month, of one pixel and of 3x3.
ORDERS_AND_SERIES = """
import tempfile
from datetime import date
from pathlib import Path
from compositing.orders.spec import parse_spec
from compositing.pipeline import run_mosaic
from compositing.timeseries import PointQuery, composite_series
from hub.mosaics.services import mosaic_settings
from tests.compositing.test_timeseries import LAT, LON
from tests.conftest import TEST_AOI_BBOX

def orders_and_series():
    settings = mosaic_settings()
    with tempfile.TemporaryDirectory() as out:
        for n, (period, start) in enumerate([("month", "2023-06-01"), ("day", "2023-06-02")]):
            spec = parse_spec({"aoi": list(TEST_AOI_BBOX), "start": start, "period": period,
                               "resolution": 60, "crs": "EPSG:32629", "bands": ["B04"]})
            run_mosaic(spec, settings, Path(out), f"o{n}")
    for period in ("day", "month"):
        for window in (1, 3):
            query = PointQuery(LON, LAT, date(2023, 6, 1), date(2023, 6, 30), period, 60,
                               window, ("B04", "B08"))
            composite_series(query, settings.archives)
"""


def run_python(code: str, env: dict[str, str]) -> str:
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


@pytest.fixture
def hub_env(demo_archive: Path, tmp_path: Path) -> dict[str, str]:
    """The environment of a hub process on the demo archive, with the embedded STAC API."""
    (tmp_path / "media").mkdir()
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "hub.settings", "DEBUG": "0",
            "SECRET_KEY": get_random_secret_key(), "HUB_ARCHIVE_DIR": str(demo_archive),
            "HUB_STAC_URL": "", "HUB_STATE_DIR": str(tmp_path / "state"),
            "HUB_MEDIA_ROOT": str(tmp_path / "media")}


def test_orders_and_time_series_compile_nothing_after_the_warm_up(hub_env):
    used = json.loads(run_python(SETUP + ORDERS_AND_SERIES + """
orders_and_series()
print(json.dumps({k: sorted(v) for k, v in kernel_signatures().items()}))
""", hub_env))
    result = json.loads(run_python(SETUP + ORDERS_AND_SERIES + """
compile_kernels()
warmed = kernel_signatures()
orders_and_series()
after = kernel_signatures()
print(json.dumps({"warmed": {k: sorted(v) for k, v in warmed.items()},
                  "new": {k: sorted(after[k] - warmed[k]) for k in after if after[k] - warmed[k]}}))
""", hub_env))
    assert result["new"] == {}
    # Every specialisation warmed is one these orders and series need, and they need each.
    for kernel in ("_medoid_kernel", "_stc_kernel"):
        assert result["warmed"][kernel] == used[kernel]
    assert len(used["_medoid_kernel"]) == 2 and len(used["_stc_kernel"]) == 2


# Celery's start-up signals as a worker with pool POOL sends them: worker_init in the main process,
# then worker_process_init in each prefork pool process, or in the main process for solo.
WORKER_SIGNALS = """
import logging
from celery.signals import worker_init, worker_process_init
import workers
from hub.stac import embedded

class Worker:  # what the handlers read of Celery's WorkController
    app = workers.app
    pool_cls = POOL

class Messages(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())

log = Messages()
logging.getLogger("hub.mosaics.services").addHandler(log)
worker_init.send(sender=Worker())
after_init = warm()
if POOL != "threads":
    worker_process_init.send(sender="test@host")
print(json.dumps([after_init, warm(), embedded._server is not None,
                  sum(m.startswith("warmed up") for m in log.messages)]))
"""


@pytest.mark.parametrize("pool,after_init,after_process_init", [
    ("prefork", 0, 4),  # the parent forks the pool processes: it must not warm up
    ("solo", 4, 4),  # runs tasks in the main process, and sends worker_process_init there too
    ("threads", 4, 4),
])
def test_a_celery_worker_warms_up_in_the_processes_that_run_tasks(hub_env, pool, after_init,
                                                                   after_process_init):
    out = run_python(SETUP + WORKER_SIGNALS.replace("POOL", repr(pool)), hub_env)
    assert json.loads(out) == [after_init, after_process_init, True, 1]


def test_the_web_server_entry_point_warms_up_beside_the_server(hub_env):
    out = run_python(SETUP + """
import hub.wsgi
assert callable(hub.wsgi.application)
for thread in threading.enumerate():
    if thread.name == "warm-up":
        thread.join()
print(warm())
""", hub_env)
    assert out == "4"


@pytest.mark.parametrize(("archives", "started"), [("local", 0), ("local,earth-search", 3)])
def test_a_worker_with_remote_archives_starts_their_reading_threads_at_warm_up(
        hub_env, archives, started):
    """Not in its first order: each thread's first raster costs GDAL and PROJ milliseconds
    with Python's lock held (`compositing.archive.files`). Offline, Earth Search's search
    fails, which the warm-up logs, and the threads start all the same."""
    count = run_python("""
import threading
import django
django.setup()
from hub.mosaics.services import warm_up
warm_up()
print(len([t for t in threading.enumerate() if t.name.startswith("remote-")]))
""", {**hub_env, "HUB_ARCHIVES": archives, "HUB_REMOTE_READ_THREADS": "3"})
    assert int(count) == started
