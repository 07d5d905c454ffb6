"""Remove the files of products past their expiry now, as the scheduled task does."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from hub.mosaics.services import expire_products


class Command(BaseCommand):
    help = ("Remove the files of finished products whose expiry date has passed; the requests "
            "stay listed as Expired. Celery beat runs the same every HUB_EXPIRY_INTERVAL_S.")

    def handle(self, *args: Any, **opts: Any) -> None:
        expired = expire_products()
        for req in expired:
            self.stdout.write(f"expired {req.pk} {req.name} (due {req.expires_at:%Y-%m-%d %H:%M})")
        self.stdout.write(f"{len(expired)} product(s) expired")
