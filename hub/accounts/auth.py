"""Who is calling the API: a session (browser) or an API token (scripts)."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import timezone

from hub import throttle
from hub.accounts.models import ApiToken, hash_key
from hub.errors import ApiError

LAST_USED_RESOLUTION = timedelta(minutes=1)


def api_user(request: HttpRequest):  # type: ignore[no-untyped-def]
    """The authenticated user, or ApiError 401."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "token" or not key.strip():
            raise ApiError(401, "use the header 'Authorization: Token <key>'")
        # An address that guessed too many tokens is refused before its next guess is looked
        # up, whatever that guess is; only wrong tokens count.
        throttle.check(request, "token")
        token = (ApiToken.objects.select_related("user")
                 .filter(key_hash=hash_key(key.strip())).first())
        if token is None or not token.user.is_active:
            throttle.hit(request, "token")
            raise ApiError(401, "invalid API token")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            # Once a minute is precise enough, and parallel downloads do not queue on writes.
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        request.csrf_processing_done = True  # tokens are not cookies
        return token.user
    if request.user.is_authenticated:
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            _check_csrf(request)
        return request.user
    raise ApiError(401, "authentication required: log in or send an API token")


def _check_csrf(request: HttpRequest) -> None:
    """Session-authenticated writes need the CSRF token, as forms do."""
    middleware = CsrfViewMiddleware(lambda r: HttpResponse())
    if middleware.process_view(request, None, (), {}) is not None:
        raise ApiError(403, "CSRF check failed: send the X-CSRFToken header with a session")
