"""Thin tasks: primary keys in, a service call, nothing else."""

from celery import shared_task

from hub.mosaics import services
from hub.task_names import EXPIRE_PRODUCTS, RUN_REQUEST


@shared_task(name=RUN_REQUEST, acks_late=True)
def run_mosaic_request(request_id: str) -> None:
    """Compose one mosaic request."""
    services.process_request(request_id)


@shared_task(name=EXPIRE_PRODUCTS)
def expire_products() -> int:
    """Free the storage of products past their retention (scheduled by Celery beat)."""
    return len(services.expire_products())
