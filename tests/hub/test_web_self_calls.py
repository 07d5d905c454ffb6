"""The web tier never waits on itself: with gunicorn's workers all busy on time series, and
`HUB_STAC_URL` naming the hub's own public STAC API (the old docker-compose setting), every call
answers and `/stac/` keeps answering, because the web process searches its archive in-process.
The access log proves no request of the web server reached its own `/stac/search`."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.hub.test_timeseries_api import PARAMS
from tests.hubstack import running_hub

pytestmark = pytest.mark.heavy  # gunicorn and its workers

WEB_WORKERS = 2
CALLS = 3 * WEB_WORKERS
# Well under gunicorn's 120 s worker timeout: a deadlocked site answers nothing before it.
CALL_TIMEOUT_S = 60


def test_concurrent_time_series_do_not_deadlock_a_hub_pointed_at_itself(tmp_path,
                                                                          demo_archive):
    env = {"HUB_STAC_URL": "http://127.0.0.1:{port}/stac/"}
    with running_hub("embedded", tmp_path, demo_archive, workers=0, env=env,
                     web_workers=WEB_WORKERS) as hub:
        headers = {"Authorization": f"Token {hub['token']}"}

        def series(n: int) -> requests.Response:
            params = {**PARAMS, "kind": "composite" if n % 2 else "observations"}
            return requests.get(hub["base"] + "/api/v1/timeseries", params=params,
                                headers=headers, timeout=CALL_TIMEOUT_S)

        with ThreadPoolExecutor(CALLS + 1) as pool:
            calls = [pool.submit(series, n) for n in range(CALLS)]
            landing = pool.submit(requests.get, hub["base"] + "/stac/",
                                  timeout=CALL_TIMEOUT_S)
            answers = [c.result() for c in calls]
            assert landing.result().status_code == 200
        assert [a.status_code for a in answers] == [200] * CALLS, [a.text for a in answers]
        assert all(a.json()["rows"] for a in answers)
        access = ""
        deadline = time.monotonic() + 10
        while access.count("/api/v1/timeseries") < CALLS and time.monotonic() < deadline:
            time.sleep(0.1)  # gunicorn logs a request after answering it
            access = (hub["logs"] / "web.log").read_text()
        assert access.count("/api/v1/timeseries") == CALLS, access
        assert "/stac/search" not in access, access
