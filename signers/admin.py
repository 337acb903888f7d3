from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from coalition.service_admin import ServiceOwnedAdmin
from coalition.types import AuthedHttpRequest
from signers.forms.signing import NameField
from signers.models import (
    ChangeRequest,
    InvitationBatch,
    Prospect,
    ReminderSchedule,
    Signature,
    Suppression,
)
from signers.services.personal_data import signature_erase_personal_data
from signers.services.signatures import signature_reject, signature_rename


class RenameForm(forms.Form):
    display_name = NameField(label=_("name"), max_length=200)


@admin.register(Signature)
class SignatureAdmin(ServiceOwnedAdmin):
    """Support and abuse handling, through the services: a rename (which
    recomputes the duplicate keys, logs it and takes the old name off the
    page), a rejection, an erasure. What the signer stated is theirs to
    change, never staff's; only the private contact details are edited here."""

    list_display = ("display_name", "letter", "kind", "status", "source", "created_at")
    list_filter = ("status", "kind", "source")
    search_fields = ("display_name", "email", "contact_name", "letter__slug")
    editable_fields = ("contact_name", "contact_title", "phone", "comment")
    shown_as = {"display_name": "name"}
    actions = ["reject_as_spam", "erase_personal_data"]

    form_class = RenameForm
    form_path = "rename"
    form_title = _("Rename the signer")

    @admin.display(description=_("name"))
    def name(self, signature: Signature) -> str:
        return self.with_form_link(signature, signature.display_name, gettext("rename"))

    def form_apply(
        self, request: AuthedHttpRequest, obj: Signature, data: dict[str, Any]
    ) -> bool:
        return signature_rename(
            signature=obj, actor=request.user, display_name=data["display_name"]
        )

    @admin.action(description=_("Reject as spam (the signer is told)"))
    def reject_as_spam(
        self, request: AuthedHttpRequest, queryset: QuerySet[Signature]
    ) -> None:
        self.act_on_each(
            request,
            queryset,
            lambda s: signature_reject(
                signature=s, actor=request.user, reason=gettext("Spam or abuse.")
            ),
            lambda n: (
                ngettext("%(n)d signature rejected.", "%(n)d signatures rejected.", n)
                % {"n": n}
            ),
        )

    @admin.action(description=_("Erase personal data (keeps the row and counts)"))
    def erase_personal_data(
        self, request: AuthedHttpRequest, queryset: QuerySet[Signature]
    ) -> None:
        self.act_on_each(
            request,
            queryset,
            lambda s: signature_erase_personal_data(signature=s, actor=request.user),
            lambda n: (
                ngettext(
                    "Personal data erased from %(n)d signature.",
                    "Personal data erased from %(n)d signatures.",
                    n,
                )
                % {"n": n}
            ),
        )


@admin.register(Prospect)
class ProspectAdmin(admin.ModelAdmin):
    list_display = ("organisation", "email", "letter", "status", "referred_by")
    list_filter = ("status",)
    search_fields = ("organisation", "email", "contact_name")
    raw_id_fields = ("letter", "owner", "referred_by", "partner")


@admin.register(ChangeRequest)
class ChangeRequestAdmin(admin.ModelAdmin):
    list_display = ("letter", "anchor", "revision", "status", "created_at")
    list_filter = ("status",)
    raw_id_fields = (
        "letter",
        "revision",
        "signature",
        "prospect",
        "accepted_revision",
        "resolved_by",
        "replied_by",
    )


# --- Outreach ---------------------------------------------------------------------


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ("email", "letter", "reason", "created_at")
    list_filter = ("reason",)
    search_fields = ("email",)
    raw_id_fields = ("letter",)


@admin.register(ReminderSchedule)
class ReminderScheduleAdmin(admin.ModelAdmin):
    list_display = ("letter", "soft_days_before", "last_call_days_before", "updated_at")
    raw_id_fields = ("letter",)


@admin.register(InvitationBatch)
class InvitationBatchAdmin(admin.ModelAdmin):
    list_display = ("pk", "letter", "created_by", "created_at")
    raw_id_fields = ("letter", "created_by")
