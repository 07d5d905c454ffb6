"""The operator's compositing settings, from Django's settings (the tasks, the time series and
the CLI pass them to `compositing`)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from datetime import date

from django.conf import settings

from compositing.archive.archives import OWN_STAC_API, Archive
from compositing.archive.network import apply_archive_options
from compositing.archive.scenes import collection_interval
from compositing.pipeline import MosaicSettings
from compositing.products.metadata import Contact


def archives() -> tuple[Archive, ...]:
    """The archives this hub searches, in priority order (`settings.HUB_ARCHIVES`): one on this
    hub's own STAC API is searched at its address (`stac_api_url`), in HUB_STAC_COLLECTION."""
    resolved = tuple(_resolved(a) for a in settings.HUB_ARCHIVES)
    apply_archive_options(resolved)  # GDAL reads each archive's files with its own options
    return resolved


def _resolved(archive: Archive) -> Archive:
    """The archive with this hub's own STAC API's address, where it is on it."""
    from hub.stac.embedded import stac_api_url

    if archive.stac_url != OWN_STAC_API:
        return archive
    return replace(archive, stac_url=stac_api_url(), collection=settings.HUB_STAC_COLLECTION)


log = logging.getLogger(__name__)
# How long a remote archive's stated time span is reused (it changes by a day at a time).
_INTERVAL_TTL_S = 600.0
_intervals: dict[tuple[str, str], tuple[float, tuple[date, date | None] | None]] = {}
_intervals_lock = threading.Lock()


def serves_own_archive(archive: Archive) -> bool:
    """Whether the archive is the local one this hub's STAC API serves (HUB_ARCHIVE_DIR)."""
    from hub.stac.embedded import names_this_hub

    configured = settings.HUB_STAC_URL
    return archive.stac_url == OWN_STAC_API and (not configured or names_this_hub(configured))


def archive_interval() -> tuple[date, date] | None:
    """The first and last acquisition day over the hub's archives, or None when none states
    one. The local archive's from its catalogue; others' from their STAC API's collection
    extent (an open end is today), looked up again after ten minutes; an archive that cannot
    be reached is left out (and logged)."""
    from hub.stac.views import local_interval

    spans: list[tuple[date, date]] = []
    for archive in settings.HUB_ARCHIVES:
        if serves_own_archive(archive):
            span = local_interval()
        else:
            stated = _stated_interval(_resolved(archive))
            span = (stated[0], stated[1] or date.today()) if stated else None
        if span is not None:
            spans.append(span)
    if not spans:
        return None
    return min(s[0] for s in spans), max(s[1] for s in spans)


def _stated_interval(archive: Archive) -> tuple[date, date | None] | None:
    now = time.monotonic()
    with _intervals_lock:
        cached = _intervals.get((archive.stac_url, archive.collection))
    if cached is not None and now - cached[0] < _INTERVAL_TTL_S:
        return cached[1]
    try:
        stated = collection_interval(archive)
    except Exception as exc:  # an unreachable archive must not take the order form down
        log.warning("archive %s: its time span could not be read (%s: %s)", archive.name,
                    type(exc).__name__, exc)
        return None
    with _intervals_lock:
        _intervals[archive.stac_url, archive.collection] = (now, stated)
    return stated


def mosaic_settings() -> MosaicSettings:
    """The compositing settings of this hub."""
    return MosaicSettings(
        archives=archives(),
        chunk_size=settings.HUB_CHUNK_SIZE, medoid_min_obs=settings.HUB_MEDOID_MIN_OBS,
        prefix=settings.HUB_PRODUCT_PREFIX,
        contact=Contact(settings.HUB_CONTACT_NAME, settings.HUB_ORGANISATION,
                        settings.HUB_CONTACT_EMAIL),
    )
