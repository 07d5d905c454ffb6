"""The land-product catalogue: product families, their documents, dated items and item files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse

from hub.catalogue.geometry import SHA256_RE, FootprintError, parse_footprint


def catalogue_root() -> Path:
    """Where local catalogue files (item files, uploaded documents) live."""
    root = getattr(settings, "HUB_CATALOGUE_ROOT", None)
    return Path(root) if root else Path(settings.HUB_MEDIA_ROOT) / "catalogue"


def document_storage() -> FileSystemStorage:
    """Storage of uploaded documents, under the catalogue root (read at call time)."""
    return FileSystemStorage(location=catalogue_root() / "documents")


class Theme(models.TextChoices):
    VEGETATION = "vegetation", "Vegetation"
    ENERGY = "energy", "Energy"
    WATER = "water", "Water"
    CRYOSPHERE = "cryosphere", "Cryosphere"
    LAND_COVER = "land-cover", "Land cover"
    IMAGERY = "imagery", "Imagery"


class DocumentKind(models.TextChoices):
    ATBD = "ATBD", "Algorithm Theoretical Basis Document"
    PUM = "PUM", "Product User Manual"
    QAR = "QAR", "Quality Assessment Report"
    OTHER = "other", "Other"


class ProductFamily(models.Model):
    """One product line (e.g. NDVI) with its variable, resolutions, cadence and coverage."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=120)
    theme = models.CharField(max_length=16, choices=Theme.choices, db_index=True)
    variable = models.CharField(max_length=120, db_index=True)
    resolutions = models.JSONField(default=list, blank=True,
                                   help_text='spatial resolutions, e.g. ["300 m", "1 km"]')
    temporal_frequency = models.CharField(max_length=80, blank=True)
    coverage = models.CharField(max_length=120, blank=True)
    status = models.CharField(max_length=40, default="in production")
    licence = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    ordering_url = models.CharField(max_length=200, blank=True,
                                    help_text="where to order products made on demand")
    product_page_url = models.URLField(
        max_length=300, blank=True,
        help_text="the producer's official page of the product (documents, data access)")

    class Meta:
        ordering = ["theme", "name"]
        verbose_name_plural = "product families"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("catalogue:family", args=[self.slug])

    @property
    def made_here(self) -> bool:
        """Whether this hub composes the family's products itself (it has an ordering
        dialogue), rather than listing another producer's (the CLMS portfolio)."""
        return bool(self.ordering_url)

    def clean(self) -> None:
        """Resolutions must be a list of non-empty strings."""
        res = self.resolutions
        if not isinstance(res, list) or not all(isinstance(r, str) and r.strip() for r in res):
            raise ValidationError({"resolutions": 'a list of strings such as ["300 m", "1 km"]'})


class Document(models.Model):
    """A document of a family: an uploaded file or an external link (one of the two)."""

    family = models.ForeignKey(ProductFamily, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=8, choices=DocumentKind.choices)
    title = models.CharField(max_length=200)
    version = models.CharField(max_length=40, blank=True)
    date = models.DateField(null=True, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True, help_text="bytes")
    file = models.FileField(storage=document_storage, upload_to="%Y/", blank=True)
    url = models.URLField(max_length=500, blank=True)

    class Meta:
        ordering = ["family", "kind", "title"]
        constraints = [
            models.CheckConstraint(
                condition=~(~models.Q(file="") & ~models.Q(url="")),
                name="catalogue_document_file_or_url",
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} {self.version}".strip()

    def clean(self) -> None:
        """Exactly one of an uploaded file and an external URL."""
        if bool(self.file) == bool(self.url):
            raise ValidationError("give either an uploaded file or an external URL, not both")
        if self.file and self.size is None:
            self.size = self.file.size

    @property
    def href(self) -> str:
        """Where the document can be read ('' for a reference without a copy)."""
        if self.url:
            return self.url
        return reverse("catalogue:document", args=[self.pk]) if self.file else ""


class Item(models.Model):
    """One dated product of a family, e.g. c_gls_LWQ1km_201808110000_GL."""

    family = models.ForeignKey(ProductFamily, on_delete=models.CASCADE, related_name="items")
    identifier = models.CharField(max_length=200, unique=True)
    start = models.DateField(db_index=True)
    end = models.DateField(db_index=True)
    footprint = models.JSONField(help_text="GeoJSON Polygon or MultiPolygon in WGS 84")
    # What the item's own metadata says where it is more precise than its family's: set when
    # a product of this hub is published (hub.catalogue.publishing), empty for listed items.
    description = models.TextField(blank=True, help_text="empty: the family's description")
    lineage = models.TextField(blank=True, help_text="how the item was made; empty: the "
                                                     "family's producer and documents")
    epsg = models.PositiveIntegerField(null=True, blank=True,
                                       help_text="EPSG code of the files' coordinate system; "
                                                 "empty: WGS 84 longitude/latitude (4326)")
    resolution_m = models.FloatField(null=True, blank=True,
                                     help_text="pixel size in metres; empty: the family's")
    credit = models.CharField(max_length=200, blank=True,
                              help_text='attribution owed, e.g. "Contains modified Copernicus '
                                        'Sentinel data 2023"')

    class Meta:
        ordering = ["family", "-start", "identifier"]
        constraints = [
            models.CheckConstraint(condition=models.Q(start__lte=models.F("end")),
                                   name="catalogue_item_start_before_end"),
        ]

    def __str__(self) -> str:
        return self.identifier

    def get_absolute_url(self) -> str:
        return reverse("catalogue:item", args=[self.family.slug, self.identifier])

    def clean(self) -> None:
        """Start on or before end; a valid lon/lat polygon footprint."""
        errors: dict[str, str] = {}
        if self.start and self.end and str(self.start) > str(self.end):
            errors["end"] = "the period ends before it starts"
        try:
            self.footprint = parse_footprint(self.footprint)
        except FootprintError as exc:
            errors["footprint"] = str(exc)
        if errors:
            raise ValidationError(errors)


class ItemFile(models.Model):
    """A file of an item: an external URL and/or a path under the catalogue root."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(max_length=255)
    url = models.URLField(max_length=500, blank=True)
    path = models.CharField(max_length=500, blank=True,
                            help_text="relative to the catalogue root (HUB_MEDIA_ROOT/catalogue)")
    size = models.PositiveBigIntegerField(help_text="bytes")
    sha256 = models.CharField(max_length=64, validators=[
        RegexValidator(SHA256_RE, "64 lower-case hexadecimal characters")])

    class Meta:
        ordering = ["item", "name"]
        constraints = [
            models.UniqueConstraint(fields=["item", "name"], name="catalogue_itemfile_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """At least one of a URL and a local path; a path that stays inside the root."""
        if not self.url and not self.path:
            raise ValidationError("give a URL or a local path")
        if self.path and local_path(self.path) is None:
            raise ValidationError({"path": "the path must be relative and stay inside the root"})

    def local_file(self) -> Path | None:
        """The local file if it exists under the catalogue root."""
        found = local_path(self.path) if self.path else None
        return found if found is not None and found.is_file() else None

    def to_row(self) -> dict[str, Any]:
        """The comparable content of the file (used by the importer)."""
        return {"name": self.name, "url": self.url, "path": self.path,
                "size": self.size, "sha256": self.sha256}


def local_path(relative: str) -> Path | None:
    """The absolute path of a relative catalogue path, None if it escapes the root."""
    if not relative or Path(relative).is_absolute():
        return None
    root = catalogue_root().resolve()
    candidate = (root / relative).resolve()
    return candidate if candidate.is_relative_to(root) else None
