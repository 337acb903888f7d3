from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from letters.models import AuditEvent, Letter, Membership, Revision, TeamInvitation
from letters.public_pages import public_pages_changed


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records that are never edited: revisions and the audit log."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Letter)
class LetterAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "status", "updated_at")
    list_filter = ("status",)
    search_fields = ("title", "slug")
    # What signatures count against, and the list's version, move only through
    # the services (publishing a revision, signing), which keep them in step.
    readonly_fields = (
        "current_revision",
        "last_material_revision_number",
        "signers_version",
        "signers_removed_version",
    )
    inlines = [MembershipInline]

    # A change here (status, slug, settings) shows on the public page at once.
    def save_model(
        self, request: HttpRequest, obj: Letter, form: Any, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        public_pages_changed()

    def delete_model(self, request: HttpRequest, obj: Letter) -> None:
        super().delete_model(request, obj)
        public_pages_changed()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Letter]) -> None:
        super().delete_queryset(request, queryset)
        public_pages_changed()


@admin.register(Revision)
class RevisionAdmin(ReadOnlyAdmin):
    list_display = ("letter", "number", "kind", "author", "created_at")
    list_select_related = ("letter", "author")
    search_fields = ("letter__title", "sha256")


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("letter", "action", "actor", "created_at")
    list_filter = ("action",)
    list_select_related = ("letter", "actor")
    search_fields = ("letter__title", "action")


@admin.register(TeamInvitation)
class TeamInvitationAdmin(admin.ModelAdmin):
    list_display = ("email", "letter", "role", "created_at", "accepted_at")
    list_select_related = ("letter",)
    search_fields = ("email", "letter__title")
    raw_id_fields = ("letter", "invited_by", "accepted_by")
