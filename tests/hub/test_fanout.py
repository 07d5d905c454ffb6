"""The request's tasks and the reaper, run in this process with a dispatch that records what
they send (the broker's side is exercised by test_worker_faults with real processes)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
from django.utils import timezone
from pyproj import Transformer

from hub.mosaics import fanout
from hub.mosaics.models import MosaicRequest, Status
from hub.mosaics.services import create_request, process_request, read_order
from hub.task_names import COMPOSE_CHUNK, DELIVER_REQUEST, RUN_REQUEST
from tests.conftest import TEST_AOI_BBOX

pytestmark = pytest.mark.django_db

ORDER = {"name": "lanes", "aoi": list(TEST_AOI_BBOX), "start": "2023-06-01", "period": "month",
         "resolution": 60, "crs": "UTM", "bands": ["B02", "B03", "B04"], "aux": ["valid_obs"]}


class Recorder:
    """A dispatch that keeps what is sent, to run it when the test says."""

    def __init__(self) -> None:
        self.sent: list[fanout.Send] = []

    def __call__(self, send: fanout.Send) -> None:
        self.sent.append(send)

    def take(self) -> list[fanout.Send]:
        sent, self.sent = self.sent, []
        return sent

    def run(self, send: fanout.Send) -> None:
        fanout.run_task(send, self)


@pytest.fixture
def small_chunks(settings, hub_dirs):
    settings.HUB_CHUNK_SIZE = 16  # 2 km at 60 m: 34 px, 9 chunks
    settings.HUB_ORDER_TASKS = 2
    settings.HUB_SMALL_ORDER_CHUNKS = 4
    return hub_dirs


def new_request(owner, django_capture_on_commit_callbacks) -> MosaicRequest:
    with django_capture_on_commit_callbacks(execute=False):
        return create_request(read_order(ORDER), owner)


def band_values(media: Path, req: MosaicRequest) -> np.ndarray:
    req.refresh_from_db()
    path = next((media / req.product_folder).glob("bands_*.tif"))
    with rasterio.open(path) as src:
        return src.read()


def granule_pixels(req: MosaicRequest) -> int:
    """Output pixels times the granules whose footprint holds the pixel's centre, counted on
    the grid (the plan's work measures footprint areas on the ellipsoid instead)."""
    from rasterio.features import geometry_mask
    from shapely.geometry import mapping

    from compositing.archive.scenes import search_scenes
    from compositing.grid import OutputGrid
    from hub.mosaics.operator import mosaic_settings

    spec = req.spec
    grid = OutputGrid.for_aoi(spec.aoi, spec.crs, spec.resolution)
    to_grid = Transformer.from_crs(4326, spec.crs, always_xy=True)

    def reproject(geometry):
        return shapely.transform(geometry, lambda xy: np.column_stack(to_grid.transform(*xy.T)))
    in_aoi = ~geometry_mask([mapping(reproject(spec.aoi))], (grid.height, grid.width),
                            grid.transform)
    total = 0
    for scene in search_scenes(mosaic_settings().archives, spec.aoi, spec.start, spec.end):
        inside = ~geometry_mask([mapping(reproject(scene.footprint))],
                                (grid.height, grid.width), grid.transform)
        total += int((inside & in_aoi).sum())
    return total * (grid.width * grid.height) // int(in_aoi.sum())


def test_a_request_keeps_its_lanes_on_the_broker_and_chunks_in_any_order_give_one_product(
        small_chunks, alice, django_capture_on_commit_callbacks):
    media = small_chunks["media"]
    whole = new_request(alice, django_capture_on_commit_callbacks)
    process_request(str(whole.pk))
    want = band_values(media, whole)

    req = new_request(alice, django_capture_on_commit_callbacks)
    sends = Recorder()
    sends.run(fanout.Send(RUN_REQUEST, (str(req.pk),)))
    req.refresh_from_db()
    assert req.status == Status.RUNNING and req.chunks_total == 9
    assert req.work == pytest.approx(granule_pixels(req) / 1e6, rel=0.03)
    first = sends.take()
    assert [(s.name, s.args[2], s.bulk) for s in first] == [(COMPOSE_CHUNK, 0, True),
                                                            (COMPOSE_CHUNK, 1, True)]
    pending = first
    ran = []
    while pending:  # newest first: lanes progress in any interleaving
        send = pending.pop()
        ran.append(send)
        sends.run(send)
        new = sends.take()
        assert len(new) <= 1  # a task sends the next chunk not yet sent, or the delivery
        pending += new
        assert len([s for s in pending if s.name == COMPOSE_CHUNK]) <= 2
    assert [s.name for s in ran].count(COMPOSE_CHUNK) == 9
    assert ran[-1].name == DELIVER_REQUEST
    req.refresh_from_db()
    assert req.status == Status.DONE and req.progress == 100 and req.chunks_done == 9
    np.testing.assert_array_equal(band_values(media, req), want)
    assert not list(media.glob(".partial-*"))


@pytest.mark.heavy  # nginx, and two orders
def test_a_remote_archive_s_chunks_are_composed_in_groups_read_ahead_and_redone_whole(
        small_chunks, alice, settings, tmp_path, django_capture_on_commit_callbacks):
    """From a remote archive a chunk task composes a group of consecutive chunks, reading the
    next while one is composed; a redelivered group composes only its missing pieces."""
    from compositing.archive.archives import load_archives
    from compositing.pipeline import REMOTE_CHUNK_GROUP, compose_pieces
    from tests.archive_files import write_archives_file
    from tests.webserver import nginx_serving

    media, archive = small_chunks["media"], small_chunks["archive"]
    whole = new_request(alice, django_capture_on_commit_callbacks)
    process_request(str(whole.pk))
    want = band_values(media, whole)
    with nginx_serving(archive, tmp_path / "nginx") as web:
        file = write_archives_file(tmp_path / "archives.toml", "web", preset="local",
                                   href_rewrites=[[f"{archive}/", f"{web.base}/"]])
        settings.HUB_ARCHIVES = load_archives("web", file)
        req = new_request(alice, django_capture_on_commit_callbacks)
        sends = Recorder()
        sends.run(fanout.Send(RUN_REQUEST, (str(req.pk),)))
        work = fanout.work_folder(req)
        plan = work.load_plan()
        group = REMOTE_CHUNK_GROUP
        assert plan.chunk_group == group and plan.chunk_count == 9
        lanes = sends.take()
        assert [s.args[2] for s in lanes] == [0, group]  # each lane's first group
        # The first lane's task died after its first piece: its message comes again.
        compose_pieces(plan, [0], work)
        stamp = work.piece_path(0).stat().st_mtime_ns
        sends.run(lanes[0])
        assert work.done() == set(range(group))
        assert work.piece_path(0).stat().st_mtime_ns == stamp  # not composed twice
        pending = [lanes[1], *sends.take()]
        assert [s.args[2] for s in pending] == [group, 2 * group]  # the lane goes on
        ran = []
        while pending:  # newest first, as in the test above
            send = pending.pop()
            ran.append(send)
            sends.run(send)
            pending += sends.take()
        assert [s.name for s in ran].count(COMPOSE_CHUNK) == -(-9 // group) - 1
        assert ran[-1].name == DELIVER_REQUEST
        served = web.requests()
    req.refresh_from_db()
    assert req.status == Status.DONE and req.chunks_done == 9
    np.testing.assert_array_equal(band_values(media, req), want)
    assert any(r.path.endswith("/B04.tif") and r.status == 206 for r in served)


def test_a_lane_that_finishes_early_takes_the_chunks_of_a_slow_one(
        small_chunks, alice, django_capture_on_commit_callbacks):
    """Lanes share one cursor: while one chunk task is slow (or its worker busy elsewhere),
    the other lane composes every chunk left, so the last chunks never wait on one worker."""
    req = new_request(alice, django_capture_on_commit_callbacks)
    sends = Recorder()
    sends.run(fanout.Send(RUN_REQUEST, (str(req.pk),)))
    fast, slow = sends.take()
    taken = []
    pending = [fast]
    while pending:
        sends.run(pending.pop())
        pending = sends.take()
        taken += [s.args[2] for s in pending]
    assert taken == [2, 3, 4, 5, 6, 7, 8]  # in order, none left for the slow lane
    sends.run(slow)  # chunk 1, the last piece: the delivery follows
    assert [s.name for s in sends.take()] == [DELIVER_REQUEST]


def test_a_second_message_for_a_composed_chunk_does_nothing(
        small_chunks, alice, django_capture_on_commit_callbacks):
    req = new_request(alice, django_capture_on_commit_callbacks)
    sends = Recorder()
    sends.run(fanout.Send(RUN_REQUEST, (str(req.pk),)))
    chunk0 = sends.take()[0]
    sends.run(chunk0)
    assert [s.args[2] for s in sends.take()] == [2]
    piece = fanout.work_folder(req).piece_path(0)
    stamp = piece.stat().st_mtime_ns
    sends.run(chunk0)  # redelivered after its worker died past the write
    assert sends.take() == [] and piece.stat().st_mtime_ns == stamp


def test_tasks_of_a_cancelled_request_stop_and_the_reaper_removes_its_work(
        small_chunks, alice, client, django_capture_on_commit_callbacks):
    req = new_request(alice, django_capture_on_commit_callbacks)
    sends = Recorder()
    sends.run(fanout.Send(RUN_REQUEST, (str(req.pk),)))
    lanes = sends.take()
    sends.run(lanes[0])
    sends.take()
    MosaicRequest.objects.filter(pk=req.pk).update(status=Status.CANCELLED)
    sends.run(lanes[1])
    assert sends.take() == []
    assert not fanout.work_folder(req).has_piece(1)
    reaped = fanout.reap(sends, lambda: 0)
    assert reaped.removed_folders == [fanout.work_folder(req).root.name]
    assert not fanout.work_folder(req).root.exists()


def planned(owner, settings, callbacks) -> tuple[MosaicRequest, Recorder]:
    """A request planned under a 30 s lease, and what its planning task sent."""
    settings.HUB_TASK_LEASE_S = 30
    req = new_request(owner, callbacks)
    sends = Recorder()
    sends.run(fanout.Send(RUN_REQUEST, (str(req.pk),)))
    return req, sends


def started_and_killed(send: fanout.Send) -> None:
    """What a task does before its work, then its process died."""
    assert fanout._started(*send.args[:2]) is not None


def stale(req: MosaicRequest, seconds: float) -> None:
    MosaicRequest.objects.filter(pk=req.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=seconds))


def test_the_reaper_restarts_a_request_without_a_live_worker_and_keeps_its_pieces(
        small_chunks, alice, settings, django_capture_on_commit_callbacks):
    req, sends = planned(alice, settings, django_capture_on_commit_callbacks)
    lane0, lane1 = sends.take()
    sends.run(lane0)  # chunk 0 composed, chunk 2 sent ...
    lost = sends.take()
    assert [s.args[2] for s in lost] == [2]
    for send in (lane1, *lost):  # ... chunks 1 and 2 started by workers that died
        started_and_killed(send)

    stale(req, 10)
    assert fanout.reap(sends, lambda: 0).restarted == []  # within its lease
    stale(req, 31)
    reaped = fanout.reap(sends, lambda: 0)
    assert reaped.restarted == [str(req.pk)]
    req.refresh_from_db()
    assert req.attempt == 1 and req.status == Status.RUNNING
    restart = sends.take()
    assert [(s.args[1], s.args[2]) for s in restart] == [(1, 1), (1, 2)]  # 0 is kept
    # the old attempt's messages, delivered late, do nothing
    sends.run(lane1)
    sends.run(lost[0])
    assert sends.take() == [] and not fanout.work_folder(req).has_piece(1)
    pending = restart
    while pending:
        sends.run(pending.pop(0))
        pending += sends.take()
    req.refresh_from_db()
    assert req.status == Status.DONE, req.error


def test_the_reaper_waits_while_the_request_has_tasks_on_the_broker(
        small_chunks, alice, settings, django_capture_on_commit_callbacks):
    req, sends = planned(alice, settings, django_capture_on_commit_callbacks)
    sends.take()  # two lanes waiting behind other requests' tasks
    stale(req, 600)
    assert fanout.reap(sends, lambda: 40).restarted == []
    # nothing on the broker any more: its messages were lost (a flushed Redis)
    assert fanout.reap(sends, lambda: 0).restarted == [str(req.pk)]


def test_the_reaper_gives_up_after_the_attempts_and_says_why(
        small_chunks, alice, settings, django_capture_on_commit_callbacks):
    settings.HUB_TASK_LEASE_S = 30
    settings.HUB_TASK_ATTEMPTS = 2
    req = new_request(alice, django_capture_on_commit_callbacks)
    sends = Recorder()
    sends.run(fanout.Send(RUN_REQUEST, (str(req.pk),)))
    for _ in range(2):
        for send in sends.take():
            started_and_killed(send)
        stale(req, 60)
        fanout.reap(sends, lambda: 0)
    req.refresh_from_db()
    assert req.status == Status.FAILED
    assert "stopped 2 times" in req.error
    assert not fanout.work_folder(req).root.exists()


def test_the_reaper_plans_again_when_the_planning_worker_died(
        small_chunks, alice, settings, django_capture_on_commit_callbacks):
    settings.HUB_TASK_LEASE_S = 30
    req = new_request(alice, django_capture_on_commit_callbacks)
    MosaicRequest.objects.filter(pk=req.pk).update(status=Status.RUNNING, attempt=0)
    stale(req, 60)
    sends = Recorder()
    assert fanout.reap(sends, lambda: 0).restarted == [str(req.pk)]
    assert [s.name for s in sends.sent] == [RUN_REQUEST]
    sends.run(sends.take()[0])
    req.refresh_from_db()
    assert req.status == Status.RUNNING and req.chunks_total == 9


def test_a_queued_request_whose_message_is_gone_is_sent_again(
        small_chunks, alice, settings, django_capture_on_commit_callbacks):
    settings.HUB_TASK_LEASE_S = 30
    req = new_request(alice, django_capture_on_commit_callbacks)
    MosaicRequest.objects.filter(pk=req.pk).update(
        created_at=timezone.now() - timedelta(seconds=60))
    sends = Recorder()
    assert fanout.reap(sends, lambda: 3).requeued == []  # still waiting its turn
    assert fanout.reap(sends, lambda: 0).requeued == [str(req.pk)]
    assert [s.name for s in sends.sent] == [RUN_REQUEST]


def test_work_folders_of_active_requests_stay(small_chunks, alice,
                                              django_capture_on_commit_callbacks):
    req = new_request(alice, django_capture_on_commit_callbacks)
    sends = Recorder()
    sends.run(fanout.Send(RUN_REQUEST, (str(req.pk),)))
    stray = small_chunks["media"] / ".partial-deadbeef"
    stray.mkdir()
    assert fanout.reap(sends, lambda: 0).removed_folders == [".partial-deadbeef"]
    assert fanout.work_folder(req).has_plan()


def test_requests_left_running_by_the_single_task_runner_are_found_after_the_upgrade(
        transactional_db, django_user_model, settings, hub_dirs):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate([("mosaics", "0006_request_options")])
    old = executor.loader.project_state([("mosaics", "0006_request_options")]).apps
    owner = old.get_model("auth", "User").objects.create(username="dave")
    from tests.hub.stored_requests import spec_of

    old.get_model("mosaics", "MosaicRequest").objects.create(
        owner_id=owner.pk, name="stuck", options=spec_of(name="stuck").to_json(),
        status="RUNNING", started_at=timezone.now() - timedelta(hours=3))
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    req = MosaicRequest.objects.get(name="stuck")
    assert req.heartbeat_at == req.started_at
    sends = Recorder()
    assert fanout.reap(sends, lambda: 0).restarted == [str(req.pk)]
    assert [s.name for s in sends.sent] == [RUN_REQUEST]  # no plan: planned again


def test_a_small_order_is_composed_by_the_task_that_planned_it(
        small_chunks, alice, settings, django_capture_on_commit_callbacks):
    settings.HUB_INLINE_CHUNKS = 9
    req = new_request(alice, django_capture_on_commit_callbacks)
    sends = Recorder()
    sends.run(fanout.Send(RUN_REQUEST, (str(req.pk),)))
    assert sends.sent == []  # nothing for other workers: it queued once, for its plan
    req.refresh_from_db()
    assert req.status == Status.DONE and req.chunks_done == 9 and req.tasks_waiting == 0


def test_a_chunk_that_cannot_be_read_fails_the_request_and_leaves_nothing(
        small_chunks, alice, settings, tmp_path, django_capture_on_commit_callbacks):
    import shutil

    archive = tmp_path / "archive"
    shutil.copytree(small_chunks["archive"], archive)
    settings.HUB_ARCHIVE_DIR = archive
    req = new_request(alice, django_capture_on_commit_callbacks)
    sends = Recorder()
    sends.run(fanout.Send(RUN_REQUEST, (str(req.pk),)))
    plan = fanout._load_plan(fanout.work_folder(req))
    href = plan.recipe.observations[0].scenes[0].assets["B02"].href
    path = Path(href.removeprefix("file://"))
    assert archive in path.parents, href
    path.write_bytes(path.read_bytes()[:2000])  # a download cut short
    pending = sends.take()
    while pending:
        sends.run(pending.pop(0))
        pending += sends.take()
    req.refresh_from_db()
    assert req.status == Status.FAILED, req.status
    assert f"{path.parent.name}/{path.name} cannot be read" in req.error, req.error
    assert "TIFFReadEncodedTile() failed" in req.error and str(tmp_path) not in req.error
    assert not any(small_chunks["media"].iterdir())


def test_a_running_order_shows_its_composed_chunks(
        small_chunks, alice, client, django_capture_on_commit_callbacks):
    req = new_request(alice, django_capture_on_commit_callbacks)
    sends = Recorder()
    sends.run(fanout.Send(RUN_REQUEST, (str(req.pk),)))
    sends.run(sends.take()[0])
    client.force_login(alice)
    body = client.get(f"/api/v1/mosaics/{req.pk}").json()
    assert body["chunks"] == {"done": 1, "total": 9} and body["progress"] == 11.0
    page = client.get("/requests/").content.decode()
    assert "11 %" in page and "1 of 9 chunks" in page
