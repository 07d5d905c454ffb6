"""What the hub does with mosaic requests; views and tasks call these and nothing else."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from shapely.geometry import box

from compositing.archive.scenes import ArchiveDataError, search_scenes
from compositing.orders.spec import MosaicSpec, parse_spec
from compositing.pipeline import MosaicSettings, run_mosaic
from compositing.products.metadata import Contact
from compositing.products.naming import FileRecord
from hub import celery_app
from hub.mosaics.links import product_links
from hub.mosaics.models import ACTIVE_STATUSES, MosaicRequest, ProductFile, Status
from hub.task_names import RUN_REQUEST

log = logging.getLogger(__name__)

# Progress is written at most this often (seconds), so a fast chunk loop does not hammer the DB.
PROGRESS_INTERVAL_S = 1.0


class CancelledError(Exception):
    """The owner cancelled the request while it ran."""


def read_order(options: Mapping[str, Any]) -> MosaicSpec:
    """Ordering options (form, REST API) as a validated spec under this hub's limits."""
    return parse_spec(options, max_area_km2=settings.HUB_MAX_AOI_KM2)


def create_request(spec: MosaicSpec, owner: Any, public_url: str = "") -> MosaicRequest:
    """Save a validated order and enqueue it after the commit.

    `public_url`: the hub's address the order came through (links.order_origin), for the
    product's links when HUB_PUBLIC_URL is not set.
    """
    with transaction.atomic():
        req = MosaicRequest.from_spec(spec, owner)
        req.public_url = public_url
        req.save()
        transaction.on_commit(lambda: enqueue(req.pk))
    return req


def enqueue(request_id: Any) -> None:
    """Hand the request to the workers (by task name: the hub does not import them)."""
    task_id = celery_app.send_task(RUN_REQUEST, str(request_id))
    MosaicRequest.objects.filter(pk=request_id).update(task_id=task_id)


def cancel_or_delete(req: MosaicRequest) -> str:
    """Cancel an active request; delete a finished one with its files. Returns what was done."""
    if req.status in ACTIVE_STATUSES:
        MosaicRequest.objects.filter(pk=req.pk, status__in=ACTIVE_STATUSES).update(
            status=Status.CANCELLED, finished_at=timezone.now(), error="cancelled by the owner")
        return "cancelled"
    remove_product(req)
    req.delete()
    return "deleted"


def remove_product(req: MosaicRequest) -> None:
    """Delete the product folder of a request from storage."""
    if req.product_folder:
        shutil.rmtree(Path(settings.HUB_MEDIA_ROOT) / req.product_folder, ignore_errors=True)


def mosaic_settings() -> MosaicSettings:
    """The compositing settings of this hub."""
    from hub.stac.embedded import stac_api_url

    return MosaicSettings(
        stac_url=stac_api_url(), collection=settings.HUB_STAC_COLLECTION,
        chunk_size=settings.HUB_CHUNK_SIZE, medoid_min_obs=settings.HUB_MEDOID_MIN_OBS,
        prefix=settings.HUB_PRODUCT_PREFIX,
        contact=Contact(settings.HUB_CONTACT_NAME, settings.HUB_ORGANISATION,
                        settings.HUB_CONTACT_EMAIL),
    )


def warm_up() -> None:
    """Make this process's first order or time series as fast as its next one.

    Compiles the selection kernels or loads them from numba's cache (`compile_kernels`), and
    searches the archive once, which starts the embedded STAC API and loads the code behind the
    first search (about 0.3 s of a small order otherwise). Run it in the process that
    composites, after any fork (see `compositing.selection.warmup`). Failures are logged, not
    raised: an order that meets the same failure reports it to its owner.
    """
    from compositing.selection.warmup import compile_kernels

    start = time.perf_counter()
    try:
        kernels = len(compile_kernels())
    except Exception:
        log.exception("warm-up: the selection kernels did not compile")
        kernels = 0
    try:
        hub = mosaic_settings()
        # An empty day on a tiny AOI: the search path is loaded, nothing is read.
        search_scenes(hub.stac_url, hub.collection, box(0.0, 0.0, 1e-4, 1e-4), date(2015, 1, 1),
                      date(2015, 1, 1))
    except Exception as exc:
        log.warning("warm-up: the archive search failed (%s: %s)", type(exc).__name__, exc)
    log.info("warmed up in %.1f s (%d kernel specialisations)", time.perf_counter() - start,
             kernels)


def process_request(request_id: str) -> None:
    """Run a queued request to DONE, FAILED or CANCELLED (called by the worker task)."""
    claimed = MosaicRequest.objects.filter(pk=request_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=timezone.now(), progress=0.0)
    if not claimed:
        log.info("request %s is not queued any more; skipped", request_id)
        return
    req = MosaicRequest.objects.get(pk=request_id)
    try:
        result = run_mosaic(req.spec, mosaic_settings(), Path(settings.HUB_MEDIA_ROOT),
                            str(req.pk)[:8], progress=_progress_writer(req.pk),
                            links=product_links(req))
    except CancelledError:
        log.info("request %s cancelled while running", request_id)
        return
    except ArchiveDataError as exc:
        _fail(req.pk, str(exc))
        return
    except Exception as exc:
        log.exception("request %s failed", request_id)
        _fail(req.pk, f"processing failed: {type(exc).__name__}: {exc}")
        return
    _record_product(req, result.folder, result.files)


def _record_product(req: MosaicRequest, folder: Path, files: list[FileRecord]) -> None:
    """The finished product and its files in the database: the request becomes DONE, unless
    it was cancelled meanwhile (then the folder is removed)."""
    relative = folder.relative_to(Path(settings.HUB_MEDIA_ROOT))
    with transaction.atomic():
        still_running = MosaicRequest.objects.select_for_update().filter(
            pk=req.pk, status=Status.RUNNING).exists()
        if not still_running:  # cancelled at the very end: do not resurrect it
            shutil.rmtree(folder, ignore_errors=True)
            return
        ProductFile.objects.bulk_create([
            ProductFile(request=req, name=f.name, path=str(relative / f.name), size=f.size,
                        sha256=f.sha256) for f in files
        ])
        MosaicRequest.objects.filter(pk=req.pk).update(
            status=Status.DONE, progress=100.0, finished_at=timezone.now(),
            expires_at=timezone.now() + retention_period(),
            product_folder=str(relative), error="")


def _fail(pk: Any, message: str) -> None:
    MosaicRequest.objects.filter(pk=pk, status=Status.RUNNING).update(
        status=Status.FAILED, error=message, finished_at=timezone.now())


def _progress_writer(pk: Any):  # type: ignore[no-untyped-def]
    last = [0.0]

    def report(fraction: float) -> None:
        now = time.monotonic()
        if fraction < 1.0 and now - last[0] < PROGRESS_INTERVAL_S:
            return
        last[0] = now
        # Leave the last percent for publishing, so 100 means the files are listed.
        updated = MosaicRequest.objects.filter(pk=pk, status=Status.RUNNING).update(
            progress=round(99.0 * fraction, 1))
        if not updated:
            raise CancelledError

    return report


def retention_period() -> timedelta:
    """How long a published product stays downloadable."""
    return timedelta(days=settings.HUB_RETENTION_DAYS)


def queue_position(req: MosaicRequest) -> int | None:
    """1 for the next request the workers take, counting every user's queued requests."""
    if req.status != Status.QUEUED:
        return None
    ahead = MosaicRequest.objects.filter(status=Status.QUEUED).filter(
        Q(created_at__lt=req.created_at) | Q(created_at=req.created_at, pk__lt=req.pk))
    return ahead.count() + 1


def queue_positions(reqs: Iterable[MosaicRequest]) -> dict[Any, int]:
    """Queue positions of the queued ones among reqs, from one query over the whole queue."""
    wanted = {r.pk for r in reqs if r.status == Status.QUEUED}
    if not wanted:
        return {}
    queue = (MosaicRequest.objects.filter(status=Status.QUEUED)
             .order_by("created_at", "pk").values_list("pk", flat=True))
    return {pk: n for n, pk in enumerate(queue, start=1) if pk in wanted}


def expire_products(now: datetime | None = None) -> list[MosaicRequest]:
    """Remove the files of finished products past their expiry; the requests stay, EXPIRED.

    Safe to run again and concurrently: a request is claimed by its DONE -> EXPIRED update, and
    files already gone from storage are not an error.
    """
    now = now or timezone.now()
    expired = []
    due = MosaicRequest.objects.filter(status=Status.DONE, expires_at__lte=now)
    for req in due.order_by("expires_at"):
        with transaction.atomic():
            claimed = MosaicRequest.objects.filter(pk=req.pk, status=Status.DONE).update(
                status=Status.EXPIRED)
            if not claimed:  # deleted, or expired by a concurrent run
                continue
            ProductFile.objects.filter(request=req).delete()
        remove_product(req)
        log.info("request %s expired (due %s); its files were removed", req.pk, req.expires_at)
        expired.append(req)
    return expired
