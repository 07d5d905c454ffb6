from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    name = "hub.catalogue"
    label = "catalogue"
    verbose_name = "Land-product catalogue"
