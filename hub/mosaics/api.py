"""REST API v1 for mosaic requests (session or token auth; a user sees only their own)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from hub.accounts.auth import api_user
from hub.errors import ApiError, json_api, json_body
from hub.mosaics import services
from hub.mosaics.models import MosaicRequest, ProductFile
from hub.mosaics.openapi import openapi_document

MAX_PAGE = 500


@csrf_exempt
@json_api
@require_http_methods(["GET", "POST"])
def mosaics(request: HttpRequest) -> HttpResponse:
    """GET: the caller's requests, newest first. POST: order a mosaic."""
    user = api_user(request)
    if request.method == "POST":
        req = services.create_request(json_body(request), user)
        response = JsonResponse(req.to_dict(), status=201)
        response["Location"] = req.to_dict()["links"]["self"]
        return response
    limit = _int_param(request, "limit", 100, 1, MAX_PAGE)
    offset = _int_param(request, "offset", 0, 0, None)
    qs = MosaicRequest.objects.filter(owner=user).prefetch_related("files")
    page = [r.to_dict() for r in qs[offset:offset + limit]]
    return JsonResponse({"count": qs.count(), "results": page})


@csrf_exempt
@json_api
@require_http_methods(["GET", "DELETE"])
def mosaic(request: HttpRequest, request_id: str) -> HttpResponse:
    """GET: status, progress and files. DELETE: cancel if active, else remove with its files."""
    req = _own_request(request, request_id)
    if request.method == "DELETE":
        done = services.cancel_or_delete(req)
        if done == "deleted":
            return HttpResponse(status=204)
        req.refresh_from_db()
        return JsonResponse(req.to_dict())
    return JsonResponse(req.to_dict())


@json_api
@require_GET
def mosaic_file(request: HttpRequest, request_id: str, name: str) -> HttpResponse:
    """Download one file of a finished product."""
    req = _own_request(request, request_id)
    product_file = get_object_or_404(ProductFile, request=req, name=name)
    path = (Path(settings.HUB_MEDIA_ROOT) / product_file.path).resolve()
    if not path.is_relative_to(Path(settings.HUB_MEDIA_ROOT).resolve()) or not path.is_file():
        raise ApiError(410, "the product file is no longer stored")
    response = FileResponse(path.open("rb"), as_attachment=True, filename=path.name)
    response["X-Checksum-SHA256"] = product_file.sha256
    return response


@require_GET
def openapi(request: HttpRequest) -> HttpResponse:
    """The OpenAPI 3.1 description of this API."""
    return JsonResponse(openapi_document(request.build_absolute_uri("/api/v1")))


def _own_request(request: HttpRequest, request_id: str) -> MosaicRequest:
    user = api_user(request)
    return get_object_or_404(MosaicRequest.objects.prefetch_related("files"), pk=request_id,
                             owner=user)


def _int_param(request: HttpRequest, name: str, default: int, low: int,
               high: int | None) -> int:
    raw = request.GET.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer", name) from None
    if value < low or (high is not None and value > high):
        raise ApiError(400, f"{name} must be between {low} and {high or 'any'}", name)
    return value
