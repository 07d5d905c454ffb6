"""A running hub in subprocesses (gunicorn + a Celery worker) for end-to-end and browser tests."""

from __future__ import annotations

import os
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

REPO = Path(__file__).resolve().parents[1]


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


@contextmanager
def running_hub(backend: str, tmp_path: Path, archive: Path) -> Iterator[dict]:
    """A running hub (web + worker) on `backend` and an API token of its user alice."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CELERY_"))}
    env.update(DEBUG="0", SECRET_KEY="e2e-test-key", HUB_ARCHIVE_DIR=str(archive),
               HUB_MEDIA_ROOT=str(tmp_path / "media"), HUB_STATE_DIR=str(tmp_path / "state"),
               HUB_STAC_URL="", HUB_QUEUE=f"e2e-{uuid.uuid4().hex[:8]}", HUB_CHUNK_SIZE="64",
               DJANGO_SETTINGS_MODULE="hub.settings")
    database = None
    if backend == "postgres+redis":
        database = postgres_database()
        env["DATABASE_URL"] = next(database)
        env["CELERY_BROKER_URL"] = redis_broker()
    manage(env, "migrate", "--noinput")
    manage(env, "shell", "-c", "from django.contrib.auth import get_user_model; "
                               "get_user_model().objects.create_user('alice', password='x1!a')")
    token = manage(env, "create_token", "alice").strip()
    port = free_port()
    logs = tmp_path / "logs"
    logs.mkdir()
    procs = [
        subprocess.Popen([sys.executable, "-m", "gunicorn", "hub.wsgi", "-b",
                          f"127.0.0.1:{port}", "-w", "1", "--timeout", "120"], cwd=REPO, env=env,
                         stdout=(logs / "web.log").open("w"), stderr=subprocess.STDOUT),
        subprocess.Popen([sys.executable, "-m", "celery", "-A", "workers", "worker",
                          "--concurrency=1", "--loglevel=INFO", f"--hostname=e2e-{port}@%h"],
                         cwd=REPO, env=env, stdout=(logs / "worker.log").open("w"),
                         stderr=subprocess.STDOUT),
    ]
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: requests.get(base + "/api/v1/openapi.json", timeout=10).ok, 90)
        yield {"base": base, "token": token, "env": env, "tmp": tmp_path, "logs": logs,
               "user": "alice", "password": "x1!a"}
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
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


