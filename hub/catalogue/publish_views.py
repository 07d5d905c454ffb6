"""Staff publish a finished mosaic into the catalogue from its product page."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from hub.catalogue.forms import PublishForm
from hub.catalogue.publishing import PublishError, publish_request
from hub.mosaics.models import MosaicRequest


@login_required
@require_POST
def publish(request: HttpRequest, request_id: uuid.UUID) -> HttpResponse:
    """Publish the request into the chosen family, then show its catalogue page."""
    if not request.user.is_staff:
        raise PermissionDenied("only staff publish mosaics to the catalogue")
    req = get_object_or_404(MosaicRequest.objects.prefetch_related("files"), pk=request_id)
    form = PublishForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose the catalogue family to publish into.")
        return redirect("request-detail", req.pk)
    try:
        published = publish_request(req, form.cleaned_data["family"])
    except PublishError as exc:
        messages.error(request, f"Not published: {exc}.")
        return redirect("request-detail", req.pk)
    messages.success(request, f"{published.message}.")
    return redirect(published.item.get_absolute_url())
