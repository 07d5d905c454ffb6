"""The hub's STAC API on a loopback port inside the current process, for workers and commands.

A Celery worker or a management command searches the local archive through the real HTTP STAC
API with pystac-client, so it needs no running web process: `stac_api_url()` starts a small
threaded WSGI server serving the Django application on 127.0.0.1 the first time it is asked.

The web process searches the same way, never through its own public address: a request handler
that waited on another request of the same gunicorn would hold one of its few workers while
asking for another, and a handful of concurrent time series would deadlock the site. So a
`HUB_STAC_URL` that names this hub (a host it answers to, and its STAC path) is served in-process
too.
"""

from __future__ import annotations

import logging
import os
import threading
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.http.request import split_domain_port, validate_host
from django.urls import reverse

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """One thread per request, none of them keeping the process alive."""

    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr for every request a worker makes."""

    def log_message(self, format: str, *args: Any) -> None:
        """Drop the access log line."""


class _LoopbackRequest(WSGIRequest):
    """A request of this process to itself: it never crosses a network, so it is as safe as
    HTTPS. SecurityMiddleware then leaves it on the plain-HTTP loopback port instead of
    redirecting it to HTTPS (SECURE_SSL_REDIRECT); links keep its own scheme, http."""

    def is_secure(self) -> bool:
        return True


class _LoopbackHandler(WSGIHandler):
    request_class = _LoopbackRequest


_lock = threading.Lock()
_server: _ThreadingWSGIServer | None = None
_server_pid: int | None = None


def stac_api_url() -> str:
    """`settings.HUB_STAC_URL`, or the URL of this process's embedded STAC API when empty."""
    configured = getattr(settings, "HUB_STAC_URL", "")
    if configured and not names_this_hub(configured):
        return configured
    return f"http://{LOOPBACK}:{_embedded_port()}{_stac_root()}"


def names_this_hub(url: str) -> bool:
    """Whether `url` is this hub's own STAC API: its path is the hub's STAC root and its host
    one this hub answers to (ALLOWED_HOSTS, whose wildcard `*` names no host in particular).
    Any working self-reference passes both: Django refuses a host outside ALLOWED_HOSTS."""
    parts = urlsplit(url)
    if parts.path.rstrip("/") != _stac_root().rstrip("/"):
        return False
    host, _port = split_domain_port(parts.netloc.rpartition("@")[2])
    named = [h for h in settings.ALLOWED_HOSTS if h != "*"]
    return bool(host) and validate_host(host, named)


def _stac_root() -> str:
    return reverse("stac:landing")


def _embedded_port() -> int:
    """Port of the embedded server, started once per process (again in a forked child)."""
    global _server, _server_pid
    with _lock:
        if _server is None or _server_pid != os.getpid():
            _check_loopback_allowed()
            _server = _start_server()
            _server_pid = os.getpid()
        return _server.server_address[1]


def _start_server() -> _ThreadingWSGIServer:
    """Bind 127.0.0.1 on a free port and serve the Django application from a daemon thread."""
    # WSGIHandler, not get_wsgi_application: that runs django.setup() again, which applies
    # LOGGING anew; in a Celery pool process its console handler then writes to Celery's
    # redirected stderr, which drops every later log line of the process.
    server = make_server(
        LOOPBACK,
        0,
        _LoopbackHandler(),
        server_class=_ThreadingWSGIServer,
        handler_class=_QuietHandler,
    )
    # The socket listens from here on, so the URL can be used before the thread is scheduled.
    thread = threading.Thread(target=server.serve_forever, name="embedded-stac-api", daemon=True)
    thread.start()
    log.info("embedded STAC API listening on http://%s:%d/stac/", LOOPBACK, server.server_port)
    return server


def _check_loopback_allowed() -> None:
    """Fail clearly when ALLOWED_HOSTS would make Django refuse the loopback Host header."""
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    if not validate_host(LOOPBACK, allowed):
        raise ImproperlyConfigured(
            "The embedded STAC API needs 127.0.0.1 in ALLOWED_HOSTS; add it or set HUB_STAC_URL"
        )


def _forget_after_fork() -> None:
    """In a forked child: the server thread did not survive, so drop the inherited server."""
    global _lock, _server, _server_pid
    _lock = threading.Lock()  # the parent may have held it at fork time
    if _server is not None:
        _server.socket.close()  # closes only the child's copy; the parent keeps serving
    _server = None
    _server_pid = None


os.register_at_fork(after_in_child=_forget_after_fork)
