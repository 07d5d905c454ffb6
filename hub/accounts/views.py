"""Registration with an e-mail address, its verification, and the account page."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from hub.accounts import verification
from hub.accounts.forms import SignUpForm
from hub.throttle import limit_posts

MAIL_FAILED = ("We could not send the mail just now. Use “Send the link again” in a few "
               "minutes; if it keeps failing, the operator has been told (see the hub's log).")


@limit_posts("signup")
def signup(request: HttpRequest) -> HttpResponse:
    """Create an account, sign in and mail the verification link; back to where the person
    came from."""
    form = SignUpForm(request.POST or None)
    next_url = _safe_next(request)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():  # never an account that skipped verification
            user = form.save()
            verification.mark_unverified(user)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        if verification.send_verification_mail(request, user):
            # The banner of every page says where the link went and what waits for it.
            messages.success(request, f"Welcome, {user.username}! Your account is ready.")
        else:
            messages.warning(request, MAIL_FAILED)
        return redirect(next_url)
    return render(request, "registration/signup.html", {"form": form, "next": next_url})


def verify_email(request: HttpRequest, token: str) -> HttpResponse:
    """The link of the verification mail: confirms the address, or says why it cannot."""
    result = verification.confirm(token)
    status = 400 if result.outcome in (verification.Outcome.EXPIRED,
                                       verification.Outcome.INVALID) else 200
    return render(request, "accounts/verify_result.html", {
        "outcome": result.outcome.value, "account": result.user,
        "days": settings.HUB_VERIFICATION_DAYS}, status=status)


@login_required
@require_POST
@limit_posts("verify")
def resend_verification(request: HttpRequest) -> HttpResponse:
    """Mail the signed-in account a new verification link."""
    address = verification.pending_address(request.user)
    if address is None:
        messages.info(request, "Your e-mail address is confirmed already.")
    elif verification.send_verification_mail(request, request.user):
        messages.success(request, f"We sent a new link to {address}. Links sent before "
                                  "still work until they expire.")
    else:
        messages.warning(request, MAIL_FAILED)
    return redirect(_safe_next(request, default="account"))


@login_required
def account(request: HttpRequest) -> HttpResponse:
    """The signed-in account: its address and whether it is confirmed, password change."""
    return render(request, "accounts/account.html", {
        "pending": verification.pending_address(request.user)})


def _safe_next(request: HttpRequest, default: str = "/") -> str:
    """`next` from the form or the query, when it stays on this site."""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if next_url and url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
        return next_url
    return default
