from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "hub.accounts"
    label = "accounts"

    def ready(self) -> None:
        from hub.env import use_wal
        from hub.throttle import create_cache_table

        # Every migrate (make run, compose, the tests' hubs) creates the rate-limit table of
        # the embedded cache and puts SQLite in WAL mode; once per migrate, not once per app.
        post_migrate.connect(create_cache_table, sender=self)
        post_migrate.connect(use_wal, sender=self)
