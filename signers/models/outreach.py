"""Prospects, the emails the signers app sends, reminder schedules and
invitation batches."""

from email.utils import parseaddr

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext
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
    # Shown to the prospect in their invitation, as a paragraph of its own.
    personal_note = models.TextField(
        _("personal note in the invitation"),
        blank=True,
        help_text=_(
            "Plain text, shown to this prospect as a paragraph of its own "
            "in the invitation, for example: we spoke at the assembly."
        ),
    )
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
    # Answers and notices: once per reply, once per recipient per 15 minutes.
    CHANGE_REQUEST_REPLY = "change_request_reply", _("Reply to a change request")
    SIGNING_NOTICE = "signing_notice", _("Notice of new signatures")
    # To the organiser who confirmed a signer import that ran in the background.
    IMPORT_FINISHED = "signature_import_finished", _("Signer import finished")


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
    min_days_after_invitation = models.PositiveSmallIntegerField(
        _("no reminder sooner after the invitation than (days)"), default=2
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
    the per-recipient results.

    Its sender is the organiser who sent it, as they were then: their name is
    the invitations' (and the reminders') display name, their address the
    Reply-To unless a prospect's relationship holder takes it. An empty
    subject or opening is the site's own wording.
    """

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
    sender_name = models.CharField(max_length=150, blank=True)
    sender_email = models.EmailField(blank=True)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    opening = models.TextField(_("opening paragraph"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Invitation batch {self.pk} of {self.letter_id}"

    @property
    def from_email(self) -> str:
        """``"Maria Lopez via Coalition" <site address>``: the site's own
        address stays the sender (SPF, DKIM); the name is one line, quoted."""
        return sender_address(self.sender_name)

    def reply_to(self, prospect: Prospect) -> list[str]:
        """The prospect's relationship holder, else the organiser who sent the
        batch, else the letter's reply-to address."""
        return reply_to_for(prospect, sender_email=self.sender_email)

    def worded(self, text: str, prospect: Prospect) -> str:
        """An organiser's subject or opening for one prospect: ``{organisation}``
        becomes the prospect's organisation; nothing else is read."""
        return text.replace(ORGANISATION_PLACEHOLDER, prospect.organisation)


# What an organiser's own subject or opening may say, to be filled per prospect.
ORGANISATION_PLACEHOLDER = "{organisation}"


def sender_address(name: str) -> str:
    """The site's address with ``name`` and the site's name as its display
    name, or the site's address alone for an empty name. Control characters
    and line breaks cannot reach a header: whitespace runs become one space."""
    clean = "".join(ch for ch in " ".join(name.split()) if ch.isprintable())[:100]
    if not clean:
        return str(settings.DEFAULT_FROM_EMAIL)
    _site_name, address = parseaddr(str(settings.DEFAULT_FROM_EMAIL))
    with translation.override(settings.LANGUAGE_CODE):
        display = gettext("%(name)s via %(site)s") % {
            "name": clean,
            "site": settings.SITE_NAME,
        }
    quoted = display.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}" <{address}>'


def reply_to_for(prospect: Prospect, *, sender_email: str = "") -> list[str]:
    """Where a prospect's answer goes: their relationship holder, else the
    organiser who invited them, else the letter's reply-to address."""
    owner = prospect.owner
    if owner is not None and owner.email:
        return [owner.email]
    if sender_email:
        return [sender_email]
    reply_to = prospect.letter.reply_to
    return [reply_to] if reply_to else []


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
