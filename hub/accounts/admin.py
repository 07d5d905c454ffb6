from django.contrib import admin
from django.http import HttpRequest

from hub.accounts.models import ApiToken, UnverifiedAddress


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at")
    readonly_fields = ("key_hash", "prefix")


@admin.register(UnverifiedAddress)
class UnverifiedAddressAdmin(admin.ModelAdmin):
    """Accounts waiting for their owner to open the verification link; deleting one here
    marks the account verified by hand."""

    list_display = ("user", "email", "created_at")
    search_fields = ("user__username", "user__email")
    readonly_fields = ("user", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # only sign-up makes an account unverified

    @admin.display(ordering="user__email")
    def email(self, obj: UnverifiedAddress) -> str:
        return str(obj.user.email)
