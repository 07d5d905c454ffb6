"""URL map of the hub."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("hub.accounts.urls")),
    path("stac/", include("hub.stac.urls")),
    path("api/v1/", include("hub.mosaics.api_urls")),
    path("catalogue/", include("hub.catalogue.urls")),
    path("", include("hub.mosaics.urls")),
]
