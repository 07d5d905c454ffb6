"""Settings helpers: read the environment and fail loudly on values that cannot be right."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    """The variable as a string, or the default when unset."""
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    """A boolean variable: 1/0, true/false, yes/no, on/off (any case); anything else is an error."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no)")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    """An integer variable, optionally bounded below."""
    return _env_number(name, default, int, "an integer", minimum)


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    """A finite number, optionally bounded below."""
    return _env_number(name, default, float, "a finite number", minimum)


Number = TypeVar("Number", int, float)


def _env_number(name: str, default: Number, parse: Callable[[str], Number], kind: str,
                minimum: Number | None) -> Number:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = parse(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not {kind}") from None
    if not math.isfinite(value):
        raise ImproperlyConfigured(f"{name}={raw!r} is not {kind}")
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}")
    return value


def env_path(name: str, default: Path) -> Path:
    """A filesystem path variable, made absolute."""
    raw = os.environ.get(name)
    return Path(raw).expanduser().resolve() if raw else default.resolve()


def env_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated list variable."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


# Django's own check (security.W009) calls a shorter key weak; signing and sessions rest on it.
SECRET_KEY_MIN_LENGTH = 50


def env_secret_key(name: str, *, debug: bool, development_key: str) -> str:
    """The secret key: required and at least SECRET_KEY_MIN_LENGTH characters when `debug` is
    off; `development_key` stands in for an unset one when it is on."""
    key = os.environ.get(name, "")
    if debug:
        return key or development_key
    if not key:
        raise ImproperlyConfigured(f"{name} must be set when DEBUG is off")
    if len(key) < SECRET_KEY_MIN_LENGTH:
        raise ImproperlyConfigured(
            f"{name} has {len(key)} characters; at least {SECRET_KEY_MIN_LENGTH} are needed when "
            "DEBUG is off (python -c 'from django.core.management.utils import "
            "get_random_secret_key as k; print(k())')"
        )
    return key


def env_proxy_ssl_header(name: str) -> tuple[str, str] | None:
    """SECURE_PROXY_SSL_HEADER from `Header-Name: value` (`X-Forwarded-Proto: https`), or None
    when unset: trusting the header is only safe behind a proxy that sets or strips it."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    header, sep, value = raw.partition(":")
    header, value = header.strip(), value.strip()
    if not sep or not header or not value or " " in header:
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not 'Header-Name: value' (e.g. 'X-Forwarded-Proto: https')"
        )
    return "HTTP_" + header.upper().replace("-", "_"), value


# SQLite shared by the web server and the workers: every transaction takes the write lock when
# it begins (IMMEDIATE), so one that reads then writes waits up to `timeout` for another writer
# instead of failing at once with "database is locked" (a deferred transaction cannot wait to
# upgrade its read lock); WAL lets readers go on while one process writes.
# WAL is not set here: the journal mode is kept in the database file, and asking for it on
# every new connection made a connection fail now and then with "database is locked" (SQLite
# may answer that pragma busy without waiting, while another process writes). It is set once,
# by every migrate (`use_wal`).
SQLITE_OPTIONS = {"timeout": 30, "transaction_mode": "IMMEDIATE",
                  "init_command": "PRAGMA synchronous=NORMAL;"}


def use_wal(using: str = "default", **_: object) -> None:
    """Put an SQLite database in write-ahead-log mode (readers and a writer side by side);
    connected to Django's post_migrate."""
    from django.db import connections

    connection = connections[using]
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=WAL")


def database_config(url: str, state_dir: Path) -> dict:
    """A Django DATABASES entry from a database URL; only SQLite and PostgreSQL are supported."""
    import dj_database_url

    if not url:
        state_dir.mkdir(parents=True, exist_ok=True)
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(state_dir / "hub.sqlite3"),
            "OPTIONS": dict(SQLITE_OPTIONS),
        }
    scheme = url.split(":", 1)[0]
    if scheme not in {"sqlite", "postgres", "postgresql", "pgsql"}:
        raise ImproperlyConfigured(
            f"DATABASE_URL scheme {scheme!r} is not supported: use sqlite:///PATH or postgres://…"
        )
    try:
        config = dj_database_url.parse(url, conn_max_age=60)
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL={url!r} cannot be parsed: {exc}") from None
    if config["ENGINE"].endswith("sqlite3"):
        config["OPTIONS"] = dict(SQLITE_OPTIONS)
    return dict(config)


def broker_config(url: str, state_dir: Path, visibility_timeout_s: int = 3600
                  ) -> tuple[str, dict]:
    """Celery broker URL and transport options; the default needs no server (kombu filesystem).

    `visibility_timeout_s`: how long Redis keeps a taken, unacknowledged message from the
    other workers (after that it redelivers it: the worker is presumed dead).
    """
    if not url or url == "filesystem://":
        folder = state_dir / "broker"
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        options = {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            # Broadcast (worker control) exchanges; kombu's default is ./control in the cwd.
            "control_folder": str(folder / "control"),
            "store_processed": False,
            # An idle worker looks for messages this often (kombu's default, 1 s, adds up
            # over the several tasks of a request).
            "polling_interval": 0.1,
        }
        return "filesystem://", options
    scheme = url.split(":", 1)[0]
    if scheme not in {"redis", "rediss", "amqp", "memory"}:
        raise ImproperlyConfigured(
            f"CELERY_BROKER_URL scheme {scheme!r} is not supported: use redis://, amqp:// "
            "or leave it unset for the embedded filesystem:// transport"
        )
    if scheme.startswith("redis"):
        # "priority": a worker takes from the queues in the order the app declares them, the
        # default queue (plans, deliveries, small orders) before the bulk one, so that a
        # small order waits for one chunk of a big one, not for its turn in a rotation.
        return url, {"visibility_timeout": visibility_timeout_s,
                     "queue_order_strategy": "priority"}
    return url, {}


CACHE_TABLE = "hub_cache"


def cache_config(url: str, broker_url: str, namespace: str) -> dict:
    """Django's CACHES: Redis at `url` (HUB_CACHE_URL), else at the broker's Redis, else a
    table of the database (the embedded default: shared by every process, no server). On
    Redis the keys start with `namespace`, the hub's queue name, which already tells two hubs
    sharing one Redis apart: each keeps its own counts.

    The cache holds the rate-limit counts (hub.throttle), which every web process must share:
    a per-process cache would multiply each limit by the number of gunicorn workers. The
    database cache increments by read-then-write, so concurrent hits can undercount by the
    number of concurrent requests; Redis counts atomically.
    """
    if not url and broker_url.startswith(("redis://", "rediss://")):
        url = broker_url
    if not url:
        return {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache",
                            "LOCATION": CACHE_TABLE}}
    if not url.startswith(("redis://", "rediss://")):
        raise ImproperlyConfigured(
            f"HUB_CACHE_URL scheme {url.split(':', 1)[0]!r} is not supported: use redis://")
    return {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                        "LOCATION": url, "KEY_PREFIX": f"hub:{namespace}",
                        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2}}}


def env_rates(name: str) -> dict[str, str]:
    """`action.key=rate,...` (hub.throttle) as a dict; the system check validates the names."""
    rates = {}
    for part in env_list(name, []):
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ImproperlyConfigured(f"{name}: {part!r} is not action.key=rate")
        rates[key.strip()] = value.strip()
    return rates
