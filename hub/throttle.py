"""Rate limits of the actions an attacker repeats: guessing passwords and tokens, opening
accounts, sending mail, ordering, reading time series.

Each limited action is one record here: what it counts by (the caller's address, the account it
acts for, the user name it tries, the address a mail goes to) and a default rate for each.
`HUB_RATE_LIMITS` overrides them (`login.username=5/15m,order.user=off`). Counts are kept by
django-ratelimit in Django's cache: Redis in production, so that every gunicorn worker and host
shares them (hub.env.cache_config).

Over a limit the caller gets 429 with `Retry-After`; the API as its JSON error, pages as a page.
A cache that does not answer lets requests through (logged): the limits protect the hub, an
outage of their store must not lock everyone out.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import math
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_ratelimit.core import get_usage

log = logging.getLogger(__name__)

# django-ratelimit's rate syntax: count / [multiplier] unit.
RATE_PATTERN = re.compile(r"^\d+/\d*[smhd]$")


@dataclass(frozen=True)
class Limit:
    """One limited action: rates per key ("ip", "user", "username" or "email", the last two
    as posted)."""

    action: str
    description: str
    rates: dict[str, str]


LIMITS: dict[str, Limit] = {limit.action: limit for limit in (
    Limit("login", "sign-in attempts", {"username": "10/15m", "ip": "50/15m"}),
    Limit("signup", "new accounts", {"ip": "10/h"}),
    # Each sends a mail: to an address anyone may type (reset), or the account's own (verify).
    Limit("reset", "password-reset requests", {"email": "5/h", "ip": "20/h"}),
    Limit("verify", "verification mails", {"user": "5/h", "ip": "20/h"}),
    Limit("token", "API calls with an unknown token", {"ip": "30/m"}),
    Limit("order", "orders placed (API and form, accepted or not)",
          {"user": "60/h", "ip": "120/h"}),
    Limit("timeseries", "time-series reads", {"user": "30/m", "ip": "60/m"}),
)}


class ThrottledError(Exception):
    """A limit is reached; `retry_after` seconds until its window ends."""

    def __init__(self, limit: Limit, retry_after: int) -> None:
        super().__init__(f"too many {limit.description}; try again in {retry_after} s")
        self.limit, self.retry_after = limit, retry_after


def rate(action: str, key: str) -> str | None:
    """The rate in force for `action` counted by `key` (None: not limited)."""
    configured = settings.HUB_RATE_LIMITS.get(f"{action}.{key}")
    chosen = configured if configured is not None else LIMITS[action].rates[key]
    return None if chosen == "off" else chosen


def hit(request: HttpRequest, action: str, user: Any = None) -> None:
    """Count one `action` of the caller (`user`: the account it acts for, when the request's
    session does not say) and raise ThrottledError over any of its limits. A key whose
    allowance this hit used up is marked exhausted until its window ends (`check`)."""
    limit = LIMITS[action]
    waits = []
    for key, value, chosen in _keys(request, action, user):
        try:
            usage = get_usage(request, group=f"hub.{action}.{key}",
                              key=lambda _group, _request, v=value: v,
                              rate=chosen, increment=True)
            if usage is None:
                continue
            if usage["count"] >= usage["limit"]:
                wait = max(1, usage["time_left"])
                cache.set(_exhausted_key(action, key, value), time.time() + wait, wait)
        except Exception:  # the cache's own errors: redis, database
            log.exception("rate limit %s.%s not checked: the cache did not answer", action, key)
            continue
        if usage["should_limit"]:
            waits.append(max(1, usage["time_left"]))
    if waits:
        raise ThrottledError(limit, max(waits))


def check(request: HttpRequest, action: str, user: Any = None) -> None:
    """Raise ThrottledError if the caller used up an allowance of `action`, without counting:
    for an action counted only when it fails (a wrong token), checked before every attempt.
    A read, so the common case (no failures) writes nothing."""
    keys = {_exhausted_key(action, key, value): key
            for key, value, _rate in _keys(request, action, user)}
    try:
        until = cache.get_many(list(keys))
    except Exception:
        log.exception("rate limit %s not checked: the cache did not answer", action)
        return
    if until:
        wait = max(1, math.ceil(max(until.values()) - time.time()))
        raise ThrottledError(LIMITS[action], wait)


def _keys(request: HttpRequest, action: str, user: Any) -> Iterator[tuple[str, str, str]]:
    """(key, the caller's value of it, rate) of each of `action`'s limits in force."""
    for key in LIMITS[action].rates:
        chosen = rate(action, key)
        value = _key_value(request, key, user)
        if chosen is not None and value is not None:
            yield key, value, chosen


def _exhausted_key(action: str, key: str, value: str) -> str:
    return f"hub.exhausted.{action}.{key}.{value}"


def limit_posts(action: str) -> Callable[[Callable[..., HttpResponse]],
                                         Callable[..., HttpResponse]]:
    """Count every POST to a page view as `action`; over the limit the page says so (429)."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method == "POST":
                try:
                    hit(request, action)
                except ThrottledError as exc:
                    return throttled_page(request, exc)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def throttled_page(request: HttpRequest, exc: ThrottledError) -> HttpResponse:
    """The 429 page of a form over its limit."""
    response = render(request, "429.html", {"message": str(exc), "retry_after": exc.retry_after},
                      status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


def _key_value(request: HttpRequest, key: str, user: Any) -> str | None:
    if key == "ip":
        return client_address(request)
    if key == "user":
        who = user if user is not None else getattr(request, "user", None)
        return str(who.pk) if who is not None and who.is_authenticated else None
    if key == "username":
        name = request.POST.get("username", "").strip().lower()
        return name or None
    if key == "email":
        address = request.POST.get("email", "").strip().lower()
        return address or None
    raise ValueError(f"unknown rate-limit key {key!r}")


def client_address(request: HttpRequest) -> str:
    """The caller's address: `HUB_CLIENT_IP_HEADER` (set by the operator's proxy, e.g.
    X-Real-IP) when configured, else the socket's peer. An IPv6 address counts as its /64,
    which one subscriber holds whole."""
    value = ""
    header = settings.HUB_CLIENT_IP_HEADER
    if header:
        meta = "HTTP_" + header.upper().replace("-", "_")
        value = request.META.get(meta, "").split(",")[0].strip()
    value = value or str(request.META.get("REMOTE_ADDR") or "")
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return value or "unknown"
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False).network_address)
    return str(address)


def create_cache_table(**kwargs: Any) -> None:
    """After migrate: the table of a database cache (the embedded default keeps the counts in
    SQLite, shared by every process without a server). Idempotent."""
    if any(c["BACKEND"].endswith("DatabaseCache") for c in settings.CACHES.values()):
        from django.core.management import call_command

        call_command("createcachetable", database=kwargs.get("using", "default"), verbosity=0)


@checks.register(checks.Tags.security)
def check_rate_limits(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """HUB_RATE_LIMITS names only known action.key pairs, with rates django-ratelimit reads."""
    errors: list[checks.CheckMessage] = []
    for name, value in settings.HUB_RATE_LIMITS.items():
        action, _, key = name.partition(".")
        if action not in LIMITS or key not in LIMITS[action].rates:
            known = ", ".join(f"{a}.{k}" for a, lim in LIMITS.items() for k in lim.rates)
            errors.append(checks.Error(f"HUB_RATE_LIMITS names {name!r}, not a limit",
                                       hint=f"known: {known}", id="hub.E201"))
        elif value != "off" and not RATE_PATTERN.match(value):
            errors.append(checks.Error(
                f"HUB_RATE_LIMITS {name}={value!r} is not a rate",
                hint="count/period: 10/m, 30/h, 10/15m, or off", id="hub.E202"))
    return errors
