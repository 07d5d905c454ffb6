from django.urls import path

from hub.mosaics import aoi_upload, overlays, period_grid, preview, timeseries_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("requests/", views.request_list, name="requests"),
    path("requests/new/", views.new_request, name="new-request"),
    path("requests/preview", preview.preview, name="order-preview"),
    path("requests/periods", period_grid.period_grid, name="period-grid"),
    path("requests/aoi-upload", aoi_upload.aoi_upload, name="aoi-upload"),
    path("requests/quicklooks", overlays.my_quicklooks, name="my-quicklooks"),
    path("requests/<uuid:request_id>/", views.request_detail, name="request-detail"),
    path("requests/<uuid:request_id>/remove/", views.remove_request, name="request-remove"),
    path("timeseries/", timeseries_views.timeseries_page, name="timeseries"),
    path("timeseries/pixel", timeseries_views.pixel, name="timeseries-pixel"),
]
