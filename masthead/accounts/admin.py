from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import ValidationError

from .addresses import FIELDS, validate_address
from .models import AccountEvent, EmailChangeRequest, MagicLink, ShippingAddress, User


class ShippingAddressAdminForm(forms.ModelForm):
    """Staff edits pass the same country rules as everyone else's."""

    class Meta:
        model = ShippingAddress
        fields = ["user", *FIELDS]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            cleaned.update(validate_address({field: cleaned.get(field) for field in FIELDS}))
        except ValidationError as error:
            self.add_error(None, error)
        return cleaned


class ShippingAddressInline(admin.StackedInline):
    model = ShippingAddress
    form = ShippingAddressAdminForm
    extra = 0
    can_delete = True


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active", "wants_newsletter"]
    search_fields = ["email", "full_name"]
    inlines = [ShippingAddressInline]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["full_name", "first_name", "last_name"]}),
        ("Email preferences", {"fields": ["wants_newsletter", "wants_issue_emails"]}),
        (
            "Permissions",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by actions only: viewable, not editable by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(MagicLink)
class MagicLinkAdmin(ReadOnlyAdmin):
    list_display = ["email", "purpose", "created_at", "expires_at", "used_at", "voided_at"]
    list_filter = ["purpose"]
    search_fields = ["email"]
    exclude = ["token_hash"]
    date_hierarchy = "created_at"


@admin.register(EmailChangeRequest)
class EmailChangeRequestAdmin(ReadOnlyAdmin):
    list_display = ["user", "new_email", "created_at", "expires_at", "used_at", "voided_at"]
    search_fields = ["user__email", "new_email"]
    exclude = ["token_hash"]
    raw_id_fields = ["user"]


@admin.register(ShippingAddress)
class ShippingAddressAdmin(admin.ModelAdmin):
    form = ShippingAddressAdminForm
    list_display = ["user", "name", "city", "postal_code", "country", "updated_at"]
    list_filter = ["country"]
    search_fields = ["user__email", "name", "city", "postal_code"]
    raw_id_fields = ["user"]


@admin.register(AccountEvent)
class AccountEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "user", "data"]
    list_filter = ["kind"]
    search_fields = ["user__email"]
    date_hierarchy = "created_at"
    raw_id_fields = ["user"]
