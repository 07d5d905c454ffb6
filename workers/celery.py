"""The workers' Celery app: the hub's app (hub.celery_app) with this package's tasks on it."""

from hub.celery_app import app

app.autodiscover_tasks(["workers"])

__all__ = ["app"]
