"""Create the demo account once and print its password that one time."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the 'demo' user with a random password (printed once)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default="demo")

    def handle(self, *args: Any, **opts: Any) -> None:
        users = get_user_model()
        name = opts["username"]
        if users.objects.filter(username=name).exists():
            self.stdout.write(f"demo account '{name}' exists (its password was printed when it "
                              f"was created; reset it with: manage.py changepassword {name})")
            return
        password = secrets.token_urlsafe(9)
        users.objects.create_user(username=name, password=password)
        self.stdout.write(self.style.SUCCESS(
            f"demo account created: user '{name}', password '{password}' (shown only now)"))
