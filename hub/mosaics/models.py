"""Mosaic requests and the files of their products."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse

from compositing.orders.spec import MosaicSpec, parse_spec


class Status(models.TextChoices):
    QUEUED = "QUEUED", "Order placed"
    RUNNING = "RUNNING", "Processing"
    DONE = "DONE", "Ready to download"
    FAILED = "FAILED", "Failed"
    CANCELLED = "CANCELLED", "Cancelled"
    EXPIRED = "EXPIRED", "Expired"


ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING)


class MosaicRequest(models.Model):
    """One order: every ordering option of the product, its owner and its progress."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                              related_name="mosaic_requests")
    name = models.CharField(max_length=80)
    aoi = models.JSONField(help_text="GeoJSON geometry in WGS 84")
    period_type = models.CharField(max_length=16)
    start_date = models.DateField()
    end_date = models.DateField()
    resolution = models.PositiveSmallIntegerField()
    crs_epsg = models.PositiveIntegerField()
    file_format = models.CharField(max_length=16)
    bands = models.JSONField()
    aux_layers = models.JSONField(default=list, blank=True)
    metadata_options = models.JSONField(default=list, blank=True)
    cloud_buffer = models.PositiveSmallIntegerField(
        default=0, help_text="dilation of cloud and shadow masks, in output pixels")
    layout = models.CharField(
        max_length=16, default="multiband",
        help_text="GeoTIFF: 'multiband' (one file) or 'per_layer' (one file per layer, as S2GM)")
    tiling = models.CharField(
        max_length=16, default="single",
        help_text="'single' product, or 'mgrs': one subfolder per Sentinel-2 tile (UTM orders)")

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED,
                              db_index=True)
    progress = models.FloatField(default=0.0)
    error = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    public_url = models.URLField(
        max_length=255, blank=True,
        help_text="scheme, host and script prefix the order was placed through; the product's "
                  "metadata links there unless HUB_PUBLIC_URL is set")
    product_folder = models.CharField(max_length=255, blank=True)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(
        null=True, blank=True, db_index=True,
        help_text="when the product's files are removed (set when it is published)")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_status_display()})"

    @classmethod
    def from_spec(cls, spec: MosaicSpec, owner: Any) -> MosaicRequest:
        """An unsaved request holding every option of a validated spec."""
        return cls(
            owner=owner, name=spec.name, aoi=spec.aoi.__geo_interface__,
            period_type=spec.period_type, start_date=spec.start, end_date=spec.end,
            resolution=spec.resolution, crs_epsg=spec.epsg, file_format=spec.file_format,
            bands=list(spec.bands), aux_layers=list(spec.aux),
            metadata_options=list(spec.metadata), cloud_buffer=spec.cloud_buffer,
            layout=spec.layout, tiling=spec.tiling,
        )

    def spec(self) -> MosaicSpec:
        """The validated order again (options were validated when the request was made)."""
        return parse_spec(self.options(), max_area_km2=float("inf"))

    def options(self) -> dict[str, Any]:
        """The ordering options in the REST API's JSON shape."""
        return {
            "name": self.name, "aoi": self.aoi, "period": self.period_type,
            "start": self.start_date.isoformat(), "end": self.end_date.isoformat(),
            "resolution": self.resolution, "crs": f"EPSG:{self.crs_epsg}",
            "format": self.file_format, "bands": self.bands, "aux": self.aux_layers,
            "metadata": self.metadata_options, "cloud_buffer": self.cloud_buffer,
            "layout": self.layout, "tiling": self.tiling,
        }

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def to_dict(self, queue_position: int | None) -> dict[str, Any]:
        """The request as the REST API serves it; the caller knows its place in the queue
        (services.queue_positions finds those of a whole page in one query)."""
        url = reverse("api-mosaic", args=[self.id])
        return {
            "id": str(self.id),
            "status": self.status,
            "status_label": self.get_status_display(),
            "progress": round(self.progress, 1),
            "error": self.error or None,
            "options": self.options(),
            "created": self.created_at.isoformat() if self.created_at else None,
            "started": self.started_at.isoformat() if self.started_at else None,
            "finished": self.finished_at.isoformat() if self.finished_at else None,
            "files": [f.to_dict() for f in self.files.all()],
            "links": {"self": url},
            "queue_position": queue_position,
            "expires": self.expires_at.isoformat() if self.expires_at else None,
        }


class ProductFile(models.Model):
    """A file of a finished product, stored under HUB_MEDIA_ROOT."""

    request = models.ForeignKey(MosaicRequest, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(max_length=255)
    path = models.CharField(max_length=512, help_text="relative to HUB_MEDIA_ROOT")
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["request", "name"],
                                               name="unique_file_name_per_request")]

    def __str__(self) -> str:
        return self.name

    def to_dict(self) -> dict[str, Any]:
        """The file as the REST API lists it."""
        return {
            "name": self.name, "size": self.size, "sha256": self.sha256,
            "href": reverse("api-mosaic-file", args=[self.request_id, self.name]),
        }
