from django.contrib import admin

from hub.mosaics.models import MosaicRequest, ProductFile


class ProductFileInline(admin.TabularInline):
    model = ProductFile
    extra = 0
    readonly_fields = ("name", "path", "size", "sha256")


@admin.register(MosaicRequest)
class MosaicRequestAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "status", "progress", "created_at")
    list_filter = ("status",)
    readonly_fields = ("options",)
    search_fields = ("name", "owner__username")
    inlines = [ProductFileInline]
