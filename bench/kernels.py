"""Throughput of the selection kernels on 512x512 uint16 stacks with ~25 % invalid.

Prints output megapixels per second for medoid_index, for geomad's geometric median
(`nangeomedian_pcm`, what odc-algo uses; install with `pip install -e .[bench]`) and for a
per-band `numpy.nanmedian` on the same stacks, the ratios medoid / other, then stc_index.
The machine may be shared: compare ratios within one run, and repeat; the load average
is printed before and after.

    DEBUG=1 .venv/bin/python bench/kernels.py
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable

import numba
import numpy as np

from compositing.selection.kernels import STC_BANDS, medoid_index, stc_index

try:
    import geomad
except ImportError:  # optional: the bench extra
    geomad = None

SIZE = 512
CASES = [(6, 7), (20, 7), (60, 7), (20, 12)]


def best_of(func: Callable[[], object], repeats: int = 3) -> float:
    """Fastest of a few runs, in seconds (after one untimed warm-up run)."""
    func()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return min(times)


def mpx_per_s(func: Callable[[], object]) -> float:
    return SIZE * SIZE / best_of(func) / 1e6


def geomad_rate(refl: np.ndarray, valid: np.ndarray) -> float | None:
    """geomad on its own layout (y, x, band, time), uint16 with 0 as nodata, DN / 10000."""
    if geomad is None:
        return None
    stack = np.ascontiguousarray(np.where(valid[:, None], refl, 0).transpose(2, 3, 1, 0))
    threads = numba.get_num_threads()
    return mpx_per_s(lambda: geomad.nangeomedian_pcm(stack, num_threads=threads, nodata=0,
                                                     scale=1e-4, offset=0.0))


def nanmedian_rate(refl: np.ndarray, valid: np.ndarray) -> float:
    """Per-band median over time of float32 reflectance with NaN where not valid."""
    stack = np.where(valid[:, None], refl.astype(np.float32) * np.float32(1e-4), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels
        return mpx_per_s(lambda: np.nanmedian(stack, axis=0))


def ratio(a: float, b: float | None) -> str:
    return f"{a / b:>9.1f}x" if b else f"{'-':>10}"


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"numba threads: {numba.get_num_threads()}; geomad: "
          + (geomad.__version__ if geomad else "NOT INSTALLED (pip install -e .[bench]), skipped")
          + f"; load average {load_average()}")
    print(f"{'time':>5}{'band':>5}{'medoid':>10}{'geomad':>10}{'nanmedian':>11}"
          f"{'vs geomad':>11}{'vs nanmed':>10}   (Mpx/s)")
    for n_time, n_band in CASES:
        refl = rng.integers(1, 6000, size=(n_time, n_band, SIZE, SIZE), dtype=np.uint16)
        valid = rng.random((n_time, SIZE, SIZE)) >= 0.25
        medoid = mpx_per_s(lambda: medoid_index(refl, valid))  # noqa: B023
        geo = geomad_rate(refl, valid)
        med = nanmedian_rate(refl, valid)
        geo_text = f"{geo:>10.2f}" if geo is not None else f"{'-':>10}"
        print(f"{n_time:>5}{n_band:>5}{medoid:>10.2f}{geo_text}{med:>11.2f}"
              f"{ratio(medoid, geo):>11}{ratio(medoid, med):>10}")
    refl = rng.integers(1, 6000, size=(3, len(STC_BANDS), SIZE, SIZE), dtype=np.uint16)
    valid = rng.random((3, SIZE, SIZE)) >= 0.25
    stc = mpx_per_s(lambda: stc_index(refl, valid, STC_BANDS))
    print(f"stc_index {3} x {len(STC_BANDS)}: {stc:.2f} Mpx/s")
    print(f"load average after: {load_average()}")


def load_average() -> str:
    """1, 5 and 15 minute load averages: other processes on the same cores slow every rate."""
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


if __name__ == "__main__":
    main()
