from django.apps import AppConfig


class MosaicsConfig(AppConfig):
    name = "hub.mosaics"
    label = "mosaics"
