from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from coalition.models import Coalition, CoalitionMember, Heartbeat, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("email",)
    list_display = ("email", "display_name", "is_staff", "is_active", "date_joined")
    search_fields = ("email", "display_name")
    fieldsets = (
        (None, {"fields": ("email", "password", "display_name")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups")},
        ),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),
    )


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ("name", "beat_at")


class CoalitionMemberInline(admin.TabularInline):
    model = CoalitionMember
    raw_id_fields = ("user",)
    extra = 0


@admin.register(Coalition)
class CoalitionAdmin(admin.ModelAdmin):
    """Support: who is in a coalition. Its directory stays with its members."""

    list_display = ("name", "slug", "is_public", "created_at")
    search_fields = ("name", "slug")
    inlines = (CoalitionMemberInline,)
