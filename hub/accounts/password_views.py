"""Password reset and change: Django's own views, with the hub's templates and limits."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpResponse

from hub.accounts import verification
from hub.accounts.forms import ResetForm
from hub.throttle import limit_posts


def reset_link_days() -> int:
    """Days a password-reset link works (Django's PASSWORD_RESET_TIMEOUT), for the pages."""
    return max(1, settings.PASSWORD_RESET_TIMEOUT // 86400)


class ResetView(auth_views.PasswordResetView):
    form_class = ResetForm
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"

    @property
    def extra_email_context(self) -> dict[str, Any]:
        return {"timeout_days": reset_link_days()}


class ResetDoneView(auth_views.PasswordResetDoneView):
    @property
    def extra_context(self) -> dict[str, Any]:
        return {"timeout_days": reset_link_days()}


class ResetConfirmView(auth_views.PasswordResetConfirmView):
    """Setting a new password through a mailed link proves the mailbox, as the verification
    link does: an unverified account becomes verified."""

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        verification.mark_verified(form.user)
        return response


# Every POST counts, known address or not: the page never says whether an account has it.
password_reset = limit_posts("reset")(ResetView.as_view())
password_reset_done = ResetDoneView.as_view()
password_reset_confirm = ResetConfirmView.as_view()
password_reset_complete = auth_views.PasswordResetCompleteView.as_view()
password_change = auth_views.PasswordChangeView.as_view()
password_change_done = auth_views.PasswordChangeDoneView.as_view()
