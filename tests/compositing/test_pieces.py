"""The work folder of an order: pieces are written whole or not at all, and read back as
written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np

from compositing.pieces import WorkFolder


def layers(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"B02": rng.integers(0, 10000, (64, 48), dtype=np.uint16),
            "valid_obs": rng.integers(0, 60, (64, 48), dtype=np.uint8),
            "method": np.full((64, 48), 2, np.uint8)}


def test_pieces_read_back_as_written_and_a_second_write_replaces_the_first(tmp_path):
    work = WorkFolder(tmp_path / "work")
    work.create()
    assert work.done() == set()
    work.write_piece(7, layers(1))
    work.write_piece(7, layers(2))
    work.write_piece(0, layers(3))
    assert work.done() == {0, 7}
    got = work.read_piece(7)
    for name, array in layers(2).items():
        assert got[name].dtype == array.dtype
        np.testing.assert_array_equal(got[name], array)


def test_a_writer_killed_mid_piece_leaves_no_piece(tmp_path):
    """A child writes one large piece after another until it is killed with SIGKILL: every
    piece it finished reads back whole, the one it was writing is not listed."""
    root = tmp_path / "work"
    script = (
        "import sys, numpy as np\n"
        "from compositing.pieces import WorkFolder\n"
        f"work = WorkFolder(__import__('pathlib').Path({str(root)!r})); work.create()\n"
        "big = {'B02': np.arange(4096 * 4096, dtype=np.uint16).reshape(4096, 4096)}\n"
        "for i in range(1000):\n"
        "    work.write_piece(i, big)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script])
    work = WorkFolder(root)
    deadline = time.monotonic() + 60
    while len(work.done()) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    done = work.done()
    assert len(done) >= 2
    leftovers = [p.name for p in work.pieces.iterdir() if p.name.startswith(".")]
    for index in done:
        assert work.read_piece(index)["B02"][-1, -1] == (4096 * 4096 - 1) % 65536
    # the next write of the unfinished piece succeeds and the temporary file does not count
    work.write_piece(max(done) + 1, layers(0))
    assert work.done() == done | {max(done) + 1}
    assert all(name.endswith(".tmp") for name in leftovers)
