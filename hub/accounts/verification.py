"""E-mail verification of self-registered accounts: the signed link, the mail, the rule.

An account is unverified while it has an `UnverifiedAddress` row (models.py says why the rule
is the row, not a flag). Unverified accounts may sign in and look around; ordering and API
tokens need a confirmed address (`require_verified`).

The link carries the account and its address signed with SECRET_KEY and a timestamp
(`django.core.signing`), so it expires after HUB_VERIFICATION_DAYS and stops working if the
address changes; nothing is stored to check it.
"""

from __future__ import annotations

import enum
import logging
import smtplib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.mail import send_mail
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse

from hub.accounts.models import UnverifiedAddress
from hub.errors import ApiError

log = logging.getLogger(__name__)

SALT = "hub.accounts.verify-email"


class UnverifiedAddressError(ApiError):
    """An action that needs a confirmed e-mail address, asked by an account without one."""

    def __init__(self, address: str, action: str) -> None:
        super().__init__(403, f"confirm your e-mail address before {action}: open the link "
                              f"mailed to {address} at sign-up, or send a new one from "
                              "your account page (/accounts/)")


def pending_address(user: Any) -> str | None:
    """The address an account still has to confirm, or None when it is verified."""
    if not getattr(user, "is_authenticated", False):
        return None
    if UnverifiedAddress.objects.filter(user_id=user.pk).exists():
        return str(user.email)
    return None


def require_verified(user: Any, action: str = "ordering") -> None:
    """Raise UnverifiedAddressError (403) for an account whose address is not confirmed."""
    address = pending_address(user)
    if address is not None:
        raise UnverifiedAddressError(address, action)


def mark_unverified(user: Any) -> None:
    """A new self-registered account: it must confirm its address."""
    UnverifiedAddress.objects.get_or_create(user=user)


def mark_verified(user: Any) -> bool:
    """The account's address is confirmed; True if it was not before."""
    deleted, _ = UnverifiedAddress.objects.filter(user_id=user.pk).delete()
    return deleted > 0


def make_token(user: Any) -> str:
    """A signed, timestamped token naming the account and the address to confirm."""
    return signing.TimestampSigner(salt=SALT).sign_object(
        {"user": user.pk, "email": str(user.email).lower()})


class Outcome(enum.Enum):
    VERIFIED = "verified"
    ALREADY = "already"
    EXPIRED = "expired"
    INVALID = "invalid"


@dataclass(frozen=True)
class Confirmation:
    """What opening a verification link did."""

    outcome: Outcome
    user: Any = None


def confirm(token: str) -> Confirmation:
    """Verify the account a token names; a bad, expired or outdated token changes nothing."""
    max_age = timedelta(days=settings.HUB_VERIFICATION_DAYS)
    try:
        payload = signing.TimestampSigner(salt=SALT).unsign_object(token, max_age=max_age)
    except signing.SignatureExpired:
        return Confirmation(Outcome.EXPIRED)
    except (signing.BadSignature, ValueError):  # ValueError: a signed value that is not JSON
        return Confirmation(Outcome.INVALID)
    if not isinstance(payload, dict):
        return Confirmation(Outcome.INVALID)
    user = get_user_model().objects.filter(pk=payload.get("user")).first()
    # An address changed since the mail was sent was not proven by opening it.
    if user is None or str(user.email).lower() != payload.get("email"):
        return Confirmation(Outcome.INVALID)
    return Confirmation(Outcome.VERIFIED if mark_verified(user) else Outcome.ALREADY, user)


def send_verification_mail(request: HttpRequest, user: Any) -> bool:
    """Mail the account its verification link, on the host the request came to; False (and
    logged) when the mail server would not take it."""
    link = request.build_absolute_uri(reverse("verify-email", args=[make_token(user)]))
    context = {"user": user, "link": link, "days": settings.HUB_VERIFICATION_DAYS,
               "organisation": settings.HUB_ORGANISATION, "host": request.get_host()}
    subject = render_to_string("accounts/mail/verify_subject.txt", context)
    body = render_to_string("accounts/mail/verify_email.txt", context)
    try:
        send_mail(" ".join(subject.split()), body, None, [user.email])
    except (smtplib.SMTPException, OSError):
        log.exception("the verification mail to account %s was not sent", user.pk)
        return False
    return True
