from django.contrib import admin

from signers.models import Delivery, InvitationBatch, ReminderSchedule, Suppression

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
