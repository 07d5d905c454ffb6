"""The workers' Celery app: the hub's app (hub.celery_app) with this package's tasks on it.

Every process that runs tasks warms up before its first one (`services.warm_up`: the selection
kernels and the archive search), so that its first order is as fast as the next. Pool processes
do it in `worker_process_init` (sent in each prefork child after the fork, and by the solo pool
in the main process): with numba's OpenMP threading layer, a child forked from a process that
has compiled or run a parallel kernel dies at its own first one, so the prefork parent must
never warm up. Pools that send no `worker_process_init` and run the tasks in the main process
(threads, gevent, eventlet) warm up in `worker_init`.
"""

import os
from typing import Any

from celery.concurrency import get_implementation
from celery.concurrency.prefork import TaskPool as PreforkPool
from celery.signals import worker_init, worker_process_init

from hub.celery_app import app

app.autodiscover_tasks(["workers"])

_warmed_up_pid: int | None = None


def warm_up() -> None:
    """`services.warm_up` once per process."""
    global _warmed_up_pid
    if _warmed_up_pid == os.getpid():
        return
    _warmed_up_pid = os.getpid()
    from hub.mosaics import services  # needs Django's apps, ready by the time workers start

    services.warm_up()


@worker_process_init.connect
def warm_up_pool_process(**_: Any) -> None:
    """A pool process, before it reports ready (CELERY_WORKER_PROC_ALIVE_TIMEOUT)."""
    warm_up()


@worker_init.connect
def warm_up_main_process(sender: Any, **_: Any) -> None:
    """The worker's main process, unless a prefork pool runs the tasks in its children."""
    if not issubclass(get_implementation(sender.pool_cls), PreforkPool):
        warm_up()


__all__ = ["app"]
