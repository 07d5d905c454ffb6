"""The web tier under load on loopback, while a worker composes orders (issue 14).

The script starts everything itself: a new PostgreSQL database, a queue of its own on the local
Redis, gunicorn as docker-compose runs it (`-w 4`), one Celery worker that composes monthly
orders one after another for the whole run (the next is placed when one ends), and an
asyncio client in this process. Each scenario runs at 20 and at 50 concurrent connections for
--seconds (30 s) each; every request is a new connection, as gunicorn's sync workers close
each one. Printed per scenario and level: requests, throughput, errors (any status but 200,
refused or timed-out connections), latency p50/p95/max.

- status: `GET /api/v1/mosaics/<id>` of the order in progress (token), what a client polls;
- stac: `GET /stac/search` over the demo archive's month (10 items);
- order page: `GET /requests/new/` with a session, the ordering dialogue;
- timeseries: `GET /api/v1/timeseries`, a month of 20 m composites at one pixel.

The rate limits are lifted (HUB_RATE_LIMITS=...=off): one client from one address measures
capacity, which the limits would hide behind 429s. The client shares the 2 cores with the
server (its share is printed: "client cores"), so the figures are a floor of what the server
alone would do.

Goal: 0 errors and p95 under 300 ms for status and STAC at 50 connections.

    DEBUG=1 .venv/bin/python bench/load.py [--seconds 30] [--levels 20,50]
                                           [--scenarios status,stac,order-page,timeseries]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import requests
from _demo_hub import REPO, database, ensure_archive
from django.core.management.utils import get_random_secret_key

REDIS = "redis://127.0.0.1:6379/0"
GUNICORN_WORKERS = 4  # as docker-compose.yml runs the web service
# 5 km around the demo centre (the default demo archive's windows are 6 km).
ORDER = {"name": "load", "aoi": [-7.4839, 52.7239, -7.4083, 52.7679], "period": "month",
         "start": "2023-06-01", "resolution": 10, "crs": "EPSG:32629",
         "bands": ["B02", "B03", "B04", "B08"], "aux": ["valid_obs", "method"]}
TIMESERIES = {"lon": "-7.4461", "lat": "52.7459", "start": "2023-06-01", "end": "2023-06-30",
              "period": "month", "resolution": "20", "bands": "B02,B04,B08"}
STAC = {"bbox": "-7.47,52.73,-7.42,52.76", "datetime": "2023-06-01T00:00:00Z/2023-06-30T23:59:59Z",
        "limit": "10"}
NO_LIMITS = ",".join(f"{name}=off" for name in (
    "login.username", "login.ip", "signup.ip", "token.ip", "order.user", "order.ip",
    "timeseries.user", "timeseries.ip"))
REQUEST_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env, check=True,
                          capture_output=True, text=True)
    return done.stdout


@contextlib.contextmanager
def hub(tmp: Path, archive: Path, dsn: str) -> Iterator[dict]:
    """gunicorn and one Celery worker on PostgreSQL and Redis; the base URL and credentials."""
    port = free_port()
    queue = f"load-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": get_random_secret_key() * 2,
           "SECURE_SSL_REDIRECT": "0", "SESSION_COOKIE_SECURE": "0", "CSRF_COOKIE_SECURE": "0",
           "ALLOWED_HOSTS": "127.0.0.1", "DATABASE_URL": dsn, "CELERY_BROKER_URL": REDIS,
           "HUB_QUEUE": queue, "HUB_ARCHIVE_DIR": str(archive),
           "HUB_MEDIA_ROOT": str(tmp / "media"), "HUB_STATE_DIR": str(tmp / "state"),
           "HUB_STAC_URL": "", "HUB_RATE_LIMITS": NO_LIMITS, "HUB_MAX_ACTIVE_ORDERS": "1000",
           "DJANGO_SETTINGS_MODULE": "hub.settings"}
    manage(env, "migrate", "--noinput")
    password = "load-bench-" + uuid.uuid4().hex
    manage(env, "shell", "-c", "from django.contrib.auth import get_user_model; "
           f"get_user_model().objects.create_user('load', password='{password}')")
    token = manage(env, "create_token", "load").strip().splitlines()[-1]
    procs = []
    logs = []
    try:
        for name, args in (
                ("web", ["-m", "gunicorn", "hub.wsgi", "-b", f"127.0.0.1:{port}",
                         "-w", str(GUNICORN_WORKERS), "--timeout", "120"]),
                ("worker", ["-m", "celery", "-A", "workers", "worker", "--concurrency=1",
                            "--loglevel=WARNING", f"--hostname=load-{queue}@%h"])):
            log = (tmp / f"{name}.log").open("w")
            logs.append(log)
            procs.append(subprocess.Popen([sys.executable, *args], cwd=REPO, env=env,
                                          stdout=log, stderr=subprocess.STDOUT,
                                          start_new_session=True))
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(requests.RequestException):
                if requests.get(base + "/stac/", timeout=5).ok:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not answer; see {tmp / 'web.log'}")
            time.sleep(0.5)
        yield {"base": base, "port": port, "token": token, "password": password}
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        for log in logs:
            log.close()


class Orders(threading.Thread):
    """Keeps one order composing: places the next when one ends; counts them."""

    def __init__(self, base: str, token: str) -> None:
        super().__init__(daemon=True)
        self.base, self.headers = base, {"Authorization": f"Token {token}"}
        self.stop = threading.Event()
        self.done = 0
        self.url = self._place()

    def _place(self) -> str:
        created = requests.post(self.base + "/api/v1/mosaics", json=ORDER, headers=self.headers,
                                timeout=30)
        created.raise_for_status()
        return str(created.json()["links"]["self"])

    def run(self) -> None:
        while not self.stop.wait(1.0):
            with contextlib.suppress(requests.RequestException):
                status = requests.get(self.base + self.url, headers=self.headers,
                                      timeout=30).json()["status"]
                if status in {"DONE", "FAILED", "CANCELLED"}:
                    if status == "DONE":
                        self.done += 1
                    else:
                        print(f"  an order ended {status}", flush=True)
                    self.url = self._place()


async def one_request(port: int, raw: bytes) -> tuple[float, int | None]:
    """(seconds, HTTP status) of one request on a new connection; status None on a refused,
    reset or timed-out connection."""
    start = time.perf_counter()
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT_S):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(raw)
            await writer.drain()
            head = await reader.readline()
            while await reader.read(65536):  # the body, to the server's close
                pass
            writer.close()
        return time.perf_counter() - start, int(head.split()[1])
    except (OSError, TimeoutError, IndexError, ValueError):
        return time.perf_counter() - start, None


async def run_level(port: int, raw: bytes, connections: int, seconds: float
                    ) -> tuple[list[float], int, int, float]:
    """Latencies of the successful requests, total requests, errors and the wall seconds."""
    latencies: list[float] = []
    counts = {"total": 0, "errors": 0}
    end = time.perf_counter() + seconds

    async def client() -> None:
        while time.perf_counter() < end:
            took, status = await one_request(port, raw)
            counts["total"] += 1
            if status == 200:
                latencies.append(took)
            else:
                counts["errors"] += 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    return latencies, counts["total"], counts["errors"], time.perf_counter() - started


def raw_get(port: int, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close",
             "User-Agent: mosaichub-bench-load", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def session_cookie(base: str, password: str) -> str:
    with requests.Session() as session:
        session.get(base + "/accounts/login/", timeout=30)
        session.post(base + "/accounts/login/", timeout=30, data={
            "username": "load", "password": password,
            "csrfmiddlewaretoken": session.cookies["csrftoken"]})
        return f"sessionid={session.cookies['sessionid']}"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--levels", default="20,50")
    parser.add_argument("--scenarios", default="status,stac,order-page,timeseries")
    args = parser.parse_args()
    levels = [int(n) for n in args.levels.split(",")]
    archive = ensure_archive()
    with tempfile.TemporaryDirectory(prefix="load-") as tmp, database("load") as dsn, \
            hub(Path(tmp), archive, dsn) as running:
        port, token = running["port"], running["token"]
        orders = Orders(running["base"], token)
        orders.start()
        auth = {"Authorization": f"Token {token}"}
        scenarios = {
            "status": raw_get(port, orders.url, auth),
            "stac": raw_get(port, "/stac/search?" + urlencode(STAC), {}),
            "order-page": raw_get(port, "/requests/new/",
                                  {"Cookie": session_cookie(running["base"],
                                                            running["password"])}),
            "timeseries": raw_get(port, "/api/v1/timeseries?" + urlencode(TIMESERIES), auth),
        }
        print(f"gunicorn -w {GUNICORN_WORKERS}, one Celery worker composing monthly 10 m "
              f"orders throughout; {args.seconds:g} s per row; {os.cpu_count()} cores")
        print(f"{'scenario':<12}{'conns':>6}{'requests':>10}{'req/s':>8}{'errors':>8}"
              f"{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'client cores':>14}")
        for name in args.scenarios.split(","):
            for connections in levels:
                cpu = time.process_time()
                latencies, total, errors, wall = asyncio.run(
                    run_level(port, scenarios[name], connections, args.seconds))
                client = (time.process_time() - cpu) / wall
                print(f"{name:<12}{connections:>6}{total:>10}{total / wall:>8.1f}{errors:>8}"
                      f"{percentile(latencies, 50) * 1e3:>9.0f}"
                      f"{percentile(latencies, 95) * 1e3:>9.0f}"
                      f"{max(latencies, default=float('nan')) * 1e3:>9.0f}{client:>14.2f}",
                      flush=True)
        orders.stop.set()
        orders.join(timeout=10)
        print(f"orders composed during the run: {orders.done} (and one in progress)")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
