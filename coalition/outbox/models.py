from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class OutboxMessage(models.Model):
    """One email to one recipient, sent at most once by the dispatcher.

    ``key`` is the exactly-once key (``"reminder:<letter>:<step>:<recipient>"``):
    enqueuing the same key again returns the existing row. ``message_id`` is
    fixed at enqueue and sent as the Message-ID header, so a message resent after
    a cut SMTP conversation is recognisably the same one. The message is built
    at send time by the builder registered for ``kind`` (from ``params`` and the
    rows linked here), unless it was built at enqueue; once built for a failed
    attempt it is kept in ``built``, so a retry sends the very same message.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Not sent")

    kind = models.CharField(max_length=40)
    key = models.CharField(max_length=255, unique=True)
    message_id = models.CharField(max_length=255, unique=True)
    to = models.EmailField(_("recipient"))
    params = models.JSONField(default=dict, blank=True)
    built = models.JSONField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # What the message concerns, for the organisers' pages and the retry button.
    letter = models.ForeignKey(
        "letters.Letter",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="outbox_messages",
    )
    signature = models.ForeignKey(
        "signers.Signature",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="outbox_messages",
    )
    prospect = models.ForeignKey(
        "signers.Prospect",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="outbox_messages",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    # A set of messages a page counts together ("update:12", "call:3", "batch:7").
    group = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["next_attempt_at", "id"]
        indexes = [
            # The dispatcher's questions: what is due, which claims are stale,
            # which rows are its batch.
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=Q(status="queued"),
                name="outbox_due",
            ),
            models.Index(
                fields=["claimed_at"],
                condition=Q(claim_token__isnull=False),
                name="outbox_claimed",
            ),
            models.Index(
                fields=["claim_token"],
                condition=Q(claim_token__isnull=False),
                name="outbox_claim",
            ),
            # A letter's pages and planners: by kind, then status or basis.
            models.Index(fields=["letter", "kind"], name="outbox_letter_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to} ({self.status})"
