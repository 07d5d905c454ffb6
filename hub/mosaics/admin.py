from django.contrib import admin

from hub.mosaics.models import MosaicRequest, ProductFile


class ProductFileInline(admin.TabularInline):
    model = ProductFile
    extra = 0
    readonly_fields = ("name", "path", "size", "sha256")


@admin.register(MosaicRequest)
class MosaicRequestAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "status", "progress", "period_type", "start_date",
                    "resolution", "crs_epsg", "created_at")
    list_filter = ("status", "period_type", "resolution", "file_format")
    search_fields = ("name", "owner__username")
    inlines = [ProductFileInline]
