"""Writing a product's files side by side (`compositing.products.parallel`)."""

from __future__ import annotations

import threading

import pytest

from compositing.products.parallel import write_all, writer_threads


def test_every_job_runs_even_after_one_fails_and_the_first_error_is_raised() -> None:
    ran: list[int] = []
    lock = threading.Lock()

    def job(i: int) -> None:
        with lock:
            ran.append(i)
        if i in (1, 3):
            raise ValueError(f"job {i} failed")

    with pytest.raises(ValueError, match="job 1 failed"):
        write_all([lambda i=i: job(i) for i in range(6)])
    assert sorted(ran) == list(range(6))


def test_jobs_run_on_as_many_threads_as_the_process_has_cores() -> None:
    if writer_threads() < 2:
        pytest.skip("this process may run on one core only")
    barrier = threading.Barrier(2, timeout=10)
    # Two jobs that each wait for the other: they finish only if they run at once.
    write_all([barrier.wait, barrier.wait])


def test_a_single_job_runs_on_the_calling_thread() -> None:
    seen: list[threading.Thread] = []
    write_all([lambda: seen.append(threading.current_thread())])
    assert seen == [threading.current_thread()]
