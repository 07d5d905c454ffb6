from django.urls import path

from hub.mosaics import api

urlpatterns = [
    path("openapi.json", api.openapi, name="api-openapi"),
    path("mosaics", api.mosaics, name="api-mosaics"),
    path("mosaics/<uuid:request_id>", api.mosaic, name="api-mosaic"),
    path("mosaics/<uuid:request_id>/files/<path:name>", api.mosaic_file,
         name="api-mosaic-file"),
]
