"""Routes of the land-product catalogue (mounted at /catalogue/)."""

from django.urls import path

from hub.catalogue import publish_views, stac_views, views

app_name = "catalogue"

urlpatterns = [
    path("", views.browse, name="browse"),
    path("families/<slug:slug>/", views.family, name="family"),
    path("families/<slug:slug>/download/", views.download, name="download"),
    path("families/<slug:slug>/items/<str:identifier>/", views.item, name="item"),
    path("families/<slug:slug>/items/<str:identifier>/inspire.xml", views.item_inspire,
         name="item-inspire"),
    path("publish/<uuid:request_id>/", publish_views.publish, name="publish"),
    path("documents/<int:pk>/", views.document, name="document"),
    path("files/<int:pk>/", views.item_file, name="file"),
    path("stac/", stac_views.root, name="stac-root"),
    path("stac/collections", stac_views.collections, name="stac-collections"),
    path("stac/collections/<slug:collection_id>", stac_views.collection,
         name="stac-collection"),
    path("stac/collections/<slug:collection_id>/items", stac_views.items, name="stac-items"),
    path("stac/collections/<slug:collection_id>/items/<str:item_id>", stac_views.item,
         name="stac-item"),
]
