"""The items of every archive this hub searches over an AOI and period: what the order form's
preview, its period grid and its warnings are made of. The local archive is searched in
process; a remote archive that is down is named, never an error of the page."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from django.conf import settings
from shapely.geometry.base import BaseGeometry

from compositing.archive.coverage import COVERAGE_ITEMS, archive_items
from hub.mosaics.operator import archives, serves_own_archive
from hub.stac.views import get_archive

log = logging.getLogger(__name__)


@dataclass
class Found:
    """Items per archive: how many match (None: its API does not count), up to the limit of
    them, whether those are all, and the archives that could not be asked, with why."""

    counts: dict[str, int | None] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=list)
    complete: bool = True
    unreachable: dict[str, str] = field(default_factory=dict)

    @property
    def any(self) -> bool:
        return any(self.counts.values()) or bool(self.items)


def items_over(aoi: BaseGeometry, start: date, end: date,
               limit: int = COVERAGE_ITEMS) -> Found:
    """Every archive's items over the AOI from the start of `start` to the end of `end` (UTC)."""
    found = Found()
    window = (f"{datetime.combine(start, time.min, UTC):%Y-%m-%dT%H:%M:%SZ}/"
              f"{datetime.combine(end, time.max, UTC):%Y-%m-%dT%H:%M:%SZ}")
    for configured, archive in zip(settings.HUB_ARCHIVES, archives(), strict=True):
        matched: int | None
        if serves_own_archive(configured):
            page = get_archive().search(intersects=aoi.__geo_interface__, datetime=window,
                                        collections=[archive.collection], limit=limit)
            items, matched = page.items, page.number_matched
            complete = len(items) >= page.number_matched
        else:
            try:
                items, matched, complete = archive_items(archive, aoi, start, end, limit)
            except Exception as exc:  # noqa: BLE001 - a remote archive that is down
                log.warning("archive %s could not be searched (%s: %s)", archive.name,
                            type(exc).__name__, exc)
                found.unreachable[archive.name] = f"{archive.stac_url} could not be searched"
                continue
        found.counts[archive.name] = matched
        found.items += items
        found.complete &= complete
    return found
