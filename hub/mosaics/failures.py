"""What the person who ordered reads when their order failed: the cause in their terms, never
a path on the server (those stay in the worker's log)."""

from __future__ import annotations

import errno
import re
import shutil
from pathlib import Path

from django.conf import settings

from compositing.archive.scenes import ArchiveDataError

STORAGE_FULL = ("product storage is full: the order stopped and its partial files were "
                "removed. Order again later, or ask the operator for room")
# Below this much free space a failed write is taken for a full disk even where GDAL's message
# does not say so ("TIFFAppendToStrip: Write error").
_NEARLY_FULL_BYTES = 32 * 2**20
# An absolute path of two or more parts: its folders are the server's business.
_PATH = re.compile(r"(?<![\w.:/])/(?:[^\s/'\"():,;]+/)+([^\s/'\"():,;]*)")


def failure_message(exc: BaseException) -> str:
    """The reason an order failed, as its owner reads it."""
    if storage_full(exc):
        return STORAGE_FULL
    if isinstance(exc, ArchiveDataError):
        return without_paths(str(exc))
    return without_paths(f"processing failed: {type(exc).__name__}: {exc}")


def storage_full(exc: BaseException) -> bool:
    """Whether the error, or one it came from, is a write to a full product storage."""
    chain: BaseException | None = exc
    while chain is not None:
        if isinstance(chain, OSError) and chain.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "No space left on device" in str(chain):
            return True
        chain = chain.__cause__ or chain.__context__
    try:
        return shutil.disk_usage(Path(settings.HUB_MEDIA_ROOT)).free < _NEARLY_FULL_BYTES
    except OSError:
        return False


def without_paths(text: str) -> str:
    """The text with every absolute path cut to its last part ('/srv/media/x/B02.tif' ->
    'B02.tif')."""
    return _PATH.sub(lambda m: m.group(1) or "…", text)
