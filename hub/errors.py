"""The one place where domain errors become HTTP responses: {"error": ..., "field": ...}."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse

from compositing.archive.query import SearchError
from compositing.orders.spec import SpecError

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
        except Http404 as exc:
            return error_response(404, str(exc) or "not found")

    return wrapped


def json_body(request: HttpRequest) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 ApiError."""
    if not request.body.strip():
        return {}
    try:
        body = json.loads(request.body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"the body is not valid JSON: {exc}", "body") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object", "body")
    return body
