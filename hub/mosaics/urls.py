from django.urls import path

from hub.mosaics import preview, views

urlpatterns = [
    path("", views.home, name="home"),
    path("requests/", views.request_list, name="requests"),
    path("requests/new/", views.new_request, name="new-request"),
    path("requests/preview", preview.preview, name="order-preview"),
    path("requests/<uuid:request_id>/", views.request_detail, name="request-detail"),
    path("requests/<uuid:request_id>/remove/", views.remove_request, name="request-remove"),
]
