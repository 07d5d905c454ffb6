"""Celery app and thin tasks of the Mosaic Hub."""

from workers.celery import app

__all__ = ["app"]
