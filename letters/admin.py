from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from coalition.service_admin import ServiceOwnedAdmin
from coalition.types import AuthedHttpRequest
from letters.models import AuditEvent, Letter, Membership, Revision, TeamInvitation
from letters.public_pages import public_pages_changed
from letters.services.letters import letter_update_settings
from letters.services.lifecycle import (
    letter_close,
    letter_publish,
    letter_reopen,
    letter_start_circulating,
)


class MembershipInline(admin.TabularInline):
    """Who is on the team; changed by the team pages (and logged there)."""

    model = Membership
    extra = 0
    fields = readonly_fields = ("user", "role", "created_at")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records that are never edited: revisions and the audit log."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class WebAddressForm(forms.Form):
    slug = forms.SlugField(label=_("web address"), max_length=80)


@admin.register(Letter)
class LetterAdmin(ServiceOwnedAdmin):
    """Support and abuse handling. Everything here is the organisers' or the
    services': staff move a letter through its life with the actions (as its
    owners would, logged under their own name) and change its web address with
    its own form; what signatures count against moves only with revisions."""

    list_display = ("title", "slug", "status", "updated_at")
    list_filter = ("status",)
    search_fields = ("title", "slug")
    shown_as = {"slug": "web_address"}
    inlines = [MembershipInline]
    actions = ["start_circulating", "publish", "close", "reopen"]

    form_class = WebAddressForm
    form_path = "web-address"
    form_title = _("Change the web address")

    @admin.display(description=_("web address"))
    def web_address(self, letter: Letter) -> str:
        return self.with_form_link(letter, letter.slug, gettext("change"))

    def form_apply(
        self, request: AuthedHttpRequest, obj: Letter, data: dict[str, Any]
    ) -> Letter:
        return letter_update_settings(letter=obj, actor=request.user, slug=data["slug"])

    def _move(
        self,
        request: AuthedHttpRequest,
        queryset: QuerySet[Letter],
        service: Callable[..., Letter],
    ) -> None:
        self.act_on_each(
            request,
            queryset,
            lambda letter: service(letter=letter, actor=request.user, as_staff=True),
            lambda n: (
                ngettext("%(n)d letter changed.", "%(n)d letters changed.", n)
                % {"n": n}
            ),
        )

    @admin.action(description=_("Start circulating"))
    def start_circulating(
        self, request: AuthedHttpRequest, queryset: QuerySet[Letter]
    ) -> None:
        self._move(request, queryset, letter_start_circulating)

    @admin.action(description=_("Publish now"))
    def publish(self, request: AuthedHttpRequest, queryset: QuerySet[Letter]) -> None:
        self._move(request, queryset, letter_publish)

    @admin.action(description=_("Close (no more signatures)"))
    def close(self, request: AuthedHttpRequest, queryset: QuerySet[Letter]) -> None:
        self._move(request, queryset, letter_close)

    @admin.action(description=_("Reopen"))
    def reopen(self, request: AuthedHttpRequest, queryset: QuerySet[Letter]) -> None:
        self._move(request, queryset, letter_reopen)

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
