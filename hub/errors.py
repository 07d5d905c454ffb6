"""The one place where domain errors become HTTP responses: {"error": ..., "field": ...}."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse

from compositing.archive.query import SearchError
from compositing.orders.spec import SpecError
from hub.throttle import ThrottledError

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error with an HTTP status, optionally naming the offending field."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.field = status, message, field


def error_response(status: int, message: str, field: str | None = None) -> JsonResponse:
    """The API's single error shape."""
    body: dict[str, Any] = {"error": message, "field": field}
    response = JsonResponse(body, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Token realm="mosaic-hub"'
    return response


def json_api(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Map domain exceptions raised by an API view to JSON error responses."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except (SpecError, SearchError) as exc:
            return error_response(400, exc.message, exc.field)
        except ApiError as exc:
            return error_response(exc.status, exc.message, exc.field)
        except ThrottledError as exc:
            response = error_response(429, str(exc))
            response["Retry-After"] = str(exc.retry_after)
            return response
        except Http404 as exc:
            return error_response(404, str(exc) or "not found")

    return wrapped


def json_body(request: HttpRequest) -> dict[str, Any]:
    """The request body as a JSON object (RFC 8259: no NaN or Infinity), or an ApiError: 413
    over DATA_UPLOAD_MAX_MEMORY_SIZE, 400 otherwise."""
    try:
        raw = request.body
    except RequestDataTooBig:
        raise body_too_big() from None
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw, parse_constant=_no_constant)
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:
        raise ApiError(400, f"the body is not valid JSON: {exc}", "body") from None
    except RecursionError:
        raise ApiError(400, "the body's JSON is nested too deeply", "body") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object", "body")
    return body


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def body_too_big() -> ApiError:
    """The 413 of a body over DATA_UPLOAD_MAX_MEMORY_SIZE (file uploads have their own limits)."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return ApiError(413, f"the request body is over the limit of {limit / 1e6:.1f} MB; an AOI "
                         "that large has too many vertices", "body")


class BodySizeLimit:
    """Answer a body over DATA_UPLOAD_MAX_MEMORY_SIZE with the API's JSON 413 before any view
    or middleware reads it (Django would answer an HTML 400 from wherever it is read first,
    the CSRF check included). Multipart bodies are left to the upload limits of their views."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        multipart = request.content_type.startswith("multipart/")
        if limit is not None and length > limit and not multipart:
            error = body_too_big()
            return error_response(error.status, error.message, error.field)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        """A multipart body whose fields pass the limit, found by the view reading them."""
        if isinstance(exc, RequestDataTooBig):
            error = body_too_big()
            return error_response(error.status, error.message, error.field)
        return None
