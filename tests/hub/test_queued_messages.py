"""`queued_messages`, which the reaper reads to tell a flushed broker from a busy one, on the
real brokers: the embedded one and Redis (where an empty queue does not exist at all)."""

from __future__ import annotations

import os
import uuid

import pytest

from tests.hubstack import manage, redis_broker

COUNT = """
from hub.celery_app import queued_messages, send_task
from django.conf import settings
print(queued_messages())
send_task("mosaics.nothing")
send_task("mosaics.nothing")
send_task("mosaics.nothing", queue=settings.HUB_BULK_QUEUE)
print(queued_messages())
"""


@pytest.mark.parametrize("backend", [pytest.param("redis", marks=pytest.mark.services),
                                     "embedded"])
def test_counts_the_messages_of_both_queues_and_zero_for_queues_never_used(backend, tmp_path):
    queue = f"count-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
    env.update(HUB_QUEUE=queue, HUB_STATE_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="hub.settings")
    if backend == "redis":
        env["CELERY_BROKER_URL"] = redis_broker()
    try:
        before, after = manage(env, "shell", "-c", COUNT).split()[-2:]
        assert (int(before), int(after)) == (0, 3)
    finally:
        if backend == "redis":
            import redis
            redis.Redis(host="127.0.0.1", port=6379).delete(queue, f"{queue}.bulk")
