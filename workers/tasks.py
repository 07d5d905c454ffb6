"""Thin tasks: primary keys in, a service call, nothing else."""

from celery import shared_task


@shared_task(name="mosaics.run_request", acks_late=True)
def run_mosaic_request(request_id: str) -> None:
    """Compose one mosaic request."""
    from hub.mosaics.services import process_request

    process_request(request_id)


@shared_task(name="mosaics.expire_products")
def expire_products() -> int:
    """Free the storage of products past their retention (scheduled by Celery beat)."""
    from hub.mosaics.services import expire_products as expire

    return len(expire())
