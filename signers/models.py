import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from coalition.models import Coalition
from letters.models import Letter, Revision

# A live signature (Signature.LIVE_STATUSES): the unique constraints hold among
# these. Values written out, as the migrations record them.
LIVE_CONDITION = Q(
    status__in=["pending", "pending_approval", "confirmed", "needs_reconfirmation"]
)


class Signature(models.Model):
    """One organisation's (or individual's) signature on a letter.

    Rows are never deleted: withdrawing sets a status, and erasing personal data
    blanks the private fields while keeping the row, so counts stay honest.
    """

    class Kind(models.TextChoices):
        ORGANISATION = "organisation", _("Organisation")
        INDIVIDUAL = "individual", _("Individual")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for email confirmation")
        PENDING_APPROVAL = "pending_approval", _("Waiting for organiser approval")
        CONFIRMED = "confirmed", _("Confirmed")
        NEEDS_RECONFIRMATION = "needs_reconfirmation", _("Must re-confirm new text")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        REJECTED = "rejected", _("Rejected")
        # Never confirmed within SIGNERS_PENDING_EXPIRY_HOURS.
        EXPIRED = "expired", _("Never confirmed, expired")
        # Unconfirmed, and the same organisation or address signed from a proven
        # address (an invitation, an organisers' import): that one won.
        SET_ASIDE = "set_aside", _("Set aside for a proven signer")

    class Source(models.TextChoices):
        INVITATION = "invitation", _("Invitation")
        OPEN_JOIN = "open_join", _("Open join")
        REFERRAL = "referral", _("Referral")
        IMPORT = "import", _("Import")

    # The signature's statuses by what they mean; every status set is named here.
    # Live: it holds its organisation's name and its address, so another
    # signature for either is refused (the unique constraints, LIVE_CONDITION).
    LIVE_STATUSES = (
        Status.PENDING,
        Status.PENDING_APPROVAL,
        Status.CONFIRMED,
        Status.NEEDS_RECONFIRMATION,
    )
    # Signed on a revision and not taken back: it counts, or will again once
    # re-confirmed; a new revision must say whether they carry forward.
    SIGNED_STATUSES = (Status.CONFIRMED, Status.NEEDS_RECONFIRMATION)
    # Waiting for the signer's confirmation or the organisers' approval.
    UNCONFIRMED_STATUSES = (Status.PENDING, Status.PENDING_APPROVAL)

    letter = models.ForeignKey(
        Letter, on_delete=models.PROTECT, related_name="signatures"
    )
    revision = models.ForeignKey(
        Revision, on_delete=models.PROTECT, related_name="signatures"
    )
    kind = models.CharField(
        max_length=20, choices=Kind.choices, default=Kind.ORGANISATION
    )
    status = models.CharField(
        max_length=24, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    source = models.CharField(max_length=20, choices=Source.choices)

    # Public: organisation name (or the individual's name), where, and a website.
    display_name = models.CharField(_("name"), max_length=200)
    sort_name = models.CharField(max_length=200, db_index=True)
    # Case-, accent- and article-folded look-alike key (signers.names): one live
    # signature per value of each.
    normalised_name = models.CharField(max_length=200)
    skeleton_name = models.CharField(max_length=200, blank=True)
    affiliation = models.CharField(
        _("affiliation (for identification only)"), max_length=200, blank=True
    )
    city = models.CharField(_("city or region"), max_length=120, blank=True)
    country = models.CharField(_("country"), max_length=120, blank=True)
    website = models.URLField(_("website"), max_length=300, blank=True)

    # Private: only the letter's organisers see these.
    contact_name = models.CharField(_("contact name"), max_length=200, blank=True)
    contact_title = models.CharField(_("title or role"), max_length=200, blank=True)
    email = models.EmailField(_("email"))
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    comment = models.TextField(_("comment to the organisers"), blank=True)

    consent_listed = models.BooleanField(_("list us publicly"), default=True)
    consent_updates = models.BooleanField(_("send us coalition updates"), default=False)
    consent_logo = models.BooleanField(_("our logo may be shown"), default=False)
    attested = models.BooleanField(
        _("I am authorised to sign on behalf of this organisation"), default=False
    )

    prospect = models.ForeignKey(
        "Prospect",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="signatures",
    )
    # Set only when an organiser confirms a match (signers.partners.matching).
    partner = models.ForeignKey(
        "Partner",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="signatures",
    )
    rejection_reason = models.TextField(blank=True)
    # A new public name the signer asked for, waiting for an organiser's approval.
    requested_display_name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["sort_name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["letter", "normalised_name"],
                condition=LIVE_CONDITION,
                name="signature_one_live_per_name",
            ),
            # Rows made outside signature_create (fixtures, benchmarks) may
            # leave it empty.
            models.UniqueConstraint(
                fields=["letter", "skeleton_name"],
                condition=LIVE_CONDITION & ~Q(skeleton_name=""),
                name="signature_one_live_per_look_alike_name",
            ),
            models.UniqueConstraint(
                fields=["letter", "email"],
                condition=LIVE_CONDITION,
                name="signature_one_live_per_email",
            ),
        ]
        indexes = [models.Index(fields=["letter", "status", "kind", "sort_name"])]

    def __str__(self) -> str:
        return f"{self.display_name} on {self.letter_id} ({self.status})"

    @staticmethod
    def pending_expiry_cutoff(now: datetime) -> datetime:
        """Unconfirmed signatures created before this have expired."""
        return now - timedelta(hours=settings.SIGNERS_PENDING_EXPIRY_HOURS)

    def has_expired(self, now: datetime) -> bool:
        """Pending, and past the time to confirm (whether or not beat has
        marked it yet)."""
        return self.status == self.Status.PENDING and (
            self.created_at < self.pending_expiry_cutoff(now)
        )


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
        Signature,
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


class ChangeRequest(models.Model):
    """'We will sign if paragraph 3 changes': shown to organisers beside the text."""

    letter = models.ForeignKey(
        Letter, on_delete=models.CASCADE, related_name="change_requests"
    )
    revision = models.ForeignKey(
        Revision, on_delete=models.PROTECT, related_name="change_requests"
    )
    signature = models.ForeignKey(
        Signature, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    prospect = models.ForeignKey(
        Prospect, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # "point-1".."point-3", "paragraph-N" or "general".
    anchor = models.CharField(max_length=30, default="general")
    text = models.TextField(_("requested change"))
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Change request on {self.letter_id} at {self.anchor}"


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


class Update(models.Model):
    """An organisers' message to a letter's signers and/or invitees.

    A draft until sent; sending puts one outbox message per recipient (kind
    update, group ``update:<id>``), whose rows are the per-recipient results.
    """

    class Audience(models.TextChoices):
        SIGNERS = "signers", _("Signers who agreed to receive updates")
        INVITEES = "invitees", _("Invitees who have not answered yet")
        BOTH = "both", _("Both")

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="updates")
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"), help_text=_("Markdown."))
    audience = models.CharField(
        _("send to"),
        max_length=10,
        choices=Audience.choices,
        default=Audience.SIGNERS,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Set once, when the organiser presses "Send": counts toward the weekly limit.
    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.subject

    @property
    def is_draft(self) -> bool:
        return self.sent_at is None

    @property
    def audience_description(self) -> str:
        """Who it goes to, said in full: the choice "Both" reads well only next
        to the other two."""
        if self.audience == self.Audience.BOTH:
            return str(
                _(
                    "Signers who agreed to receive updates and invitees who have "
                    "not answered yet"
                )
            )
        return str(self.get_audience_display())


class Call(models.Model):
    """A coalition call: invitations with an .ics, RSVPs, reminders, notes."""

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="calls")
    title = models.CharField(_("title"), max_length=200)
    starts_at = models.DateTimeField(_("starts"))
    duration_minutes = models.PositiveSmallIntegerField(
        _("length (minutes)"), default=60
    )
    join_url = models.URLField(_("join link"), max_length=500)
    agenda = models.TextField(_("agenda"), blank=True, help_text=_("Markdown."))
    notes = models.TextField(_("notes"), blank=True, help_text=_("Markdown."))
    notes_sent_at = models.DateTimeField(null=True, blank=True)
    # iCalendar SEQUENCE: raised when the time changes, so calendars update.
    sequence = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=5) & Q(duration_minutes__lte=600),
                name="call_duration_range",
            )
        ]

    def __str__(self) -> str:
        return self.title


class CallInvitation(models.Model):
    """One person invited to a call; the RSVP link points here."""

    class Response(models.TextChoices):
        NONE = "", _("No answer yet")
        YES = "yes", _("Coming")
        NO = "no", _("Not coming")

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    signature = models.ForeignKey(
        Signature, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    response = models.CharField(
        max_length=3, choices=Response.choices, default=Response.NONE, blank=True
    )
    responded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["email", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["call", "email"], name="call_invitation_unique_email"
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} to call {self.call_id} ({self.response or '-'})"

    @property
    def name(self) -> str:
        if self.signature is not None:
            return self.signature.display_name
        if self.user is not None:
            return self.user.display_name or self.user.email
        return self.email


class Reissue(models.Model):
    """A closed letter sent again (same text, new addressee) as a new letter."""

    source = models.ForeignKey(
        Letter, on_delete=models.CASCADE, related_name="reissues"
    )
    letter = models.OneToOneField(
        Letter, on_delete=models.CASCADE, related_name="reissued_from"
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
        return f"{self.source_id} re-issued as {self.letter_id}"


class ReissueOptIn(models.Model):
    """An earlier signer asked to join the re-issued letter. Nobody is listed
    on it until they press the button (``opted_in_at``)."""

    reissue = models.ForeignKey(
        Reissue, on_delete=models.CASCADE, related_name="opt_ins"
    )
    earlier = models.ForeignKey(Signature, on_delete=models.CASCADE, related_name="+")
    signature = models.ForeignKey(
        Signature,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    opted_in_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["reissue", "earlier"], name="reissue_opt_in_once_per_signer"
            )
        ]

    def __str__(self) -> str:
        return f"Opt-in of {self.earlier_id} to reissue {self.reissue_id}"


# --- The partner directory: one record per real organisation in a coalition ------


class Tag(models.Model):
    """An issue area partners work on ("housing", "climate"), per coalition."""

    coalition = models.ForeignKey(
        Coalition, on_delete=models.CASCADE, related_name="tags"
    )
    name = models.CharField(_("name"), max_length=80)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                "coalition", Lower("name"), name="tag_unique_name_per_coalition"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Partner(models.Model):
    """An organisation in a coalition's directory, across all its letters.

    Private to the coalition's members. Prospects and signatures point here only
    after an organiser confirms a match; nothing public reads this table except
    the coalition's opt-in public page, and only with ``listed_publicly``.
    """

    class Kind(models.TextChoices):
        NGO = "ngo", _("NGO or charity")
        UNION = "union", _("Trade union")
        FAITH = "faith", _("Faith group")
        BUSINESS = "business", _("Business")
        NETWORK = "network", _("Network or coalition")
        ACADEMIC = "academic", _("Academic")
        PUBLIC_BODY = "public_body", _("Public body")
        OTHER = "other", _("Other")

    class Influence(models.TextChoices):
        LOCAL = "local", _("Local")
        REGIONAL = "regional", _("Regional")
        NATIONAL = "national", _("National")
        INTERNATIONAL = "international", _("International")

    coalition = models.ForeignKey(
        Coalition, on_delete=models.CASCADE, related_name="partners"
    )
    name = models.CharField(_("name"), max_length=200)
    sort_name = models.CharField(max_length=200)
    # The duplicate keys of signers.names, as on Signature.
    normalised_name = models.CharField(max_length=200)
    skeleton_name = models.CharField(max_length=200, blank=True)
    website = models.URLField(_("website"), max_length=300, blank=True)
    # The website's host without "www.", kept by the services for matching.
    website_domain = models.CharField(max_length=253, blank=True)
    place = models.CharField(_("place"), max_length=120, blank=True)
    kind = models.CharField(
        _("kind"), max_length=20, choices=Kind.choices, default=Kind.NGO
    )
    tags = models.ManyToManyField(
        Tag, blank=True, related_name="partners", verbose_name=_("issue areas")
    )
    members_count = models.PositiveIntegerField(_("members"), null=True, blank=True)
    staff_count = models.PositiveIntegerField(_("staff"), null=True, blank=True)
    reach = models.PositiveIntegerField(
        _("reach (people it can mobilise)"), null=True, blank=True
    )
    influence = models.CharField(
        _("level of influence"), max_length=20, choices=Influence.choices, blank=True
    )
    stakeholders = models.TextField(_("stakeholders"), blank=True)
    relationships = models.TextField(_("relationships"), blank=True)
    shared_interests = models.TextField(_("shared interests"), blank=True)
    deal_breakers = models.TextField(_("deal-breakers"), blank=True)
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("relationship held by"),
    )
    # The partner agreed to be named on the coalition's public page.
    listed_publicly = models.BooleanField(
        _("may be named on the coalition's public page"), default=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sort_name", "id"]
        indexes = [
            models.Index(fields=["coalition", "sort_name"]),
            models.Index(fields=["coalition", "normalised_name"]),
            models.Index(fields=["coalition", "skeleton_name"]),
            models.Index(fields=["coalition", "website_domain"]),
        ]

    def __str__(self) -> str:
        return self.name


class PartnerName(models.Model):
    """Another name a partner has signed or been known under, with its keys."""

    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="other_names"
    )
    name = models.CharField(_("name"), max_length=200)
    normalised_name = models.CharField(max_length=200, db_index=True)
    skeleton_name = models.CharField(max_length=200, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "normalised_name"],
                name="partner_name_unique_per_partner",
            )
        ]

    def __str__(self) -> str:
        return self.name


class PartnerDomain(models.Model):
    """An email domain the partner's people write from ("example.org")."""

    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="email_domains"
    )
    domain = models.CharField(_("email domain"), max_length=253, db_index=True)

    class Meta:
        ordering = ["domain", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "domain"], name="partner_domain_unique_per_partner"
            )
        ]

    def __str__(self) -> str:
        return self.domain


class PartnerContact(models.Model):
    """A person at a partner. Never shown outside the coalition."""

    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="contacts"
    )
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("email"), blank=True)
    role = models.CharField(_("role"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    consent_to_contact = models.BooleanField(
        _("agreed to be contacted by the coalition"), default=False
    )
    consent_at = models.DateTimeField(_("agreed on"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


def _agreement_path(instance: "Agreement", filename: str) -> str:
    # A random folder: the name of one file tells nothing about another's.
    return f"partners/agreements/{instance.partner_id}/{uuid.uuid4().hex}/{filename}"


class Agreement(models.Model):
    """What a partnership has put in writing: a short text, a file, or both."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PROPOSED = "proposed", _("Proposed")
        AGREED = "agreed", _("Agreed")
        ENDED = "ended", _("Ended")

    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="agreements"
    )
    title = models.CharField(_("title"), max_length=200)
    text = models.TextField(_("text"), blank=True)
    file = models.FileField(_("file"), upload_to=_agreement_path, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    date = models.DateField(_("date"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return self.title


class PartnerMatch(models.Model):
    """A proposal that a prospect or a signature is a directory partner.

    Made by the site, decided by an organiser: only confirming links the row.
    One proposal per (partner, row), so a rejected one is not proposed again.
    """

    class Reason(models.TextChoices):
        NAME = "name", _("Same name")
        LOOK_ALIKE = "look_alike", _("Look-alike name")
        OTHER_NAME = "other_name", _("One of its other names")
        DOMAIN = "domain", _("Same email or web domain")

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        CONFIRMED = "confirmed", _("Confirmed")
        REJECTED = "rejected", _("Rejected")

    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="matches"
    )
    prospect = models.ForeignKey(
        Prospect,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="partner_matches",
    )
    signature = models.ForeignKey(
        Signature,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="partner_matches",
    )
    reason = models.CharField(max_length=20, choices=Reason.choices)
    status = models.CharField(
        max_length=10,
        choices=Status.choices,
        default=Status.PROPOSED,
        db_index=True,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(prospect__isnull=False, signature__isnull=True)
                | Q(prospect__isnull=True, signature__isnull=False),
                name="partner_match_one_row",
            ),
            models.UniqueConstraint(
                fields=["partner", "prospect"],
                condition=Q(prospect__isnull=False),
                name="partner_match_once_per_prospect",
            ),
            models.UniqueConstraint(
                fields=["partner", "signature"],
                condition=Q(signature__isnull=False),
                name="partner_match_once_per_signature",
            ),
        ]

    def __str__(self) -> str:
        row = (
            f"prospect {self.prospect_id}"
            if self.prospect_id
            else f"signature {self.signature_id}"
        )
        return f"{row} as partner {self.partner_id} ({self.status})"
