"""The work folder of one product being composed: its plan and the composed chunks ("pieces").

An order is composed chunk by chunk, possibly by many processes on many hosts that share the
product storage; each writes the pieces of its chunks here, and whoever assembles the product
reads them back in the plan's order. Every write is atomic (a temporary name, then one rename
on the same file system), so a process killed mid-write leaves no piece, only a temporary file
that the next write of the same piece replaces; writing a piece twice (a redelivered task)
writes the same values, so chunk tasks are idempotent.

    work/plan.pickle           the Plan (pipeline.Plan), written once by whoever planned
    work/pieces/000042.npz     chunk 42's stored arrays, by layer name (uncompressed: they live
                               only until the product is assembled, and deflate costs more
                               CPU than most chunks' compositing)
"""

from __future__ import annotations

import os
import pickle
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

# The stored arrays of one chunk, by layer name (band or auxiliary layer).
ChunkLayers = dict[str, np.ndarray]

_PIECE_SUFFIX = ".npz"


class WorkFolder:
    """A product's plan and pieces under one folder on shared storage."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.pieces = root / "pieces"

    @property
    def plan_path(self) -> Path:
        return self.root / "plan.pickle"

    def create(self) -> None:
        self.pieces.mkdir(parents=True, exist_ok=True)

    def save_plan(self, plan: Any) -> None:
        """Store the plan (any picklable object) for the processes that compose its chunks."""
        self.create()
        _atomic_write(self.plan_path,
                      lambda f: pickle.dump(plan, f, protocol=pickle.HIGHEST_PROTOCOL))

    def has_plan(self) -> bool:
        return self.plan_path.is_file()

    def load_plan(self) -> Any:
        """The stored plan. The file is written by this project's own workers on the hub's
        product storage, which is trusted as the database is."""
        return pickle.loads(self.plan_path.read_bytes())

    def piece_path(self, index: int) -> Path:
        return self.pieces / f"{index:06d}{_PIECE_SUFFIX}"

    def has_piece(self, index: int) -> bool:
        return self.piece_path(index).is_file()

    def write_piece(self, index: int, layers: ChunkLayers) -> None:
        """Store chunk `index`'s layers; replaces an earlier piece of the same chunk."""
        arrays: dict[str, Any] = dict(layers)  # numpy types savez(**kwds) as its flags
        _atomic_write(self.piece_path(index), lambda f: np.savez(f, **arrays))

    def read_piece(self, index: int) -> ChunkLayers:
        with np.load(self.piece_path(index), allow_pickle=False) as data:
            return {name: data[name] for name in data.files}

    def done(self) -> set[int]:
        """The indices of the chunks whose pieces are stored."""
        try:
            names = os.listdir(self.pieces)
        except FileNotFoundError:
            return set()
        return {int(name[:-len(_PIECE_SUFFIX)]) for name in names
                if name.endswith(_PIECE_SUFFIX) and not name.startswith(".")}


def _atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write path through `write`, visible under its name only once complete and on disk."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with tmp.open("wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
