"""An archive whose files need a signed URL (Planetary Computer's SAS tokens): the hub asks the
token service (the SDK's PC_SDK_SAS_URL, here a server on loopback) for a token of the storage
account and container, once, and opens every file with it; the blob host is reached through
the archive's own GDAL_HTTP_PROXY (a proxy in front of nginx), so the test sees each request."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from compositing.archive.read import close_datasets
from compositing.archive.scenes import ArchiveDataError
from compositing.orders.spec import parse_spec
from compositing.pipeline import run_mosaic
from hub.mosaics.services import mosaic_settings
from tests.archive_files import assert_same_rasters
from tests.faultproxy import FORWARD, fault_proxy
from tests.hub.test_remote_archive import ORDER, order_from_archive
from tests.webserver import nginx_serving

pytestmark = [pytest.mark.heavy, pytest.mark.django_db]  # nginx, a proxy, orders
BLOB = "http://sentinel2l2a01.blob.core.windows.net"
TOKEN = "st=2026-12-01T00%3A00%3A00Z&se=2099-01-01T00%3A00%3A00Z&sp=rl&sv=2021-06-08&sr=c&sig=t3st"


def _token_service(status: int = 200):
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            asked.append(self.path)
            body = json.dumps({"msft:expiry": "2099-01-01T00:00:00Z", "token": TOKEN}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, asked


@pytest.fixture
def fresh_sdk(monkeypatch):
    """The SDK's settings and token cache as a new process has them."""
    from planetary_computer import sas, settings

    def reset() -> None:
        settings.Settings.get.cache_clear()
        sas.TOKEN_CACHE.clear()

    reset()
    yield monkeypatch
    reset()


def _order(settings, hub_dirs, tmp_path: Path, name: str):
    """The test order from the archive served as Planetary Computer serves it."""
    site = tmp_path / f"site-{name}"
    site.mkdir()
    (site / "sentinel2-l2").symlink_to(hub_dirs["archive"], target_is_directory=True)
    with nginx_serving(site, tmp_path / f"nginx-{name}") as web, \
            fault_proxy(int(web.base.rsplit(":", 1)[1]), lambda *a: FORWARD) as proxy:
        return order_from_archive(
            settings, tmp_path, name, preset="local", signing="planetary-computer",
            href_rewrites=[[f"{hub_dirs['archive']}/", f"{BLOB}/sentinel2-l2/"]],
            file_prefixes=[f"{BLOB}/"],
            gdal={"GDAL_HTTP_PROXY": proxy.base.removeprefix("http://")}), proxy


def test_files_are_opened_with_one_token_of_their_container(settings, hub_dirs, tmp_path,
                                                           fresh_sdk):
    server, asked = _token_service()
    fresh_sdk.setenv("PC_SDK_SAS_URL", f"http://127.0.0.1:{server.server_port}/api/sas/v1/token")
    local = run_mosaic(parse_spec(ORDER), mosaic_settings(), tmp_path / "local", "local")
    close_datasets()
    remote, proxy = _order(settings, hub_dirs, tmp_path, "pc")
    server.shutdown()
    assert not isinstance(remote, Exception), remote
    assert_same_rasters(local.folder, remote.folder)
    assert asked == ["/api/sas/v1/token/sentinel2l2a01/sentinel2-l2"]  # one token, cached
    files = [path for _, path, _ in proxy.actions if ".tif" in path]
    assert files and all(path.startswith(f"{BLOB}/sentinel2-l2/") and path.endswith(
        f"?{TOKEN}") for path in files), files[:3]


def test_a_refused_token_fails_the_order_naming_the_file(settings, hub_dirs, tmp_path,
                                                         fresh_sdk):
    server, _ = _token_service(status=403)
    fresh_sdk.setenv("PC_SDK_SAS_URL", f"http://127.0.0.1:{server.server_port}/api/sas/v1/token")
    error, _ = _order(settings, hub_dirs, tmp_path, "refused")
    server.shutdown()
    assert isinstance(error, ArchiveDataError), error
    assert "cannot be read" in str(error) and "no access token" in str(error)
