"""Prospects, the emails the signers app sends, reminder schedules and
invitation batches."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from letters.models import Letter


class Prospect(models.Model):
    """An organisation the organisers want to sign; invitation links point here.

    Private to the letter's organisers: who was asked is never public.
    """

    class Status(models.TextChoices):
        IDENTIFIED = "identified", _("Identified")
        INVITED = "invited", _("Invited")
        OPENED = "opened", _("Opened")
        SIGNED = "signed", _("Signed")
        DECLINED = "declined", _("Declined")
        NEEDS_TIME = "needs_time", _("Needs time")
        NO_RESPONSE = "no_response", _("No response")
        DO_NOT_CONTACT = "do_not_contact", _("Do not contact")

    # The prospect's statuses by what they allow; every status set is named here.
    # Never invited, or invited by hand: these may be sent the invitation.
    INVITABLE_STATUSES = (Status.IDENTIFIED, Status.NEEDS_TIME, Status.NO_RESPONSE)
    # Invited and not answered yet: these get reminders.
    AWAITING_ANSWER_STATUSES = (
        Status.INVITED,
        Status.OPENED,
        Status.NEEDS_TIME,
        Status.NO_RESPONSE,
    )
    # Not opened yet: opening the invitation moves these to "opened".
    UNOPENED_STATUSES = (Status.IDENTIFIED, Status.INVITED, Status.NO_RESPONSE)
    # Answered for good: nothing more is sent, and nothing changes it back.
    FINAL_STATUSES = (Status.SIGNED, Status.DECLINED, Status.DO_NOT_CONTACT)
    # What organisers set on many at once: all but "signed", which only a
    # signature gives (and its withdrawal takes back).
    BULK_STATUSES = (
        Status.IDENTIFIED,
        Status.INVITED,
        Status.OPENED,
        Status.DECLINED,
        Status.NEEDS_TIME,
        Status.NO_RESPONSE,
        Status.DO_NOT_CONTACT,
    )

    letter = models.ForeignKey(
        Letter, on_delete=models.CASCADE, related_name="prospects"
    )
    organisation = models.CharField(_("organisation"), max_length=200)
    contact_name = models.CharField(_("contact name"), max_length=200, blank=True)
    email = models.EmailField(_("email"))
    notes = models.TextField(_("notes"), blank=True)
    is_large = models.BooleanField(
        _("large organisation: approach early"), default=False
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("relationship held by"),
    )
    # Set only when an organiser confirms a match (signers.partners.matching).
    partner = models.ForeignKey(
        "Partner",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="prospects",
    )
    referred_by = models.ForeignKey(
        "signers.Signature",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="referrals",
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.IDENTIFIED, db_index=True
    )
    decline_reason = models.TextField(blank=True)
    invited_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    last_contacted_at = models.DateTimeField(null=True, blank=True)
    next_follow_up = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organisation", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["letter", "email"], name="prospect_unique_email_per_letter"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation} <{self.email}>"


class EmailKind(models.TextChoices):
    """Every kind of email the signers app sends; each is an outbox row
    (``coalition.outbox``) built by ``signers.emails``."""

    # To a signer about their signature: once per signature, kind and revision.
    RECEIPT = "receipt", _("Receipt")
    CONFIRM_REQUEST = "confirm_request", _("Email confirmation request")
    WITHDRAWN = "withdrawn", _("Withdrawal confirmation")
    APPROVED = "approved", _("Approved by the organisers")
    REJECTED = "rejected", _("Rejected by the organisers")
    EDITORIAL_NOTICE = "editorial_notice", _("Notice of an editorial revision")
    RECONFIRM_REQUEST = "reconfirm_request", _("Request to re-confirm")
    SET_ASIDE = "set_aside", _("Notice that a proven signer took the name")
    # Asked for from the join form; may be sent again after an hour.
    STATUS = "status", _("Status, on request")
    # Outreach: once per (letter, kind, recipient, basis).
    INVITATION = "invitation", _("Invitation")
    SOFT_REMINDER = "soft_reminder", _("Reminder before the deadline")
    HARD_ANNOUNCEMENT = "hard_announcement", _("Announcement of closing date")
    LAST_CALL = "last_call", _("Last call")
    CONFIRM_REMINDER = "confirm_reminder", _("Reminder to confirm a sign-up")
    RECONFIRM_REMINDER = "reconfirm_reminder", _("Reminder to re-confirm")
    DIGEST = "digest", _("Daily digest")
    SIGNING_CLOSED = "signing_closed", _("Signing closed notice")
    # Coalition communications (signers.planning plans these).
    UPDATE = "update", _("Update")
    UPDATE_TEST = "update_test", _("Test of an update")
    SIGNER_LIST = "signer_list", _("Signer list digest")
    CALL_INVITATION = "call_invitation", _("Call invitation")
    CALL_REMINDER = "call_reminder", _("Call reminder")
    CALL_NOTES = "call_notes", _("Call notes")
    REISSUE_OPT_IN = "reissue_opt_in", _("Re-issue opt-in request")


SIGNATURE_EMAIL_KINDS = frozenset(
    {
        EmailKind.RECEIPT,
        EmailKind.CONFIRM_REQUEST,
        EmailKind.WITHDRAWN,
        EmailKind.APPROVED,
        EmailKind.REJECTED,
        EmailKind.EDITORIAL_NOTICE,
        EmailKind.RECONFIRM_REQUEST,
        EmailKind.SET_ASIDE,
        EmailKind.STATUS,
    }
)


# --- Outreach: reminder schedules, invitation batches, suppressions ---------------


def default_soft_days() -> list[int]:
    return [3, 1]


class ReminderSchedule(models.Model):
    """When a letter's reminders go out; a letter without a row uses the defaults."""

    letter = models.OneToOneField(
        Letter, on_delete=models.CASCADE, related_name="reminder_schedule"
    )
    soft_days_before = models.JSONField(
        _("days before the deadline given to invitees"), default=default_soft_days
    )
    announce_hard_deadline = models.BooleanField(
        _("after that deadline, announce when signing closes"), default=False
    )
    last_call_days_before = models.PositiveSmallIntegerField(
        _("last call, days before signing closes"), null=True, blank=True, default=1
    )
    confirm_after_days = models.PositiveSmallIntegerField(
        _("remind unconfirmed sign-ups after (days)"), null=True, blank=True, default=2
    )
    reconfirm_after_days = models.PositiveSmallIntegerField(
        _("remind signers to re-confirm after (days)"),
        null=True,
        blank=True,
        default=3,
    )
    digest_enabled = models.BooleanField(_("daily digest to organisers"), default=True)
    digest_hour = models.PositiveSmallIntegerField(
        _("digest hour (letter's time zone)"), default=8
    )
    signer_list_digest = models.CharField(
        _("send consenting signers the list of signers"),
        max_length=10,
        choices=[("off", _("Off")), ("weekly", _("Weekly, on Mondays"))],
        default="off",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(digest_hour__lte=23), name="reminder_schedule_digest_hour"
            )
        ]

    def __str__(self) -> str:
        return f"Reminder schedule of {self.letter_id}"


class InvitationBatch(models.Model):
    """One press of "Invite": its outbox messages (group ``batch:<id>``) are
    the per-recipient results."""

    letter = models.ForeignKey(
        Letter, on_delete=models.CASCADE, related_name="invitation_batches"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Invitation batch {self.pk} of {self.letter_id}"


class Suppression(models.Model):
    """An address that gets nothing more about a letter: unsubscribed or bounced."""

    class Reason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        BOUNCED = "bounced", _("Bounced")

    letter = models.ForeignKey(
        Letter, on_delete=models.CASCADE, related_name="suppressions"
    )
    email = models.EmailField()
    reason = models.CharField(max_length=20, choices=Reason.choices)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["letter", "email"], name="suppression_unique_email_per_letter"
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} on {self.letter_id} ({self.reason})"


# --- Coalition communications: updates, calls, re-issue ---------------------------
