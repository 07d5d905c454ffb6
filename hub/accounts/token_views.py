"""API tokens in the user area: list, create (the key is shown once), revoke."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from hub.accounts.forms import TokenForm
from hub.accounts.models import ApiToken
from hub.accounts.verification import pending_address


@never_cache  # the response that shows a new key must not be kept by the browser
@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    """The user's tokens; POST creates one and shows its key in this response only."""
    form = TokenForm(request.POST or None)
    created = key = None
    status = 200
    # A script could order with a token: an unconfirmed account gets none (the page says why).
    unverified = pending_address(request.user) is not None
    if request.method == "POST":
        if unverified:
            status = 403
        elif form.is_valid():
            created, key = ApiToken.issue(request.user, form.cleaned_data["name"])
            form = TokenForm()
            status = 201
        else:
            status = 400
    return render(request, "accounts/tokens.html", {
        "form": form, "created": created, "key": key, "unverified": unverified,
        "tokens": ApiToken.objects.filter(user=request.user).order_by("-created_at"),
        "api_base": request.build_absolute_uri("/").rstrip("/"),
    }, status=status)


@login_required
@require_POST
def revoke_token(request: HttpRequest, token_id: int) -> HttpResponse:
    """Delete one of the user's tokens: scripts using it get 401 from now on."""
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    token.delete()
    messages.info(request, f"Token {token.name} ({token.prefix}…) revoked: requests that send "
                           "it are refused from now on.")
    return redirect("api-tokens")
