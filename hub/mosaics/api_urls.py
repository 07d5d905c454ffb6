from django.urls import path

from hub.mosaics import api, timeseries_api

urlpatterns = [
    path("openapi.json", api.openapi, name="api-openapi"),
    path("mosaics", api.mosaics, name="api-mosaics"),
    path("mosaics/<uuid:request_id>", api.mosaic, name="api-mosaic"),
    path("mosaics/<uuid:request_id>/files/<path:name>", api.mosaic_file,
         name="api-mosaic-file"),
    path("mosaics/<uuid:request_id>/zip", api.mosaic_zip, name="api-mosaic-zip"),
    path("mosaics/<uuid:request_id>/metalink", api.mosaic_metalink, name="api-mosaic-metalink"),
    path("timeseries", timeseries_api.timeseries, name="api-timeseries"),
]
