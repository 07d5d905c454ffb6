"""Compile, or load from numba's cache, every kernel specialisation an order uses, before one.

numba compiles a kernel once per argument type signature: each array's dtype, dimensions and
layout (C-contiguous or any, "A"), and here also the medoid's band count (`band_slots`). A
signature met for the first time costs seconds of compilation; with `cache=True` the machine
code is written beside the kernels (compositing/selection/__pycache__, or NUMBA_CACHE_DIR, or
numba's per-user cache when the source tree is read-only) and a new process only loads it, which
still costs a noticeable part of a small order. `compile_kernels` pays both up front:
`make install` runs it once (`python -m compositing.selection.warmup`), so a fresh install does
not compile during its first order, and each worker process runs it before it takes an order.

The signatures are those `composite.select` passes, so `compile_kernels` calls `select` itself
on tiny stacks shaped like the pipeline's (a uint16 stack DN array, its classification with a
halo): the medoid takes a leading slice of the stack (layout A, or C with one observation) and
the STC, which runs only where fewer observations than the medoid needs are valid, the
classification cropped to the chunk (layout A, or C for one observation of one pixel, as in
the time series of one pixel). Float32 stacks only reach
the kernels from tests and bench/kernels.py, so they are not compiled here.
tests/hub/test_kernel_warmup.py checks that a real order and the time series compile nothing
more.

Fork: with the OpenMP threading layer numba picks here, a process that has compiled or run a
parallel kernel must not fork children that run one (numba terminates them). So this runs in
the process that composites, after any fork (Celery's `worker_process_init`), never before.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import numba
import numpy as np
from numba.core.dispatcher import Dispatcher

from compositing import l2a
from compositing.archive.stack import STACK_DN_OFFSET, Stack
from compositing.selection import kernels, mask
from compositing.selection.composite import select, stack_bands

# The kernels called from Python; the others are compiled into them.
ENTRY_KERNELS: tuple[Dispatcher[Any], ...] = (
    kernels._medoid_kernel, kernels._stc_kernel, mask._valid_kernel, mask._prefer_kernel,
    mask._prefer_at_kernel, mask._count_kernel)

_HALO = 1  # the pipeline's classification always has a halo (`mask.stc_clear_px` >= 1)


def _tiny_stack(n_time: int, size: int, cloudy_corner: bool = False) -> Stack:
    """A stack of n_time clear observations of size x size pixels, as `read_stack` lays it out:
    every band a selection reads, the classification grown by the halo; with `cloudy_corner`
    the first pixel is clouded in all observations but the last."""
    bands = stack_bands(())
    rng = np.random.default_rng(n_time)
    reflectance = rng.uniform(0.02, 0.4, (n_time, len(bands), size, size))
    refl = np.rint(reflectance / 1e-4 - STACK_DN_OFFSET).astype(np.uint16)
    grown = size + 2 * _HALO
    scl = np.full((n_time, grown, grown), l2a.SCL_VEGETATION, np.uint8)
    if cloudy_corner:
        scl[:-1, _HALO, _HALO] = l2a.SCL_CLOUD_HIGH
    return Stack(np.arange(n_time), bands, refl, scl,
                 np.full((n_time, size, size), 0.1, np.float32),
                 np.zeros((n_time, size, size), bool), _HALO)


# (what it stands for, observations, pixels per side, first pixel clouded but once)
CASES: tuple[tuple[str, int, int, bool], ...] = (
    ("several observations", l2a.MEDOID_MIN_OBSERVATIONS + 1, 2, False),
    # The STC's candidates over the chunk (`mask._prefer_kernel`), or pixel by pixel where
    # few pixels need them (`mask._prefer_at_kernel`, a yearly order's case).
    ("fewer than the medoid needs", l2a.MEDOID_MIN_OBSERVATIONS - 1, 2, False),
    ("fewer than the medoid needs on one pixel", l2a.MEDOID_MIN_OBSERVATIONS + 1, 3, True),
    ("one observation of one pixel", 1, 1, False),
    ("no observation", 0, 2, False),
)


def compile_kernels() -> list[str]:
    """Every kernel specialisation an order uses, compiled or loaded; returns them described
    (`describe`), each with "compiled" or "cached" for how this process got it."""
    for _, n_time, size, cloudy_corner in CASES:
        select(_tiny_stack(n_time, size, cloudy_corner), stc_clear_px=_HALO)
    done = [f"{describe(kernel, sig)}: {how}" for kernel, sig, how in _specialisations()]
    for kernel in ENTRY_KERNELS:
        if not kernel.signatures:
            raise RuntimeError(f"{kernel.py_func.__name__} was not called: select changed its path")
    return done


def _specialisations() -> Iterator[tuple[Dispatcher[Any], tuple[Any, ...], str]]:
    for kernel in ENTRY_KERNELS:
        # Counted by argument types (numba's stubs say by name).
        hits: Counter[Any] = kernel.stats.cache_hits
        for sig in kernel.signatures:
            yield kernel, sig, "cached" if hits[sig] else "compiled"


def kernel_signatures() -> dict[str, set[str]]:
    """The signatures every numba kernel of `kernels` and `mask` holds now, by name (for
    checks)."""
    return {name: {str(sig) for sig in obj.signatures} for module in (kernels, mask)
            for name, obj in vars(module).items() if isinstance(obj, Dispatcher)}


def describe(kernel: Dispatcher[Any], sig: tuple[Any, ...]) -> str:
    """A signature in short: arrays as dtype, dimensions and layout (`uint16[4d A]`)."""
    def short(t: Any) -> str:
        if isinstance(t, numba.types.Array):
            return f"{t.dtype}[{t.ndim}d {t.layout}]"
        return str(t)

    return f"{kernel.py_func.__name__}({', '.join(short(t) for t in sig)})"


def main() -> None:
    """Compile every kernel specialisation; print them, the cache folder and the time."""
    start = time.perf_counter()
    done = compile_kernels()
    seconds = time.perf_counter() - start
    for line in done:
        print(line)
    print(f"{len(done)} kernel specialisations in {seconds:.1f} s; numba cache: "
          f"{ENTRY_KERNELS[0].stats.cache_path}")


if __name__ == "__main__":
    main()
