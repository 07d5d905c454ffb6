"""Faults between the reader and the archive's web server, injected by a proxy in front of
nginx: transient ones (503s, dropped connections, slow answers) are retried and the product
comes out as if nothing happened; a permanent one fails the order naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from compositing.archive.read import close_datasets
from compositing.archive.scenes import ArchiveDataError
from compositing.orders.spec import parse_spec
from compositing.pipeline import run_mosaic
from hub.mosaics.services import mosaic_settings
from tests.archive_files import assert_same_rasters
from tests.faultproxy import FORWARD, Action, fault_proxy
from tests.hub.test_remote_archive import ORDER, order_from_archive
from tests.webserver import nginx_serving

pytestmark = [pytest.mark.heavy, pytest.mark.django_db]  # nginx, a proxy, orders


def _order_through(policy, settings, hub_dirs, tmp_path: Path, name: str):
    """The test order with the archive's files read through a fault proxy; the result, or
    the exception, and what the proxy did."""
    with nginx_serving(hub_dirs["archive"], tmp_path / f"nginx-{name}") as web, \
            fault_proxy(int(web.base.rsplit(":", 1)[1]), policy) as proxy:
        return order_from_archive(
            settings, tmp_path, name, preset="local",
            href_rewrites=[[f"{hub_dirs['archive']}/", f"{proxy.base}/"]]), proxy


def test_transient_faults_are_retried_and_change_nothing(settings, hub_dirs, tmp_path,
                                                        monkeypatch):
    monkeypatch.setenv("GDAL_HTTP_RETRY_DELAY", "0.05")  # GDAL reads it at each retry

    def flaky(method: str, path: str, n: int) -> Action:
        if path.endswith("/SCL.tif") and n < 2:
            return Action(status=503)  # twice, then served
        if path.endswith("/B04.tif") and n == 1:
            return Action(status=429)
        if path.endswith("/B11.tif") and n == 0:
            return Action(status=502)
        if path.endswith("/SCL.tif") and n == 2:
            return Action(drop=True)  # the connection closes with no answer
        if path.endswith("/B02.tif") and n == 0:
            return Action(delay_s=0.5)  # slow, within GDAL's timeout
        return FORWARD

    local = run_mosaic(parse_spec(ORDER), mosaic_settings(), tmp_path / "local", "local")
    close_datasets()
    remote, proxy = _order_through(flaky, settings, hub_dirs, tmp_path, "flaky")
    assert not isinstance(remote, Exception), remote
    injected = [a for _, _, a in proxy.actions if a.status or a.drop]
    assert {a.status for a in injected} == {None, 503, 429, 502}, proxy.actions[:20]
    assert len(injected) >= 10 and any(a.drop for a in injected)
    assert_same_rasters(local.folder, remote.folder)


def test_a_file_the_server_refuses_fails_the_order_naming_it(settings, hub_dirs, tmp_path):
    def gone(method: str, path: str, n: int) -> Action:
        return Action(status=404) if path.endswith("/B11.tif") else FORWARD

    error, _ = _order_through(gone, settings, hub_dirs, tmp_path, "gone")
    assert isinstance(error, ArchiveDataError), error
    assert str(error).endswith("/B11.tif cannot be read: HTTP response code: 404")
    assert not list((tmp_path / "gone").glob("*/*.tif"))  # nothing half-written
