"""Mosaic requests and the files of their products."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Func
from django.urls import reverse
from django.utils.functional import cached_property

from compositing.orders.spec import MosaicSpec


class Status(models.TextChoices):
    QUEUED = "QUEUED", "Order placed"
    RUNNING = "RUNNING", "Processing"
    DONE = "DONE", "Ready to download"
    FAILED = "FAILED", "Failed"
    CANCELLED = "CANCELLED", "Cancelled"
    EXPIRED = "EXPIRED", "Expired"


ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING)


def aoi_bbox(bounds: tuple[float, ...]) -> list[float]:
    """An AOI's bbox as the REST API lists it (1e-7 degrees, about 1 cm)."""
    return [round(v, 7) for v in bounds]


class OptionsWithoutAoi(Func):
    """A request's options less the AOI, removed by the database: a list of requests never
    reads a geometry of up to HUB_MAX_AOI_VERTICES vertices into Python."""

    template = "JSON_REMOVE(%(expressions)s, '$.aoi')"  # SQLite, MySQL
    output_field = models.JSONField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="(%(expressions)s - 'aoi')", **extra)


class MosaicRequest(models.Model):
    """One order: every ordering option of the product, its owner and its progress."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                              related_name="mosaic_requests")
    name = models.CharField(max_length=80, help_text="the order's name (the spec's own)")
    options = models.JSONField(
        help_text="the validated order: MosaicSpec.to_json(), the REST API's shape")
    aoi_bbox = models.JSONField(
        null=True, blank=True,
        help_text="the AOI's [min_lon, min_lat, max_lon, max_lat]: what a list of requests "
                  "shows of it, without reading its geometry")

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

    # The distributed run (hub.mosaics.fanout): which run of the request the tasks belong to
    # (the reaper starts a new one when every process of the last one died), when a process
    # working on it last said it was alive, how many of its tasks were sent and not yet started
    # (a redelivered task may start twice: below zero means none), how many chunks it has and
    # has composed, the lowest chunk no task has been sent for yet, and whether its product is
    # being delivered.
    attempt = models.PositiveIntegerField(default=0)
    tasks_waiting = models.IntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True, db_index=True)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    next_chunk = models.PositiveIntegerField(default=0)
    delivering = models.BooleanField(default=False)
    work = models.FloatField(
        null=True, blank=True,
        help_text="million pixel-observations (compositing.orders.effort), set by the plan: "
                  "with the run's duration, the rate that new orders' times are estimated from")

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
        """An unsaved request holding a validated spec."""
        return cls(owner=owner, name=spec.name, options=spec.to_json(),
                   aoi_bbox=aoi_bbox(spec.aoi.bounds))

    @classmethod
    def listed(cls) -> models.QuerySet[MosaicRequest]:
        """Requests as lists show them (`to_dict(full=False)`): the options without the AOI
        and its bbox, from the database; the AOI itself is not read."""
        return cls.objects.defer("options").annotate(listed_options=OptionsWithoutAoi("options"))

    @cached_property
    def spec(self) -> MosaicSpec:
        """The order, read back as validated when the request was made."""
        return MosaicSpec.from_json(self.options)

    @property
    def chunks_text(self) -> str:
        """'20 of 49 chunks', under a running request's progress bar."""
        return f"{self.chunks_done} of {self.chunks_total} chunks"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def to_dict(self, queue_position: int | None, *, full: bool = True) -> dict[str, Any]:
        """The request as the REST API serves it; the caller knows its place in the queue
        (services.queue_positions finds those of a whole page in one query).

        `full=False` is a list entry: the options without the AOI's geometry, which may have
        thousands of vertices, and the AOI's bbox instead; `links.self` has them all.
        """
        url = reverse("api-mosaic", args=[self.id])
        extra: dict[str, Any] = {}
        if full:
            options = self.options
        else:
            # Both come without decoding the geometry when the list asked the database for
            # them (`MosaicRequest.listed`).
            options = getattr(self, "listed_options", None)
            if options is None:
                options = {k: v for k, v in self.options.items() if k != "aoi"}
            extra["bbox"] = self.aoi_bbox or aoi_bbox(self.spec.aoi.bounds)
        return {
            "id": str(self.id),
            "status": self.status,
            "status_label": self.get_status_display(),
            "progress": round(self.progress, 1),
            "chunks": {"done": self.chunks_done, "total": self.chunks_total},
            "error": self.error or None,
            "options": options,
            **extra,
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
