"""Updates, calls and re-issues: what a letter's coalition hears after signing."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from letters.models import Letter
from signers.models.signatures import Signature


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
