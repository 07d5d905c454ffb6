"""Pages of the ordering dialogue and the user area."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from hub.mosaics import services
from hub.mosaics.forms import OrderForm
from hub.mosaics.models import MosaicRequest


def home(request: HttpRequest) -> HttpResponse:
    """Landing page; signed-in users go to their requests."""
    if request.user.is_authenticated:
        return redirect("requests")
    return render(request, "mosaics/home.html")


@login_required
def request_list(request: HttpRequest) -> HttpResponse:
    """My requests, newest first, with live status."""
    reqs = MosaicRequest.objects.filter(owner=request.user).prefetch_related("files")
    return render(request, "mosaics/request_list.html", {"requests": reqs})


@login_required
def new_request(request: HttpRequest) -> HttpResponse:
    """The ordering dialogue."""
    form = OrderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        req = services.create_request(form.spec.to_options(), request.user)
        messages.success(request, f"Order {req.name} placed.")
        return redirect("requests")
    return render(request, "mosaics/new_request.html", {"form": form})


@login_required
def request_detail(request: HttpRequest, request_id: str) -> HttpResponse:
    """One request with its options and files."""
    req = get_object_or_404(MosaicRequest, pk=request_id, owner=request.user)
    return render(request, "mosaics/request_detail.html", {"req": req})


@login_required
@require_POST
def remove_request(request: HttpRequest, request_id: str) -> HttpResponse:
    """Cancel an active request or delete a finished one."""
    req = get_object_or_404(MosaicRequest, pk=request_id, owner=request.user)
    done = services.cancel_or_delete(req)
    messages.info(request, f"Request {req.name} {done}.")
    return redirect("requests")
