"""What every page needs to know about the signed-in account."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from hub.accounts.verification import pending_address


def verification(request: HttpRequest) -> dict[str, Any]:
    """`unverified_address`: the address a signed-in account still has to confirm (the page
    header says so on every page), or None."""
    user = getattr(request, "user", None)
    return {"unverified_address": pending_address(user) if user is not None else None}
