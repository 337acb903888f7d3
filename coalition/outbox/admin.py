from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from coalition.outbox.models import OutboxMessage
from coalition.outbox.services import outbox_retry


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """Read-only: the dispatcher owns every field; failed messages are retried
    through the service, as an organiser's button does."""

    list_display = ("kind", "to", "letter", "status", "attempts", "next_attempt_at")
    list_filter = ("status", "kind")
    search_fields = ("to", "key", "message_id")
    actions = ["retry_failed"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: OutboxMessage | None = None
    ) -> bool:
        return False

    @admin.action(description=_("Retry the selected failed emails"))
    def retry_failed(
        self, request: HttpRequest, queryset: QuerySet[OutboxMessage]
    ) -> None:
        user = request.user if request.user.is_authenticated else None
        retried = outbox_retry(
            message_ids=list(queryset.values_list("pk", flat=True)), actor=user
        )
        count = len(retried)
        self.message_user(
            request,
            ngettext(
                "%(count)d failed email queued again.",
                "%(count)d failed emails queued again.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )
