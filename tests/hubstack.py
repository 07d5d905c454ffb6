"""A running hub in subprocesses (gunicorn + a Celery worker) for end-to-end and browser tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from django.core.management.utils import get_random_secret_key

REPO = Path(__file__).resolve().parents[1]
# A production-shaped hub (DEBUG off) served on plain HTTP on loopback: no redirect to HTTPS,
# cookies that the browser and requests send back over HTTP.
PLAIN_HTTP = {"SECURE_SSL_REDIRECT": "0", "SESSION_COOKIE_SECURE": "0",
              "CSRF_COOKIE_SECURE": "0"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(env: dict, *args: str) -> str:
    proc = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def postgres_database() -> Iterator[str]:
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True,
                                connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable on 127.0.0.1:5432 ({exc}); make test starts it")
    name = f"mosaichub_e2e_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgres://postgres@127.0.0.1:5432/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def redis_broker() -> str:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_timeout=3).ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"Redis is not reachable on 127.0.0.1:6379 ({exc}); make test starts it")
    return "redis://127.0.0.1:6379/0"


class Processes:
    """The hub's subprocesses, each in its own session (so that a kill reaches a worker's pool
    processes too); workers and beat can be killed and started again."""

    def __init__(self, env: dict, logs: Path) -> None:
        self.env, self.logs = env, logs
        self.procs: dict[str, subprocess.Popen] = {}
        self._runs = 0

    def start(self, name: str, args: list[str]) -> subprocess.Popen:
        self._runs += 1
        log = (self.logs / f"{name}.log").open("a")
        log.write(f"--- start {self._runs}\n")
        log.flush()
        proc = subprocess.Popen([sys.executable, *args], cwd=REPO, env=self.env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = proc
        return proc

    def start_worker(self, name: str, concurrency: int = 1) -> subprocess.Popen:
        return self.start(name, ["-m", "celery", "-A", "workers", "worker",
                                 f"--concurrency={concurrency}", "--loglevel=INFO",
                                 f"--hostname={name}-{uuid.uuid4().hex[:6]}@%h"])

    def start_beat(self) -> subprocess.Popen:
        return self.start("beat", ["-m", "celery", "-A", "workers", "beat", "--loglevel=INFO",
                                   "--schedule", str(self.logs / "beat-schedule")])

    def kill(self, name: str) -> None:
        """kill -9 the process and every process of its session (a worker's pool)."""
        proc = self.procs.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=20)
        self.procs.clear()

    def logs_text(self, tail: int = 3000) -> str:
        return "\n".join(f"== {p.name}\n{p.read_text()[-tail:]}" for p in self.logs.iterdir()
                         if p.suffix == ".log")


@contextmanager
def running_hub(backend: str, tmp_path: Path, archive: Path, workers: int = 1,
                beat: bool = False, env: dict | None = None,
                web_workers: int = 1) -> Iterator[dict]:
    """A running hub (web with `web_workers` gunicorn workers and an access log, `workers`
    Celery workers, and beat if asked) on `backend` and an API token of its user alice.
    `env`: more settings for every process; `{port}` in a value is the web server's port."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("DATABASE_URL", "CELERY_"))}
    environ.update(DEBUG="0", SECRET_KEY=get_random_secret_key(), **PLAIN_HTTP,
                   HUB_ARCHIVE_DIR=str(archive),
                   HUB_MEDIA_ROOT=str(tmp_path / "media"),
                   HUB_STATE_DIR=str(tmp_path / "state"), HUB_STAC_URL="",
                   HUB_QUEUE=f"e2e-{uuid.uuid4().hex[:8]}", HUB_CHUNK_SIZE="64",
                   DJANGO_SETTINGS_MODULE="hub.settings")
    environ.update({k: v.format(port=port) for k, v in (env or {}).items()})
    database = None
    if backend == "postgres+redis":
        database = postgres_database()
        environ["DATABASE_URL"] = next(database)
        environ["CELERY_BROKER_URL"] = redis_broker()
    manage(environ, "migrate", "--noinput")
    manage(environ, "shell", "-c", "from django.contrib.auth import get_user_model; "
                                   "get_user_model().objects.create_user('alice', password='x1!a')")
    token = manage(environ, "create_token", "alice").strip()
    logs = tmp_path / "logs"
    logs.mkdir()
    procs = Processes(environ, logs)
    procs.start("web", ["-m", "gunicorn", "hub.wsgi", "-b", f"127.0.0.1:{port}",
                        "-w", str(web_workers), "--timeout", "120", "--access-logfile", "-"])
    for n in range(workers):
        procs.start_worker(f"worker{n}")
    if beat:
        procs.start_beat()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: requests.get(base + "/api/v1/openapi.json", timeout=10).ok, 90)
        yield {"base": base, "token": token, "env": environ, "tmp": tmp_path, "logs": logs,
               "user": "alice", "password": "x1!a", "procs": procs}
    finally:
        procs.stop_all()
        if database is not None:
            next(database, None)


def wait_for(check, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except requests.RequestException:  # not listening yet, or still importing
            pass
        time.sleep(0.5)
    raise AssertionError(f"not ready within {timeout} s")


