"""nginx serving a folder on loopback, as object stores and CDNs serve archive files: HTTP
Range requests answered with 206, every request logged with its range and the bytes sent."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.hubstack import free_port

_CONF = """
{user}
daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
worker_rlimit_nofile 8192;
events {{ worker_connections 4096; }}
http {{
    log_format ranges '$request_method $uri $status $bytes_sent "$http_range"';
    access_log {tmp}/access.log ranges;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    types {{ image/tiff tif tiff; image/jp2 jp2; application/json json; text/xml xml; }}
    default_type application/octet-stream;
    keepalive_requests 10000;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ }}
    }}
}}
"""


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    status: int
    bytes_sent: int
    range: str


@dataclass
class WebServer:
    base: str
    log: Path
    pid: int = 0  # nginx's master process (its worker is a child)

    def requests(self) -> list[Request]:
        """Every request answered so far (nginx logs a request once it has answered it)."""
        out = []
        for line in self.log.read_text().splitlines():
            method, path, status, sent, rng = line.split(" ", 4)
            out.append(Request(method, path, int(status), int(sent), rng.strip('"')))
        return out


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                      else None)
    if found is None:
        pytest.skip("nginx is not installed (make test installs Debian's nginx-light)")
    return found


@contextmanager
def nginx_serving(root: Path, tmp: Path) -> Iterator[WebServer]:
    """nginx serving `root` at the returned base URL until the block ends."""
    binary = nginx_binary()
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = tmp / "nginx.conf"
    # As root nginx's workers would run as nobody, who cannot read pytest's private folders.
    user = "user root root;" if os.geteuid() == 0 else ""
    conf.write_text(_CONF.format(user=user, tmp=tmp, port=port, root=root))
    (tmp / "access.log").touch()
    proc = subprocess.Popen([binary, "-p", str(tmp), "-e", str(tmp / "error.log"), "-c",
                             str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.head(base + "/", timeout=2)
                break
            except requests.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"nginx did not start: {proc.stderr.read()!r} "
                                         f"{(tmp / 'error.log').read_text()}") from None
                time.sleep(0.05)
        # nginx logs a request after answering it: wait for the probe's line, then forget it
        # (the start-up probe is not a read).
        while not (tmp / "access.log").read_text() and time.monotonic() < deadline:
            time.sleep(0.01)
        (tmp / "access.log").write_text("")
        yield WebServer(base, tmp / "access.log", proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
