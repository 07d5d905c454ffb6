"""`manage.py publish_demo_mosaics`: what `make run` publishes on first start, once."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from hub.catalogue.models import Item
from hub.catalogue.publishing import MOSAIC_FAMILY
from hub.mosaics.models import MosaicRequest, Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(django_user_model):
    return django_user_model.objects.create_user("demo", password="demo-secret-1")


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("publish_demo_mosaics", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_composes_and_publishes_a_month_and_a_quarter_once(hub_dirs, demo) -> None:
    out, err = run("--if-empty")
    assert err == ""
    items = list(Item.objects.filter(family__slug=MOSAIC_FAMILY).order_by("start"))
    assert [(str(i.start), str(i.end)) for i in items] == [("2023-04-01", "2023-06-30"),
                                                          ("2023-06-01", "2023-06-30")]
    assert [i.identifier[:9] for i in items] == ["S2GM_Q20_", "S2GM_M20_"]
    for item in items:
        assert f"demo mosaic {item.identifier} created" in out
        assert all(f.local_file() is not None for f in item.files.all())
        assert item.files.count() >= 8  # bands, 3 aux layers, quicklook, metadata
    requests = MosaicRequest.objects.filter(owner=demo)
    assert sorted(requests.values_list("name", "status")) == [
        ("demo-2023-06", Status.DONE), ("demo-2023-q2", Status.DONE)]

    out, _ = run("--if-empty")  # the next `make run`
    assert "holds 2 items; no demo mosaics added" in out
    assert Item.objects.count() == 2 and requests.count() == 2


def test_without_if_empty_it_republishes_the_same_orders(hub_dirs, demo) -> None:
    run()
    out, _ = run()
    assert out.count(" unchanged in Sentinel-2 Global Mosaic") == 2
    assert Item.objects.count() == 2 and MosaicRequest.objects.count() == 2


def test_an_archive_without_the_demo_scenes_is_reported_not_fatal(settings, hub_dirs, demo,
                                                                  tmp_path) -> None:
    empty = tmp_path / "empty-archive"
    empty.mkdir()
    settings.HUB_ARCHIVE_DIR = empty
    out, err = run("--if-empty")
    assert "demo mosaic demo-2023-06 not published: the order is failed" in err
    assert not Item.objects.exists()
    # The failed orders are not placed again at every start.
    run("--if-empty")
    assert MosaicRequest.objects.filter(owner=demo).count() == 2


def test_it_needs_the_owner_account(hub_dirs) -> None:
    with pytest.raises(CommandError, match="no account 'demo'"):
        run()
