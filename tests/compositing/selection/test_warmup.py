"""compile_kernels compiles each specialisation the pipeline passes, and a new process loads
them from numba's cache. That a real order and the time series need nothing more is checked
on the demo archive through the hub's STAC API: tests/hub/test_kernel_warmup.py."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from compositing.selection.warmup import compile_kernels
from tests.conftest import REPO

# The stack's layouts the pipeline passes: the medoid gets the leading medoid bands of the stack
# (a strided slice, contiguous with one observation), the STC the classification without its
# halo (strided, contiguous for one observation of one pixel); the STC runs only where fewer
# observations than the medoid needs are valid.
MEDOID_STACKS = {"uint16[4d A]", "uint16[4d C]"}
STC_CLASSIFICATIONS = {"uint8[3d A]", "uint8[3d C]"}


def layouts(lines: list[str], kernel: str, arg: int) -> set[str]:
    """Argument `arg` of each specialisation of `kernel` among compile_kernels' lines."""
    return {line.split("(", 1)[1].split(", ")[arg] for line in lines
            if line.startswith(f"{kernel}(")}


def test_it_reports_the_pipelines_specialisations_of_both_kernels():
    done = compile_kernels()
    assert all(line.endswith((": compiled", ": cached")) for line in done)
    # This process may hold others (the kernel tests' float32 ones): a superset here, the exact
    # set in a new process below.
    assert layouts(done, "_medoid_kernel", 0) >= MEDOID_STACKS
    assert layouts(done, "_stc_kernel", 2) >= STC_CLASSIFICATIONS


def warmup_in_a_new_process() -> list[str]:
    """`python -m compositing.selection.warmup` in a fresh interpreter: its output lines."""
    proc = subprocess.run([sys.executable, "-m", "compositing.selection.warmup"], cwd=REPO,
                          env=os.environ.copy(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()


@pytest.mark.heavy
def test_a_new_process_loads_every_specialisation_from_numbas_cache():
    first = warmup_in_a_new_process()  # compiles what the cache lacks (or holds for old code)
    specialisations = first[:-1]
    # Two each of the medoid and the STC, one of each validity kernel (`mask`).
    assert len(specialisations) == 8, first
    assert layouts(specialisations, "_medoid_kernel", 0) == MEDOID_STACKS
    assert layouts(specialisations, "_stc_kernel", 2) == STC_CLASSIFICATIONS
    again = warmup_in_a_new_process()
    assert [line.rsplit(": ", 1)[0] for line in again[:-1]] == [
        line.rsplit(": ", 1)[0] for line in specialisations]
    assert all(line.endswith(": cached") for line in again[:-1]), again
    assert again[-1].startswith("8 kernel specialisations in ") and "numba cache: /" in again[-1]
