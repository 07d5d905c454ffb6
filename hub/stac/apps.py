from django.apps import AppConfig


class StacConfig(AppConfig):
    name = "hub.stac"
    label = "stac"
