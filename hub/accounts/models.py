"""API tokens for scripts (`Authorization: Token <key>`)."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models


def hash_key(key: str) -> str:
    """Tokens are stored hashed, so a database leak does not leak working keys."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """A named API token of a user; the clear key is shown once at creation."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="api_tokens")
    name = models.CharField(max_length=80, default="script")
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="first characters, to recognise a token")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, user: object, name: str = "script") -> tuple[ApiToken, str]:
        """A new token and its clear key."""
        key = secrets.token_hex(20)
        token = cls.objects.create(user=user, name=name, key_hash=hash_key(key), prefix=key[:8])
        return token, key


class UnverifiedAddress(models.Model):
    """A self-registered account whose e-mail address is not confirmed yet.

    Verification is the absence of this row, not a flag on every account: accounts made by
    the operator (createsuperuser, the admin, create_demo_user, the shell) and accounts from
    before sign-up asked for an address are trusted as they are, with no data migration.
    Only the sign-up page creates one; opening the mailed link (or a password-reset link,
    which proves the same mailbox) deletes it.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                primary_key=True, related_name="unverified_address")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "unverified addresses"

    def __str__(self) -> str:
        return f"{self.user} <{self.user.email}>"
