"""Signatures and the change requests signers send."""

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from letters.models import Letter, Revision
from signers.models.public_rows import PUBLIC_ROW

# A live signature (Signature.LIVE_STATUSES): the unique constraints hold among
# these. Values written out, as the migrations record them.
LIVE_CONDITION = Q(
    status__in=["pending", "pending_approval", "confirmed", "needs_reconfirmation"]
)


def logo_path(instance: "Signature", filename: str) -> str:
    """An unguessable name: the name of one logo tells nothing about another's,
    and a new logo is a new address (caches of the old one never show it).
    The extension is the one the logo was re-encoded to (signers.logos), never
    the uploader's."""
    extension = filename.rsplit(".", 1)[-1]
    return f"signers/logos/{secrets.token_urlsafe(24)}.{extension}"


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
    # A PNG or JPEG re-encoded by signers.logos; shown only with consent_logo.
    logo = models.FileField(_("logo"), upload_to=logo_path, blank=True)
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
    # The signature's row of the public list, escaped, kept by the database
    # (signers.models.public_rows); whether it is shown is the query's to say.
    public_row = models.GeneratedField(
        expression=PUBLIC_ROW, output_field=models.TextField(), db_persist=True
    )
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
        indexes = [
            models.Index(fields=["letter", "status", "kind", "sort_name"]),
            # The signing notices' planner reads the last hours' confirmations.
            models.Index(fields=["confirmed_at"], name="signature_confirmed_at"),
        ]

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
        "signers.Prospect",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        ANSWERED = "answered", _("Answered")

    # Still waiting for the organisers' decision (a reply alone decides nothing).
    UNDECIDED_STATUSES = (Status.OPEN, Status.ANSWERED)

    # "point-1".."point-3", "paragraph-N" or "general".
    anchor = models.CharField(max_length=30, default="general")
    text = models.TextField(_("requested change"))
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=Status.choices,
        default=Status.OPEN,
        db_index=True,
    )
    # The published revision that took the change (status accepted).
    accepted_revision = models.ForeignKey(
        Revision,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="accepted_change_requests",
    )
    decline_reason = models.TextField(_("reason for declining"), blank=True)
    # Accepted or declined: when, and by whom.
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # The organisers' answer, emailed to whoever asked.
    reply = models.TextField(_("reply"), blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="accepted") | Q(accepted_revision__isnull=False),
                name="change_request_accepted_has_revision",
            )
        ]

    def __str__(self) -> str:
        return f"Change request on {self.letter_id} at {self.anchor}"
