"""Issue an API token for a user and print its key once."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from hub.accounts.models import ApiToken


class Command(BaseCommand):
    help = "Create an API token (Authorization: Token <key>) for a user."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="script")

    def handle(self, *args: Any, **opts: Any) -> None:
        user = get_user_model().objects.filter(username=opts["username"]).first()
        if user is None:
            raise CommandError(f"no user {opts['username']!r}")
        _, key = ApiToken.issue(user, opts["name"])
        self.stdout.write(key)
