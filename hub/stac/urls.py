"""Routes of the STAC API (mounted at /stac/)."""

from django.urls import path, re_path

from hub.stac import views

app_name = "stac"

urlpatterns = [
    path("", views.landing, name="landing"),
    path("conformance", views.conformance, name="conformance"),
    path("collections", views.collections, name="collections"),
    path("collections/<str:collection_id>", views.collection, name="collection"),
    path("collections/<str:collection_id>/items", views.items, name="items"),
    path("collections/<str:collection_id>/items/<str:item_id>", views.item, name="item"),
    path("search", views.search, name="search"),
    re_path(r"^(?P<rest>.*)$", views.not_found),
]
