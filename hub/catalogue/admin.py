"""Admin of the catalogue (staff only): families with documents and items, items with files."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from hub.catalogue.forms import FamilyAdminForm
from hub.catalogue.models import Document, Item, ItemFile, ProductFamily


class ResolutionFilter(admin.SimpleListFilter):
    """Families offering a spatial resolution (a value of the JSON list)."""

    title = "resolution"
    parameter_name = "resolution"
    family_pk = "pk"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        found = {r for res in ProductFamily.objects.values_list("resolutions", flat=True)
                 for r in res or []}
        return [(r, r) for r in sorted(found)]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if not self.value():
            return queryset
        # SQLite has no JSON containment lookup: match in Python over the few families.
        pks = [f.pk for f in ProductFamily.objects.only("resolutions")
               if self.value() in (f.resolutions or [])]
        return queryset.filter(**{f"{self.family_pk}__in": pks})


class ItemResolutionFilter(ResolutionFilter):
    """Items whose family offers a spatial resolution."""

    family_pk = "family__pk"


# Links typed without a scheme are taken as https (and Django 6's default is adopted now).
HTTPS_URLS = {models.URLField: {"assume_scheme": "https"}}


class DocumentInline(admin.TabularInline):
    model = Document
    formfield_overrides = HTTPS_URLS
    extra = 0
    fields = ("kind", "title", "version", "date", "size", "file", "url")


class ItemInline(admin.TabularInline):
    model = Item
    extra = 0
    fields = ("identifier", "start", "end", "footprint")
    show_change_link = True


class ItemFileInline(admin.TabularInline):
    model = ItemFile
    formfield_overrides = HTTPS_URLS
    extra = 0
    fields = ("name", "url", "path", "size", "sha256")


@admin.register(ProductFamily)
class ProductFamilyAdmin(admin.ModelAdmin):
    form = FamilyAdminForm
    list_display = ("name", "slug", "theme", "variable", "resolution_list",
                    "temporal_frequency", "status", "item_count")
    list_filter = ("theme", "variable", ResolutionFilter, "status")
    search_fields = ("name", "slug", "variable", "description")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [DocumentInline, ItemInline]
    formfield_overrides = HTTPS_URLS

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(n_items=Count("items"))

    @admin.display(description="resolutions")
    def resolution_list(self, obj: ProductFamily) -> str:
        """The resolutions as text."""
        return ", ".join(obj.resolutions or [])

    @admin.display(description="items", ordering="n_items")
    def item_count(self, obj: Any) -> int:
        """How many items the family has."""
        return obj.n_items


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ("identifier", "family", "start", "end")
    list_filter = ("family__theme", "family__variable", ItemResolutionFilter,
                   ("start", admin.DateFieldListFilter), ("end", admin.DateFieldListFilter),
                   "family")
    search_fields = ("identifier", "family__name", "family__variable")
    date_hierarchy = "start"
    list_select_related = ("family",)
    inlines = [ItemFileInline]


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ("title", "family", "kind", "version", "date")
    list_filter = ("kind", "family__theme", "family")
    search_fields = ("title", "family__name", "family__variable")
    formfield_overrides = HTTPS_URLS
