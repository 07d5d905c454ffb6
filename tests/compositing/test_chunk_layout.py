"""Chunks cut along the inputs' block grid cover the grid once, keep the chunks of a shared
block together, and put chunk edges on block edges."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st

from compositing.archive.blocks import BlockGrid, layout_on_blocks
from compositing.grid import ChunkLayout, OutputGrid


def grid(height: int, width: int) -> OutputGrid:
    return OutputGrid(32629, Affine(10, 0, 500000, 0, -10, 5800000), width, height)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 70), st.integers(1, 70), st.integers(1, 16), st.integers(0, 200),
       st.integers(0, 200), st.sampled_from([(), (2,), (4, 2), (3,)]))
def test_chunks_cover_every_pixel_once(height, width, size, row, col, groups):
    layout = ChunkLayout(size, (row, col), groups)
    g = grid(height, width)
    seen = np.zeros((height, width), int)
    chunks = list(layout.chunks(g))
    for c in chunks:
        assert 0 < c.height <= size and 0 < c.width <= size
        assert c.transform == g.transform @ Affine.translation(c.col_off, c.row_off)
        # Every edge inside the grid lies on the anchor's lattice.
        for edge, anchor in ((c.row_off, row), (c.col_off, col)):
            assert edge == 0 or (edge - anchor) % size == 0
        seen[c.row_off:c.row_off + c.height, c.col_off:c.col_off + c.width] += 1
    assert (seen == 1).all()
    assert layout.count(g) == len(chunks)


def test_the_chunks_of_one_block_follow_each_other():
    # Blocks of 4 x 4 chunks of 2 px, their edges at row 1 and column 3 (mod 8).
    layout = ChunkLayout(2, (1, 3), (4,))
    blocks = [((c.row_off - 1) // 8, (c.col_off - 3) // 8) for c in layout.chunks(grid(20, 20))]
    runs = [b for i, b in enumerate(blocks) if i == 0 or blocks[i - 1] != b]
    assert len(runs) == len(set(runs)), "a block's chunks come in one run"


@pytest.mark.parametrize("size,groups", [(512, (2,)), (256, (4, 2)), (128, (8, 4)),
                                         (1024, ()), (2048, ())])
def test_sentinel2_blocks_at_10m(size, groups):
    # 512 px blocks: 10 m bands (5120 m = 512 output px), 20 m bands and SCL (1024 px), the
    # tile's origin 37 columns left of and 5 rows above the grid's corner.
    blocks = [BlockGrid(512, 512, -5, -37), BlockGrid(1024, 1024, -5, -37)]
    layout = layout_on_blocks(size, blocks)
    assert layout.anchor == ((-5) % 1024, (-37) % 1024)
    assert layout.groups == groups


def test_blocks_that_do_not_nest_or_fit_give_plain_chunks():
    assert layout_on_blocks(300, [BlockGrid(512, 512, 0, 0)]) == ChunkLayout(300)
    # A block grid not nested in the largest (another origin) is left out.
    layout = layout_on_blocks(512, [BlockGrid(512, 512, 0, 0), BlockGrid(1024, 1024, 7, 0)])
    assert layout == ChunkLayout(512, (7, 0), (2,))


def test_a_file_that_cannot_be_opened_leaves_plain_chunks(tmp_path):
    from compositing.archive.blocks import block_grid

    assert block_grid(str(tmp_path / "missing.tif"), grid(10, 10)) is None
