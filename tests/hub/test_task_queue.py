"""The hub sends tasks by name through its Celery app; the workers register those names."""

from __future__ import annotations

import queue

import pytest
from django.conf import settings

from hub import celery_app
from hub.mosaics import services
from hub.mosaics.models import MosaicRequest
from hub.task_names import EXPIRE_PRODUCTS, RUN_REQUEST
from tests.hub.test_user_area import make_request

pytestmark = pytest.mark.django_db


def test_the_workers_register_every_task_the_hub_sends_or_schedules_on_the_hubs_app():
    from workers import app

    assert app is celery_app.app
    app.loader.import_default_modules()
    assert {RUN_REQUEST, EXPIRE_PRODUCTS} <= set(app.tasks)
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled <= set(app.tasks)


def test_enqueue_puts_the_request_on_the_broker_under_the_task_name(alice):
    req = make_request(alice, "queued")
    services.enqueue(req.pk)
    req.refresh_from_db()
    assert req.task_id
    message = _take_message(req.task_id)
    assert message.headers["task"] == RUN_REQUEST
    args, kwargs, _ = message.decode()
    assert args == [str(req.pk)] and kwargs == {}
    assert MosaicRequest.objects.get(pk=req.pk).task_id == message.headers["id"]


def _take_message(task_id: str):  # type: ignore[no-untyped-def]
    """The message of task_id, taken off the hub's queue on the configured broker. Other
    messages are left unacknowledged: the broker restores them when the connection closes."""
    with celery_app.app.connection_for_read() as conn:
        with conn.SimpleQueue(settings.CELERY_TASK_DEFAULT_QUEUE) as q:
            while True:
                try:
                    message = q.get(block=True, timeout=5)
                except queue.Empty:
                    raise AssertionError(f"task {task_id} is not on the broker") from None
                if message.headers.get("id") == task_id:
                    message.ack()
                    return message
