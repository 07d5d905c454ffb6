"""Product storage faults on real file systems: a read-only one refuses orders, a full one
fails an order mid-way with a message its owner understands and leaves nothing behind.

Each test mounts a small tmpfs (root only; elsewhere the tests skip, saying so).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.mosaics import fanout
from hub.mosaics.failures import STORAGE_FULL
from hub.mosaics.models import MosaicRequest, Status
from hub.task_names import RUN_REQUEST
from tests.hub.test_fanout import ORDER, Recorder, new_request
from tests.hub.test_mosaics_api import post

pytestmark = pytest.mark.django_db


@pytest.fixture
def mount(tmp_path: Path) -> Iterator:
    mounted: list[Path] = []

    def make(size: str, readonly: bool = False) -> Path:
        point = tmp_path / f"fs{len(mounted)}"
        point.mkdir()
        options = f"size={size}" + (",ro" if readonly else "")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}): needs root")
        mounted.append(point)
        return point

    yield make
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)


def test_a_read_only_product_storage_refuses_orders_with_503(
        client, alice_token, settings, mount, django_capture_on_commit_callbacks):
    settings.HUB_MEDIA_ROOT = mount("4m", readonly=True)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = post(client, {**ORDER, "name": "ro"}, alice_token)
    assert response.status_code == 503, response.content
    body = response.json()
    assert "cannot be written" in body["error"]
    assert str(settings.HUB_MEDIA_ROOT) not in body["error"]
    assert MosaicRequest.objects.count() == 0 and not queued


def test_a_disk_that_fills_mid_order_fails_it_readably_and_leaves_nothing(
        hub_dirs, alice, settings, mount, django_capture_on_commit_callbacks):
    settings.HUB_CHUNK_SIZE = 16  # nine chunks, so that the disk fills between two of them
    media = mount("8m")
    settings.HUB_MEDIA_ROOT = media
    req = new_request(alice, django_capture_on_commit_callbacks)
    sends = Recorder()
    sends.run(fanout.Send(RUN_REQUEST, (str(req.pk),)))
    pending = sends.take()
    sends.run(pending.pop(0))  # the first chunk's piece is written ...
    pending += sends.take()
    assert fanout.work_folder(req).done() == {0}
    # ... then another order (here: a file) takes all the room left
    filler = media / "other-order.bin"
    with filler.open("wb") as f, pytest.raises(OSError):
        while True:
            f.write(b"\0" * 2**16)
    while pending:
        sends.run(pending.pop(0))
        pending += sends.take()
    req.refresh_from_db()
    assert req.status == Status.FAILED
    assert req.error == STORAGE_FULL
    assert [p.name for p in media.iterdir()] == ["other-order.bin"]
