"""Throughput of the selection kernels on 512x512 uint16 stacks with ~25 % invalid.

Prints output megapixels per second for medoid_index and stc_index; compare ratios within a run.
"""

from __future__ import annotations

import time

import numpy as np

from compositing.kernels import STC_BANDS, medoid_index, stc_index

SIZE = 512
CASES = [(6, 7), (20, 7), (60, 7), (20, 12)]


def best_of(func, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"{'kernel':<14}{'time':>6}{'band':>6}{'Mpx/s':>10}")
    for n_time, n_band in CASES:
        refl = rng.integers(1, 6000, size=(n_time, n_band, SIZE, SIZE), dtype=np.uint16)
        valid = rng.random((n_time, SIZE, SIZE)) >= 0.25
        medoid_index(refl[:, :, :8, :8], valid[:, :8, :8])  # compile outside the timing
        seconds = best_of(lambda: medoid_index(refl, valid))  # noqa: B023
        print(f"{'medoid_index':<14}{n_time:>6}{n_band:>6}{SIZE * SIZE / seconds / 1e6:>10.2f}")
    refl = rng.integers(1, 6000, size=(3, len(STC_BANDS), SIZE, SIZE), dtype=np.uint16)
    valid = rng.random((3, SIZE, SIZE)) >= 0.25
    stc_index(refl[:, :, :8, :8], valid[:, :8, :8], STC_BANDS)
    seconds = best_of(lambda: stc_index(refl, valid, STC_BANDS))
    print(f"{'stc_index':<14}{3:>6}{len(STC_BANDS):>6}{SIZE * SIZE / seconds / 1e6:>10.2f}")


if __name__ == "__main__":
    main()
