"""The rate at which this hub composes orders, measured on its own finished orders."""

from __future__ import annotations

from django.db.models import F

from compositing.orders.effort import Rate, fit_rate
from hub.mosaics.models import MosaicRequest, Status

# Recent orders only: the rate follows the hub's hardware, workers and archives as they are now.
RATE_ORDERS = 50


def measured_rate() -> Rate | None:
    """Fitted to the last RATE_ORDERS finished orders whose work is known; None before any."""
    rows = (MosaicRequest.objects
            .filter(status=Status.DONE, work__gt=0, started_at__isnull=False,
                    finished_at__gte=F("started_at"))
            .order_by("-finished_at")
            .values_list("work", "started_at", "finished_at")[:RATE_ORDERS])
    return fit_rate([(work, (end - start).total_seconds()) for work, start, end in rows])
