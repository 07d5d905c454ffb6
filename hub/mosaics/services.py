"""What the hub does with mosaic requests; views and tasks call these and nothing else."""

from __future__ import annotations

import logging
import shutil
import tempfile
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

from compositing.archive.files import file_threads
from compositing.archive.scenes import search_scenes
from compositing.grid import OutputGrid
from compositing.orders.size import fit_to_limit, human_bytes, product_size
from compositing.orders.spec import MosaicSpec, parse_spec
from hub import celery_app
from hub.accounts.verification import require_verified
from hub.errors import ApiError
from hub.mosaics import fanout
from hub.mosaics.models import ACTIVE_STATUSES, MosaicRequest, ProductFile, Status
from hub.mosaics.operator import mosaic_settings
from hub.task_names import RUN_REQUEST

log = logging.getLogger(__name__)

def read_order(options: Mapping[str, Any]) -> MosaicSpec:
    """Ordering options (form, REST API) as a validated spec under this hub's limits, as it
    will be delivered (MGRS tiles beyond HUB_MAX_PRODUCT_GB, `size.fit_to_limit`)."""
    spec = parse_spec(options, max_area_km2=settings.HUB_MAX_AOI_KM2,
                      max_vertices=settings.HUB_MAX_AOI_VERTICES)
    return fit_to_limit(spec, settings.HUB_MAX_PRODUCT_GB * 10**9)


class StorageUnavailableError(ApiError):
    """Product storage cannot take the order now: not writable, or without the room the
    order needs while it is made (503)."""

    def __init__(self, message: str) -> None:
        super().__init__(503, message)


def free_storage_bytes() -> int:
    """Free bytes on the file system of product storage (HUB_MEDIA_ROOT, or the nearest
    folder above it that exists yet)."""
    folder = Path(settings.HUB_MEDIA_ROOT)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free


def check_storage(spec: MosaicSpec) -> None:
    """Raise StorageUnavailableError when product storage cannot be written or cannot hold
    the order while it is made."""
    media = Path(settings.HUB_MEDIA_ROOT)
    try:
        media.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=media, prefix=".write-test-"):
            pass
    except OSError as exc:
        log.error("product storage %s cannot be written: %s", media, exc)
        raise StorageUnavailableError(
            "product storage cannot be written to at the moment, so no order can be taken; "
            "the operator has been told (see the hub's log)") from None
    need, free = product_size(spec).working_bytes, free_storage_bytes()
    if need > free:
        raise StorageUnavailableError(
            f"product storage has {human_bytes(free)} free; this order needs about "
            f"{human_bytes(need)} while it is made. Order a smaller area or fewer bands, or "
            f"ask the operator for room")


class OrderLimitError(ApiError):
    """An order beyond one of the per-person limits of this hub (429: wait, then order)."""

    def __init__(self, message: str) -> None:
        super().__init__(429, message)


def order_pixels(spec: MosaicSpec) -> int:
    """Pixels the order composes (per layer): the measure of the work it queues. A change
    order composes each output pixel twice, once per period."""
    grid = OutputGrid.for_aoi(spec.aoi, spec.crs, spec.resolution)
    return grid.width * grid.height * spec.mosaics


def check_order_limits(spec: MosaicSpec, owner: Any) -> None:
    """Raise OrderLimitError when the owner's queued and running orders, with this one, pass
    HUB_MAX_ACTIVE_ORDERS orders or HUB_MAX_QUEUED_MPX megapixels."""
    active = list(MosaicRequest.objects.filter(owner=owner, status__in=ACTIVE_STATUSES))
    most = settings.HUB_MAX_ACTIVE_ORDERS
    if len(active) >= most:
        raise OrderLimitError(
            f"you have {len(active)} orders queued or processing, the most this hub takes per "
            f"person (HUB_MAX_ACTIVE_ORDERS = {most}); order again when one has finished, or "
            f"cancel one")
    queued = sum(order_pixels(r.spec) for r in active) + order_pixels(spec)
    limit_px = settings.HUB_MAX_QUEUED_MPX * 1_000_000
    if queued > limit_px:
        raise OrderLimitError(
            f"your queued and processing orders would hold {queued / 1e6:,.0f} megapixels, "
            f"more than this hub takes per person (HUB_MAX_QUEUED_MPX = "
            f"{settings.HUB_MAX_QUEUED_MPX:,}); order a smaller area or a coarser resolution, "
            f"or wait for your orders to finish")


def create_request(spec: MosaicSpec, owner: Any, public_url: str = "") -> MosaicRequest:
    """Save a validated order within the owner's limits and enqueue it after the commit
    (UnverifiedAddressError for an owner who has not confirmed their e-mail address,
    OrderLimitError beyond the limits, StorageUnavailableError without room: nothing is saved
    or queued).

    `public_url`: the hub's address the order came through (links.order_origin), for the
    product's links when HUB_PUBLIC_URL is not set.
    """
    require_verified(owner)
    with transaction.atomic():
        check_order_limits(spec, owner)
        check_storage(spec)
        req = MosaicRequest.from_spec(spec, owner)
        req.public_url = public_url
        req.save()
        transaction.on_commit(lambda: enqueue(req.pk))
    return req


def enqueue(request_id: Any) -> None:
    """Hand the request to the workers (by task name: the hub does not import them)."""
    task_id = celery_app.send_task(RUN_REQUEST, str(request_id), queue=None)
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


def warm_up() -> None:
    """Make this process's first order or time series as fast as its next one.

    Compiles the selection kernels or loads them from numba's cache (`compile_kernels`),
    searches the archive once, which starts the embedded STAC API and loads the code behind the
    first search (about 0.3 s of a small order otherwise), and starts the threads that read
    remote files where an archive is remote (`FileThreads.start_remote`: about 1 s). Run it in
    the process that composites, after any fork (see `compositing.selection.warmup`). Failures
    are logged, not raised: an order that meets the same failure reports it to its owner.
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
        search_scenes(hub.archives, box(0.0, 0.0, 1e-4, 1e-4), date(2015, 1, 1),
                      date(2015, 1, 1))
    except Exception as exc:
        log.warning("warm-up: the archive search failed (%s: %s)", type(exc).__name__, exc)
    if any(archive.remote for archive in settings.HUB_ARCHIVES):
        file_threads().start_remote()
    log.info("warmed up in %.1f s (%d kernel specialisations)", time.perf_counter() - start,
             kernels)


def process_request(request_id: str) -> None:
    """Run a queued request to DONE, FAILED or CANCELLED in this process: the same tasks the
    workers run (`fanout`), one after another."""
    dispatch = fanout.InlineDispatch()
    dispatch(fanout.Send(RUN_REQUEST, (str(request_id),)))
    dispatch.run()


def send_to_workers(send: fanout.Send) -> None:
    """Put a task on the broker: bulk chunk tasks on the bulk queue (`fanout` says why)."""
    celery_app.send_task(send.name, *send.args,
                         queue=settings.HUB_BULK_QUEUE if send.bulk else None)


def reap_requests() -> fanout.Reaped:
    """Restart or fail requests that no live worker composes (scheduled by Celery beat)."""
    return fanout.reap(send_to_workers, celery_app.queued_messages)


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
