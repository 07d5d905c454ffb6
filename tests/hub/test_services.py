"""The worker's service function moves requests to DONE or FAILED with a readable reason."""

from __future__ import annotations

import hashlib

import pytest

from hub.mosaics.models import MosaicRequest, Status
from hub.mosaics.services import create_request, process_request, read_order
from tests.conftest import TEST_AOI_BBOX as DEMO_AOI_BBOX

pytestmark = pytest.mark.django_db


def order(**changes):
    return {"name": "svc", "aoi": list(DEMO_AOI_BBOX), "start": "2023-06-01",
            "period": "month", "resolution": 60, "crs": "UTM", "bands": ["B02", "B04"],
            **changes}


def test_a_request_runs_to_done_with_checksummed_files(hub_dirs, alice,
                                                       django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        req = create_request(read_order(order()), alice)
    process_request(str(req.pk))
    req.refresh_from_db()
    assert req.status == Status.DONE, req.error
    assert req.progress == 100 and req.started_at <= req.finished_at
    names = {f.name for f in req.files.all()}
    assert "metadata.json" in names and any(n.startswith("bands_M60_") for n in names)
    for f in req.files.all():
        assert (hub_dirs["media"] / f.path).stat().st_size == f.size
        assert f.sha256 == hashlib.sha256((hub_dirs["media"] / f.path).read_bytes()).hexdigest()
    assert not list(hub_dirs["media"].glob(".partial-*"))


def test_an_aoi_without_scenes_is_accepted_then_fails_readably(hub_dirs, alice,
                                                               django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        req = create_request(read_order(order(aoi=[10.0, 10.0, 10.05, 10.05])), alice)
    assert req.status == Status.QUEUED
    process_request(str(req.pk))
    req.refresh_from_db()
    assert req.status == Status.FAILED
    assert "no L2A observations" in req.error
    assert list(hub_dirs["media"].iterdir()) == []


def test_a_cancelled_request_is_not_processed(hub_dirs, alice,
                                              django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        req = create_request(read_order(order()), alice)
    MosaicRequest.objects.filter(pk=req.pk).update(status=Status.CANCELLED)
    process_request(str(req.pk))
    req.refresh_from_db()
    assert req.status == Status.CANCELLED and req.files.count() == 0
