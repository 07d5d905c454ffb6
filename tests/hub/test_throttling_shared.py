"""Rate-limit counts are shared by every gunicorn worker of the hub (a per-process count would
let each worker allow the limit again), on the embedded database cache and on Redis."""

from __future__ import annotations

import pytest
import requests

from tests.hubstack import running_hub

pytestmark = pytest.mark.heavy  # gunicorn and its workers


@pytest.mark.parametrize("backend", [pytest.param("postgres+redis", marks=pytest.mark.services),
                                     "embedded"])
def test_wrong_passwords_are_counted_once_across_gunicorn_workers(backend, tmp_path,
                                                                  demo_archive):
    # A day's window: 12 requests never straddle two (a minute's could, and start counting anew).
    env = {"HUB_RATE_LIMITS": "login.username=5/d"}
    with running_hub(backend, tmp_path, demo_archive, workers=0, env=env,
                     web_workers=3) as hub:
        url = hub["base"] + "/accounts/login/"
        answers = []
        for n in range(12):
            with requests.Session() as session:  # a new connection: any worker may take it
                session.get(url, timeout=10)
                answer = session.post(url, timeout=10, data={
                    "username": hub["user"], "password": f"wrong-{n}",
                    "csrfmiddlewaretoken": session.cookies["csrftoken"]})
                answers.append(answer)
        assert [a.status_code for a in answers] == [200] * 5 + [429] * 7
        assert all(1 <= int(a.headers["Retry-After"]) <= 86400 for a in answers[5:])
