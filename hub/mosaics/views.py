"""Pages of the ordering dialogue and the user area."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from compositing.orders.spec import LAYOUTS, TILINGS
from compositing.products.indices import INDICES
from hub.accounts.verification import UnverifiedAddressError
from hub.catalogue.forms import PublishForm
from hub.catalogue.publishing import published_item
from hub.mosaics import listing, product_page, services
from hub.mosaics.change_page import change_view
from hub.mosaics.forms import OrderForm
from hub.mosaics.links import order_origin
from hub.mosaics.models import MosaicRequest, Status
from hub.mosaics.operator import archive_interval
from hub.throttle import limit_posts

# Requests on one page of the list: a screenful with their quicklooks.
LIST_PAGE = 20


def home(request: HttpRequest) -> HttpResponse:
    """Landing page; signed-in users go to their requests."""
    if request.user.is_authenticated:
        return redirect("requests")
    return render(request, "mosaics/home.html")


@login_required
def request_list(request: HttpRequest) -> HttpResponse:
    """My requests, newest first, filtered by name (?q=), with live status."""
    query = request.GET.get("q", "").strip()
    own = MosaicRequest.objects.filter(owner=request.user)
    shown = own.filter(name__icontains=query) if query else own
    # get_page: a page number out of range or not a number shows the nearest page, not a 404.
    page = Paginator(shown.prefetch_related("files"), LIST_PAGE).get_page(request.GET.get("page"))
    return render(request, "mosaics/request_list.html", {
        "rows": listing.request_rows(page.object_list), "page": page, "query": query,
        "total": own.count() if query else page.paginator.count})


@login_required
@limit_posts("order")
def new_request(request: HttpRequest) -> HttpResponse:
    """The ordering dialogue; ?from=<id> starts from the options of an earlier request."""
    initial: dict[str, Any] = {}
    if request.method == "GET" and request.GET.get("from"):
        source = _own(request, request.GET["from"])
        initial = reorder_initial(source, OrderForm.base_fields)
        messages.info(request, f"Options copied from {source.name} "
                               f"(ordered {source.created_at:%Y-%m-%d %H:%M}). Change what you "
                               "need: ordering creates a new request and leaves that one as it is.")
    interval = archive_interval()
    if interval and "start" not in initial:
        # Without a date a new user would order today's month, which the archive may not
        # hold yet: start from its latest month.
        initial["start"] = interval[1].replace(day=1).isoformat()
    form = OrderForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            req = services.create_request(form.spec, request.user, order_origin(request))
        except (UnverifiedAddressError, services.OrderLimitError,
                services.StorageUnavailableError) as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Order {req.name} placed.")
            return redirect("requests")
    return render(request, "mosaics/new_request.html",
                  {"form": form, "archive_interval": interval,
                   "collection": settings.HUB_STAC_COLLECTION, "index_names": tuple(INDICES)})


def reorder_initial(req: MosaicRequest, fields: dict[str, Any]) -> dict[str, Any]:
    """A request's options as initial values of the ordering form's fields."""
    options = req.options
    initial = {}
    for key, value in options.items():
        if key not in fields:
            continue
        if key == "aoi":
            value = json.dumps(value)
        elif key == "end" and options.get("period") != "custom":
            continue  # the period's end follows from its start
        initial[key] = value
    return initial


@login_required
def request_detail(request: HttpRequest, request_id: str) -> HttpResponse:
    """The product page: status, quicklook on a map over the AOI, metadata, files."""
    req = _own(request, request_id)
    metadata = product_page.read_metadata(req) if req.status == Status.DONE else None
    row = listing.request_rows([req])[0]
    return render(request, "mosaics/request_detail.html", {
        "req": req, "row": row, "metadata": metadata,
        "layout_text": LAYOUTS[req.spec.layout], "tiling_text": TILINGS[req.spec.tiling],
        "map_data": product_page.map_data(req, metadata),
        "change": change_view(req, metadata),
        "links": product_page.metadata_links(req) if req.status == Status.DONE else [],
        "published": published_item(req),
        "publish_form": (PublishForm() if request.user.is_staff and req.status == Status.DONE
                         else None),
    })


@login_required
@require_POST
def remove_request(request: HttpRequest, request_id: str) -> HttpResponse:
    """Cancel an active request or delete a finished one."""
    req = _own(request, request_id)
    done = services.cancel_or_delete(req)
    messages.info(request, f"Request {req.name} {done}.")
    return redirect("requests")


def _own(request: HttpRequest, request_id: Any) -> MosaicRequest:
    """The signed-in user's request, or 404 (also for ids that are not UUIDs)."""
    try:
        pk = uuid.UUID(str(request_id))
    except ValueError:
        raise Http404("no such request") from None
    return get_object_or_404(MosaicRequest.objects.prefetch_related("files"), pk=pk,
                             owner=request.user)
