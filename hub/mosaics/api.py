"""REST API v1 for mosaic requests (session or token auth; a user sees only their own)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from hub import throttle
from hub.accounts.auth import api_user
from hub.accounts.verification import require_verified
from hub.errors import ApiError, json_api, json_body
from hub.mosaics import downloads, services
from hub.mosaics.links import order_origin
from hub.mosaics.models import MosaicRequest, ProductFile, Status
from hub.mosaics.openapi import openapi_document
from hub.mosaics.paging import page_bounds


@csrf_exempt
@json_api
@require_http_methods(["GET", "POST"])
def mosaics(request: HttpRequest) -> HttpResponse:
    """GET: the caller's requests, newest first, each with its AOI's bbox (the request's own
    URL gives every option). POST: order a mosaic."""
    user = api_user(request)
    if request.method == "POST":
        # Before the body is read: the one thing to fix is the address, not the order.
        require_verified(user)
        throttle.hit(request, "order", user)
        req = services.create_request(services.read_order(json_body(request)), user,
                                      order_origin(request))
        body = req.to_dict(services.queue_position(req))
        response = JsonResponse(body, status=201)
        response["Location"] = body["links"]["self"]
        return response
    offset, limit = page_bounds(request)
    qs = MosaicRequest.listed().filter(owner=user).prefetch_related("files")
    page = list(qs[offset:offset + limit])
    positions = services.queue_positions(page)
    return JsonResponse({"count": qs.count(),
                         "results": [r.to_dict(positions.get(r.pk), full=False)
                                     for r in page]})


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
    return JsonResponse(req.to_dict(services.queue_position(req)))


@json_api
@require_http_methods(["GET", "HEAD"])
def mosaic_file(request: HttpRequest, request_id: str, name: str) -> HttpResponse:
    """Download one file of a finished product: byte ranges (resume), ETag, HEAD."""
    req = _own_request(request, request_id)
    _gone_if_expired(req)
    product_file = get_object_or_404(ProductFile, request=req, name=name)
    return downloads.file_response(request, _stored(product_file))


@json_api
@require_http_methods(["GET", "HEAD"])
def mosaic_zip(request: HttpRequest, request_id: str) -> HttpResponse:
    """Download all files of a finished product as one zip, streamed as it is sent: byte
    ranges (resume), ETag, HEAD, like a single file."""
    req = _finished_request(request, request_id)
    files = [_stored(f) for f in req.files.all()]
    return downloads.zip_response(request, files, _folder(req))


@json_api
@require_GET
def mosaic_metalink(request: HttpRequest, request_id: str) -> HttpResponse:
    """A Metalink 4 document listing every file with its size, SHA-256 and absolute URL."""
    req = _finished_request(request, request_id)
    files = [_stored(f) for f in req.files.all()]
    document = downloads.metalink_document(
        files, _folder(req),
        lambda f: request.build_absolute_uri(reverse("api-mosaic-file", args=[req.id, f.name])),
        req.finished_at)
    response = HttpResponse(document, content_type="application/metalink4+xml")
    response["Content-Disposition"] = content_disposition_header(True, f"{_folder(req)}.meta4")
    return response


def _finished_request(request: HttpRequest, request_id: str) -> MosaicRequest:
    req = _own_request(request, request_id)
    _gone_if_expired(req)
    if req.status != Status.DONE:
        raise ApiError(409, f"the product is not ready ({req.get_status_display()})")
    return req


def _gone_if_expired(req: MosaicRequest) -> None:
    if req.status == Status.EXPIRED:
        when = f" on {req.expires_at:%Y-%m-%d}" if req.expires_at else ""
        raise ApiError(410, f"the product expired{when} and its files were removed; "
                            "order it again to get new files")


def _stored(product_file: ProductFile) -> downloads.StoredFile:
    """The file on disk, or ApiError 410 when it is gone or points outside the media root."""
    root = Path(settings.HUB_MEDIA_ROOT).resolve()
    path = (root / product_file.path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise ApiError(410, "the product file is no longer stored")
    return downloads.StoredFile(product_file.name, path, product_file.size, product_file.sha256)


def _folder(req: MosaicRequest) -> str:
    return downloads.safe_folder_name(req.product_folder or req.name)


@require_GET
def openapi(request: HttpRequest) -> HttpResponse:
    """The OpenAPI 3.1 description of this API."""
    return JsonResponse(openapi_document(request.build_absolute_uri("/api/v1")))


def _own_request(request: HttpRequest, request_id: str) -> MosaicRequest:
    user = api_user(request)
    return get_object_or_404(MosaicRequest.objects.prefetch_related("files"), pk=request_id,
                             owner=user)
