from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import QuerySet
from django.http import HttpRequest

from hub.catalogue.forms import PublishForm, family_field
from hub.catalogue.publishing import PublishError, publish_request
from hub.mosaics.models import MosaicRequest, ProductFile


class ProductFileInline(admin.TabularInline):
    model = ProductFile
    extra = 0
    readonly_fields = ("name", "path", "size", "sha256")


class PublishActionForm(ActionForm):
    """The action bar with the family that "Publish to the catalogue" publishes into."""

    family = family_field()


@admin.register(MosaicRequest)
class MosaicRequestAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "status", "progress", "created_at")
    list_filter = ("status",)
    readonly_fields = ("options",)
    search_fields = ("name", "owner__username")
    inlines = [ProductFileInline]
    action_form = PublishActionForm
    actions = ["publish_to_catalogue"]

    @admin.action(description="Publish to the catalogue (into the family chosen beside)")
    def publish_to_catalogue(self, request: HttpRequest, queryset: QuerySet) -> None:
        """Publish each selected finished mosaic as a public catalogue item."""
        form = PublishForm(request.POST)  # the action bar's family, without its other fields
        if not form.is_valid():
            self.message_user(request, "Choose a catalogue family.", messages.ERROR)
            return
        for req in queryset.prefetch_related("files"):
            try:
                published = publish_request(req, form.cleaned_data["family"])
            except PublishError as exc:
                self.message_user(request, f"Not published: {exc}.", messages.ERROR)
            else:
                self.message_user(request, f"{published.message}.", messages.SUCCESS)
