from django.contrib import admin, messages
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from coalition.types import AuthedHttpRequest
from signers.models import (
    ChangeRequest,
    Delivery,
    InvitationBatch,
    Prospect,
    ReminderSchedule,
    Signature,
    SignatureEmail,
    Suppression,
)
from signers.services.personal_data import signature_erase_personal_data
from signers.services.signatures import signature_reject


@admin.register(Signature)
class SignatureAdmin(admin.ModelAdmin):
    """Support and abuse handling. Statuses change only through the services,
    and what the signer stated (kind, attestation, consent to be listed) is
    theirs to change, never staff's."""

    list_display = ("display_name", "letter", "kind", "status", "source", "created_at")
    list_filter = ("status", "kind", "source")
    search_fields = ("display_name", "email", "contact_name", "letter__slug")
    raw_id_fields = ("letter", "revision", "prospect", "partner")
    readonly_fields = (
        "status", "revision", "normalised_name", "skeleton_name", "confirmed_at",
        "withdrawn_at", "erased_at", "created_at", "updated_at", "kind", "attested",
        "consent_listed",
    )  # fmt: skip
    actions = ["reject_as_spam", "erase_personal_data"]

    @admin.action(description=_("Reject as spam (the signer is told)"))
    def reject_as_spam(
        self, request: AuthedHttpRequest, queryset: QuerySet[Signature]
    ) -> None:
        done = sum(
            signature_reject(
                signature=s,
                actor=request.user,
                reason=str(_("Spam or abuse.")),
            )
            for s in queryset
        )
        self.message_user(request, _("%(n)d rejected.") % {"n": done}, messages.SUCCESS)

    @admin.action(description=_("Erase personal data (keeps the row and counts)"))
    def erase_personal_data(
        self, request: AuthedHttpRequest, queryset: QuerySet[Signature]
    ) -> None:
        done = sum(
            signature_erase_personal_data(signature=s, actor=request.user)
            for s in queryset
        )
        self.message_user(request, _("%(n)d erased.") % {"n": done}, messages.SUCCESS)


@admin.register(Prospect)
class ProspectAdmin(admin.ModelAdmin):
    list_display = ("organisation", "email", "letter", "status", "referred_by")
    list_filter = ("status",)
    search_fields = ("organisation", "email", "contact_name")
    raw_id_fields = ("letter", "owner", "referred_by", "partner")


@admin.register(ChangeRequest)
class ChangeRequestAdmin(admin.ModelAdmin):
    list_display = ("letter", "anchor", "revision", "created_at", "resolved_at")
    raw_id_fields = ("letter", "revision", "signature", "prospect")


@admin.register(SignatureEmail)
class SignatureEmailAdmin(admin.ModelAdmin):
    list_display = ("signature", "kind", "revision", "created_at", "sent_at")
    list_filter = ("kind",)
    raw_id_fields = ("signature", "revision")


# --- Outreach ---------------------------------------------------------------------


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "kind",
        "email",
        "letter",
        "status",
        "attempts",
        "due_at",
        "sent_at",
    )
    list_filter = ("status", "kind")
    search_fields = ("email", "key", "message_id")
    raw_id_fields = ("letter", "prospect", "signature", "user", "batch")
    readonly_fields = ("key", "message_id", "created_at", "updated_at")


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
