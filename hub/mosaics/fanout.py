"""One request on many workers: a planning task, one task per chunk, a delivering task, and a
reaper for requests whose processes died.

    plan    (RUN_REQUEST)      claims the QUEUED request, searches the archive, stores the plan
                               in the request's work folder on product storage, sends the first
                               chunk tasks
    compose (COMPOSE_CHUNK)    composes one chunk into its piece (`compositing.pieces`), or a
                               few consecutive ones from a remote archive (`Plan.chunk_group`:
                               the next are read while one is composed), counts the pieces,
                               sends the request's next chunk task or, after the last piece,
                               the delivering task
    deliver (DELIVER_REQUEST)  assembles the pieces into the ordered formats and publishes the
                               product folder in one rename
    reap    (REAP_REQUESTS)    periodic (Celery beat): restarts or fails requests that no live
                               process works on, removes work folders nobody owns

Orders of at most `HUB_INLINE_CHUNKS` chunks are composed and delivered by the planning task
itself, so that a small order waits once for a worker, not once per task. Lanes for the others,
not one message per chunk at once: a request has at most `HUB_ORDER_TASKS` chunk tasks
on the broker at a time; each task, once its chunk is composed, sends the request's next chunk
not yet sent (`next_chunk`, taken under a row lock), so every lane keeps going until no chunk
is left and the last chunks are shared by every worker, whatever each chunk costs. Requests'
tasks therefore interleave on the queue, so a small order waits for a few chunks of a huge
one, not for all of them. Chunk tasks of requests with more than
`HUB_SMALL_ORDER_CHUNKS` chunks go to the bulk queue; planning, delivering and the chunks of
small orders go to the default queue. Workers consume both: on Redis the default queue first
(`queue_order_strategy` "priority", hub.env), on the filesystem broker in turn, so a small
order does not queue behind the lanes of every big one either.

Why not a chord: a chord's body runs when its header tasks have reported as many results as it
has members. A chunk task that is redelivered after its worker died (acks_late,
reject_on_worker_lost) reports again, so the body could run before every piece exists, and a
chord needs a result backend the embedded broker does not have. Here the pieces on storage are
the only record of what is done: a task that finds its piece skips the work, and the delivering
task is sent by whoever sees the last piece (`delivering` makes sure one process delivers).

Crash recovery: tasks are acknowledged late and rejected back to the broker when their pool
process dies, so Redis or AMQP redeliver them. The embedded filesystem broker has already
dropped a message once a worker took it, and a flushed Redis has dropped them all: every
process working on a request beats its `heartbeat_at` while it works, and the reaper restarts
a RUNNING request whose heartbeat is older than `HUB_TASK_LEASE_S` when nothing is left on the
broker for it to wait for, as a new `attempt` (tasks of an older attempt do nothing). After
`HUB_TASK_ATTEMPTS` attempts it fails the request, saying why.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F
from django.utils import timezone

from compositing.archive.read import close_datasets
from compositing.archive.scenes import ArchiveDataError
from compositing.memory import peak_rss_mib, release_free_memory
from compositing.pieces import WorkFolder
from compositing.pipeline import (
    PARTIAL_PREFIX,
    Plan,
    compose_pieces,
    deliver_product,
    partial_name,
    plan_mosaic,
    publish,
)
from compositing.products.naming import FileRecord, folder_name
from hub.mosaics.failures import failure_message
from hub.mosaics.links import product_links
from hub.mosaics.models import ACTIVE_STATUSES, MosaicRequest, ProductFile, Status
from hub.mosaics.operator import mosaic_settings
from hub.task_names import COMPOSE_CHUNK, DELIVER_REQUEST, RUN_REQUEST

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Send:
    """A task to send: its registered name, arguments, and whether it goes to the bulk queue."""

    name: str
    args: tuple[Any, ...]
    bulk: bool = False


# Sends a task to the workers (Celery), or queues it in this process (InlineDispatch).
Dispatch = Callable[[Send], None]


def product_id(req: MosaicRequest) -> str:
    """The short id in the product's folder and file names."""
    return str(req.pk)[:8]


def work_folder(req: MosaicRequest) -> WorkFolder:
    """Where the request's plan and pieces live while it is composed."""
    return WorkFolder(Path(settings.HUB_MEDIA_ROOT) / partial_name(product_id(req)))


def plan_request(request_id: str, dispatch: Dispatch) -> None:
    """Claim a QUEUED request, plan it and send its first chunk tasks."""
    claimed = MosaicRequest.objects.filter(pk=request_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now(),
        progress=0.0, chunks_done=0, next_chunk=0, delivering=False, tasks_waiting=0)
    if not claimed:
        log.info("request %s is not queued any more; skipped", request_id)
        return
    req = MosaicRequest.objects.get(pk=request_id)
    work = work_folder(req)
    with _failing_request(req), heartbeat(req.pk):
        shutil.rmtree(work.root, ignore_errors=True)
        plan = plan_mosaic(req.spec, mosaic_settings())
        work.save_plan(plan)
        MosaicRequest.objects.filter(pk=req.pk).update(chunks_total=plan.chunk_count,
                                                         work=plan.work)
    if not _still_running(req.pk, req.attempt):
        return
    if plan.chunk_count <= settings.HUB_INLINE_CHUNKS:
        # A small order is composed and delivered right here: sent as tasks, each of them
        # would queue again behind the chunks of larger orders.
        inline = InlineDispatch()
        _send_lanes(req.pk, req.attempt, plan, set(), inline)
        inline.run()
    else:
        _send_lanes(req.pk, req.attempt, plan, set(), dispatch)


def compose_chunk(request_id: str, attempt: int, index: int, dispatch: Dispatch) -> None:
    """Compose the chunks of the group starting at `index` (`Plan.chunk_group`; one chunk
    unless the archive is remote) that have no piece yet, then send what follows."""
    req = _started(request_id, attempt)
    if req is None:
        return
    work = work_folder(req)
    with _failing_request(req), heartbeat(req.pk):
        plan = _load_plan(work)
        composed = compose_pieces(plan, _group(plan, index), work)
        release_free_memory()
    if not composed:
        # A second message for the same chunks (a redelivery, or a lane the reaper sent while
        # the first still waited): the task that composed them continues the lane.
        return
    done = len(work.done())
    total = plan.chunk_count
    # The last percent is left for delivering, so 100 means the files are listed.
    updated = MosaicRequest.objects.filter(pk=req.pk, status=Status.RUNNING,
                                           attempt=attempt).update(
        chunks_done=done, progress=round(99.0 * done / total, 1), heartbeat_at=timezone.now())
    if not updated:  # cancelled, failed or restarted meanwhile
        return
    if done == total:
        _send(req.pk, Send(DELIVER_REQUEST, (str(req.pk), attempt)), dispatch)
        return
    following = _take_next_group(req.pk, attempt, plan, work)
    if following is not None:
        _send(req.pk, Send(COMPOSE_CHUNK, (str(req.pk), attempt, following),
                           bulk=_is_bulk(total)), dispatch)


def _group(plan: Plan, first: int) -> range:
    """The chunks of the group that starts at chunk `first`."""
    return range(first, min(first + plan.chunk_group, plan.chunk_count))


def _take_next_group(pk: Any, attempt: int, plan: Plan, work: WorkFolder) -> int | None:
    """The first chunk of the request's lowest group that no task was sent for and that has a
    chunk without a piece (an earlier attempt may have composed some), now taken; None when
    none is left or the attempt is over."""
    with transaction.atomic():
        row = (MosaicRequest.objects.select_for_update()
               .filter(pk=pk, status=Status.RUNNING, attempt=attempt)
               .values_list("next_chunk", flat=True).first())
        if row is None:
            return None
        index, total = row, plan.chunk_count
        while index < total and all(work.has_piece(i) for i in _group(plan, index)):
            index += plan.chunk_group
        MosaicRequest.objects.filter(pk=pk).update(
            next_chunk=min(index + plan.chunk_group, total))
    return index if index < total else None


def deliver_request(request_id: str, attempt: int) -> None:
    """Assemble and publish the product of a request whose every chunk is composed."""
    if _started(request_id, attempt) is None:
        return
    claimed = MosaicRequest.objects.filter(
        pk=request_id, status=Status.RUNNING, attempt=attempt, delivering=False).update(
        delivering=True, heartbeat_at=timezone.now())
    if not claimed:
        log.info("request %s (attempt %d) is delivered by another task, or not running; "
                 "skipped", request_id, attempt)
        return
    req = MosaicRequest.objects.get(pk=request_id)
    work = work_folder(req)
    with _failing_request(req), heartbeat(req.pk):
        plan = _load_plan(work)
        name = folder_name(plan.spec, settings.HUB_PRODUCT_PREFIX, product_id(req))
        staging, files = deliver_product(plan, mosaic_settings(), work, product_id(req), name,
                                         product_links(req))
    _publish(req, staging, files, work)
    close_datasets()  # the request's inputs; the next request reads others


def lanes() -> int:
    """Chunk tasks of one request on the broker at a time."""
    return int(settings.HUB_ORDER_TASKS)


def _is_bulk(chunks: int) -> bool:
    return chunks > settings.HUB_SMALL_ORDER_CHUNKS


def _send_lanes(pk: Any, attempt: int, plan: Plan, done: set[int],
                dispatch: Dispatch) -> int:
    """The first `lanes()` groups of chunks with a chunk missing, each a lane's first task;
    how many tasks were sent. With every chunk done, the delivering task."""
    total, size = plan.chunk_count, plan.chunk_group
    missing = [first for first in range(0, total, size)
               if any(i not in done for i in _group(plan, first))]
    if not missing:
        _send(pk, Send(DELIVER_REQUEST, (str(pk), attempt)), dispatch)
        return 1
    firsts = missing[:lanes()]
    MosaicRequest.objects.filter(pk=pk, attempt=attempt).update(
        next_chunk=min(firsts[-1] + size, total))
    for i in firsts:
        _send(pk, Send(COMPOSE_CHUNK, (str(pk), attempt, i), bulk=_is_bulk(total)), dispatch)
    return len(firsts)


def _send(pk: Any, send: Send, dispatch: Dispatch) -> None:
    """Send a task of the request, counted as waiting until it starts (`_started`)."""
    MosaicRequest.objects.filter(pk=pk).update(tasks_waiting=F("tasks_waiting") + 1)
    dispatch(send)


def _started(request_id: str, attempt: int) -> MosaicRequest | None:
    """The request, if this task of it should run: the request is running this attempt."""
    MosaicRequest.objects.filter(pk=request_id, attempt=attempt).update(
        tasks_waiting=F("tasks_waiting") - 1)
    req = MosaicRequest.objects.filter(pk=request_id).first()
    if req is None or req.status != Status.RUNNING or req.attempt != attempt:
        log.info("request %s attempt %d is not running (%s); task skipped", request_id,
                 attempt, "deleted" if req is None else f"{req.status}, attempt {req.attempt}")
        return None
    return req


def _still_running(pk: Any, attempt: int) -> bool:
    return MosaicRequest.objects.filter(pk=pk, status=Status.RUNNING, attempt=attempt).exists()


@lru_cache(maxsize=8)
def _cached_plan(path: str, mtime_ns: int) -> Plan:
    plan: Plan = WorkFolder(Path(path)).load_plan()
    return plan


def _load_plan(work: WorkFolder) -> Plan:
    """The request's plan, unpickled once per process and plan file."""
    return _cached_plan(str(work.root), work.plan_path.stat().st_mtime_ns)


def _publish(req: MosaicRequest, staging: Path, files: list[FileRecord],
             work: WorkFolder | None = None) -> None:
    """Move the delivered folder into place, remove the work folder and record the product:
    the request becomes DONE, unless it was cancelled or restarted meanwhile (then the folder
    is removed). Once DONE is read, nothing of the work is left on storage."""
    media = Path(settings.HUB_MEDIA_ROOT)
    final = media / staging.name
    relative = final.relative_to(media)
    with transaction.atomic():
        still_running = MosaicRequest.objects.select_for_update().filter(
            pk=req.pk, status=Status.RUNNING, attempt=req.attempt).exists()
        if not still_running:
            shutil.rmtree(staging.parent, ignore_errors=True)
            return
        publish(staging, final)
        if work is not None:
            shutil.rmtree(work.root, ignore_errors=True)
        ProductFile.objects.filter(request=req).delete()
        ProductFile.objects.bulk_create([
            ProductFile(request=req, name=f.name, path=str(relative / f.name), size=f.size,
                        sha256=f.sha256) for f in files
        ])
        MosaicRequest.objects.filter(pk=req.pk).update(
            status=Status.DONE, progress=100.0, finished_at=timezone.now(),
            expires_at=timezone.now() + timedelta(days=settings.HUB_RETENTION_DAYS),
            product_folder=str(relative), error="", delivering=False)


def fail(pk: Any, message: str) -> None:
    """A running request FAILED with a reason its owner reads."""
    MosaicRequest.objects.filter(pk=pk, status=Status.RUNNING).update(
        status=Status.FAILED, error=message, finished_at=timezone.now(), delivering=False)


@contextmanager
def _failing_request(req: MosaicRequest) -> Iterator[None]:
    """Errors of the work inside fail the request with a reason its owner can read
    (`failures`), and are not raised again, so that Celery does not retry what would fail the
    same way; its work folder, with whatever was written of it, is removed."""
    try:
        yield
    except Exception as exc:
        if not isinstance(exc, ArchiveDataError):
            log.exception("request %s failed", req.pk)
        fail(req.pk, failure_message(exc))
        shutil.rmtree(work_folder(req).root, ignore_errors=True)
        raise _RequestFailedError from exc


class _RequestFailedError(Exception):
    """The request was failed; the task ends quietly (see `run_task`)."""


def run_task(send: Send, dispatch: Dispatch) -> None:
    """Run a task of a request here; what it sends goes through `dispatch`. A request the
    task failed is not an error of the task (Celery would only retry it). Logs the task's
    time and peak memory, the figures an operator sizes workers by."""
    close_old_connections()
    peak_rss_mib(reset=True)
    start = time.perf_counter()
    try:
        _TASKS[send.name](*send.args, dispatch=dispatch)
    except _RequestFailedError:
        pass
    finally:
        log.info("%s %s: %.2f s, peak RSS %.0f MiB", send.name,
                 " ".join(map(str, send.args)), time.perf_counter() - start,
                 peak_rss_mib() or 0)


@contextmanager
def heartbeat(pk: Any) -> Iterator[None]:
    """Say every quarter lease that this process works on request pk, until the block ends
    (a killed process stops saying so: that is how the reaper knows)."""
    stop = threading.Event()
    interval = max(1.0, settings.HUB_TASK_LEASE_S / 4)

    def beat() -> None:
        try:
            while not stop.wait(interval):
                MosaicRequest.objects.filter(pk=pk, status=Status.RUNNING).update(
                    heartbeat_at=timezone.now())
        except Exception:  # the database away for a moment: the next task beats again
            log.warning("heartbeat of request %s failed", pk, exc_info=True)
        finally:
            connection.close()

    MosaicRequest.objects.filter(pk=pk, status=Status.RUNNING).update(heartbeat_at=timezone.now())
    thread = threading.Thread(target=beat, name=f"heartbeat-{pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


class InlineDispatch:
    """Runs the tasks a request sends in this process, in the order sent (the whole request
    in one process: `services.process_request`, tests, the CLI)."""

    def __init__(self) -> None:
        self.queue: deque[Send] = deque()

    def __call__(self, send: Send) -> None:
        self.queue.append(send)

    def run(self) -> None:
        while self.queue:
            run_task(self.queue.popleft(), self)


def _deliver(request_id: str, attempt: int, dispatch: Dispatch) -> None:
    deliver_request(request_id, attempt)


_TASKS: dict[str, Callable[..., None]] = {
    RUN_REQUEST: plan_request,
    COMPOSE_CHUNK: compose_chunk,
    DELIVER_REQUEST: _deliver,
}


# ---------------------------------------------------------------------------- reaper


@dataclass
class Reaped:
    """What one reaper run did."""

    restarted: list[str]
    failed: list[str]
    requeued: list[str]
    removed_folders: list[str]


def reap(dispatch: Dispatch, queued_messages: Callable[[], int],
         now: datetime | None = None) -> Reaped:
    """Restart or fail RUNNING requests that no live process works on, send again QUEUED
    requests whose planning task is gone, and remove work folders of requests that are not
    running.

    A RUNNING request is lost when its heartbeat is older than the lease and none of its tasks
    can still be waiting on the broker: none was sent and not started, or the hub's queues are
    empty (`queued_messages`: a flushed broker). Restarting keeps the pieces already composed.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.HUB_TASK_LEASE_S)
    result = Reaped([], [], [], [])
    stale = list(MosaicRequest.objects.filter(status=Status.RUNNING, heartbeat_at__lt=cutoff))
    waiting = [r for r in stale if r.tasks_waiting > 0]
    queue_empty = None
    if waiting or MosaicRequest.objects.filter(status=Status.QUEUED,
                                               created_at__lt=cutoff).exists():
        queue_empty = queued_messages() == 0
    for req in stale:
        if req.tasks_waiting <= 0 or queue_empty:
            _restart(req, now, dispatch, result)
    if queue_empty:
        for req in MosaicRequest.objects.filter(status=Status.QUEUED, created_at__lt=cutoff):
            dispatch(Send(RUN_REQUEST, (str(req.pk),)))
            result.requeued.append(str(req.pk))
            log.warning("request %s was queued for %d s with nothing on the broker; sent again",
                        req.pk, settings.HUB_TASK_LEASE_S)
    result.removed_folders = _remove_orphaned_work()
    return result


def _restart(req: MosaicRequest, now: datetime, dispatch: Dispatch, result: Reaped) -> None:
    attempts = settings.HUB_TASK_ATTEMPTS
    if req.attempt + 1 >= attempts:
        fail(req.pk, f"processing stopped {attempts} times (the worker processes composing it "
                     f"died or lost their broker); the request was given up")
        shutil.rmtree(work_folder(req).root, ignore_errors=True)
        result.failed.append(str(req.pk))
        log.error("request %s given up after %d attempts", req.pk, attempts)
        return
    claimed = MosaicRequest.objects.filter(
        pk=req.pk, status=Status.RUNNING, attempt=req.attempt, heartbeat_at=req.heartbeat_at
    ).update(attempt=req.attempt + 1, heartbeat_at=now, delivering=False, tasks_waiting=0)
    if not claimed:  # it beat meanwhile, or another reaper run took it
        return
    attempt = req.attempt + 1
    work = work_folder(req)
    if not work.has_plan():  # the planning task died: plan again
        MosaicRequest.objects.filter(pk=req.pk).update(status=Status.QUEUED)
        dispatch(Send(RUN_REQUEST, (str(req.pk),)))
    else:
        _send_lanes(req.pk, attempt, _load_plan(work), work.done(), dispatch)
    result.restarted.append(str(req.pk))
    log.warning("request %s had no live worker for %d s; restarted as attempt %d", req.pk,
                settings.HUB_TASK_LEASE_S, attempt)


def _remove_orphaned_work() -> list[str]:
    """Work folders of requests that are neither queued nor running (cancelled, failed, done,
    deleted): nothing will use their pieces."""
    media = Path(settings.HUB_MEDIA_ROOT)
    if not media.is_dir():
        return []
    active = {product_id(r) for r in MosaicRequest.objects.filter(status__in=ACTIVE_STATUSES)}
    removed = []
    for folder in media.glob(f"{PARTIAL_PREFIX}*"):
        if folder.is_dir() and folder.name[len(PARTIAL_PREFIX):] not in active:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    return removed
