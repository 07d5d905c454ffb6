"""What "My requests" shows per request beyond the model's fields."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from django.utils import timezone

from compositing.products.quicklook import TRUE_COLOUR, quicklook_kind
from hub.mosaics import services
from hub.mosaics.models import MosaicRequest, ProductFile


@dataclass(frozen=True)
class RequestRow:
    """One request of the list with its derived columns."""

    req: MosaicRequest
    queue_position: int | None
    time_taken: str
    quicklook: ProductFile | None
    file_count: int
    total_size: int

    @property
    def period_label(self) -> str:
        return self.req.spec.period_type.adjective


def request_rows(reqs: Iterable[MosaicRequest], now: datetime | None = None) -> list[RequestRow]:
    """Rows for the requests (their files prefetched), with queue positions from one query."""
    reqs = list(reqs)
    positions = services.queue_positions(reqs)
    rows = []
    for req in reqs:
        files = list(req.files.all())
        rows.append(RequestRow(
            req=req, queue_position=positions.get(req.pk),
            time_taken=time_taken(req, now), quicklook=quicklook_file(files),
            file_count=len(files), total_size=sum(f.size for f in files)))
    return rows


class _Named(Protocol):
    name: str


_File = TypeVar("_File", bound=_Named)


def quicklook_file(files: Iterable[_File]) -> _File | None:
    """The product's true-colour quicklook: the PNG at the top of the product folder (its
    files, or a catalogue item's)."""
    pngs = [f for f in files if f.name.lower().endswith(".png") and "/" not in f.name]
    named = [f for f in pngs if quicklook_kind(f.name) == TRUE_COLOUR]
    return next(iter(named or pngs), None)


def time_taken(req: MosaicRequest, now: datetime | None = None) -> str:
    """Processing time, or the time so far while it runs; empty before it starts."""
    if req.started_at is None:
        return ""
    end = req.finished_at or (timezone.now() if now is None else now)
    return format_duration(end - req.started_at)


def format_duration(delta: timedelta) -> str:
    """'45 s', '3 min 05 s', '2 h 07 min': precise enough to compare runs, short for a table."""
    seconds = max(0, round(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
