"""Thin tasks: primary keys in, a service call, nothing else.

The request's tasks are acknowledged after they ran and handed back to the broker when their
process dies (acks_late, reject_on_worker_lost), so a broker that redelivers (Redis, AMQP)
runs them again; they are idempotent (hub.mosaics.fanout).
"""

from celery import shared_task

from hub.mosaics import fanout, services
from hub.task_names import (
    COMPOSE_CHUNK,
    DELIVER_REQUEST,
    EXPIRE_PRODUCTS,
    REAP_REQUESTS,
    RUN_REQUEST,
)

_REQUEST_TASK = {"acks_late": True, "reject_on_worker_lost": True}


@shared_task(name=RUN_REQUEST, **_REQUEST_TASK)
def run_mosaic_request(request_id: str) -> None:
    """Plan one mosaic request and send its chunk tasks."""
    fanout.run_task(fanout.Send(RUN_REQUEST, (request_id,)), services.send_to_workers)


@shared_task(name=COMPOSE_CHUNK, **_REQUEST_TASK)
def compose_chunk(request_id: str, attempt: int, index: int) -> None:
    """Compose one chunk of a request."""
    fanout.run_task(fanout.Send(COMPOSE_CHUNK, (request_id, attempt, index)),
                    services.send_to_workers)


@shared_task(name=DELIVER_REQUEST, **_REQUEST_TASK)
def deliver_request(request_id: str, attempt: int) -> None:
    """Assemble and publish the product of a request whose chunks are all composed."""
    fanout.run_task(fanout.Send(DELIVER_REQUEST, (request_id, attempt)),
                    services.send_to_workers)


@shared_task(name=REAP_REQUESTS)
def reap_requests() -> dict[str, list[str]]:
    """Restart or fail requests no live worker composes (scheduled by Celery beat)."""
    reaped = services.reap_requests()
    return {"restarted": reaped.restarted, "failed": reaped.failed,
            "requeued": reaped.requeued, "removed_folders": reaped.removed_folders}


@shared_task(name=EXPIRE_PRODUCTS)
def expire_products() -> int:
    """Free the storage of products past their retention (scheduled by Celery beat)."""
    return len(services.expire_products())
