"""The Celery app of the Mosaic Hub, configured from Django's settings (CELERY_* names).

The web process sends tasks through it by name and never imports `workers`; the worker process
(`celery -A workers`) runs this same app with the tasks of `workers` registered on it, so broker
and queue settings are read in one place for both sides.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery

# Before the app exists: Celery installs its Django fix-up only when this is set.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")

app = Celery("mosaichub")
app.config_from_object("django.conf:settings", namespace="CELERY")


def send_task(name: str, *args: Any, queue: str | None = None) -> str:
    """Put a task on the broker by its registered name (hub.task_names), on `queue` or the
    default queue; returns its id."""
    return str(app.send_task(name, args=args, queue=queue).id)


def queued_messages() -> int:
    """Messages waiting on the broker in the queues the workers consume (not those a worker
    has taken); the transports' own count (Redis LLEN, files of the filesystem broker).

    A queue the broker does not know counts as empty: Redis deletes an empty list, so a queue
    that nothing waits on does not exist there, and a passive declare of it fails.
    """
    total = 0
    with app.connection_for_read() as conn:
        for queue in app.conf.task_queues or [app.conf.task_default_queue]:
            name = getattr(queue, "name", queue)
            # A channel per queue: on AMQP a failed declare closes its channel.
            with conn.channel() as channel:
                try:
                    total += channel.queue_declare(queue=name, passive=True).message_count
                except conn.channel_errors:
                    pass
    return total
