import hashlib
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from django.conf import settings
from django.db import connection, models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from coalition.models import User

MAX_POINTS = 3
MAX_POINT_LENGTH = 280
# Rendering Markdown costs time in proportion to its length, and a stranger's
# pathological text more than most: 20,000 characters take under a second.
MAX_BODY_LENGTH = 20_000
# The longest each of a letter's texts may be, in characters.
TEXT_LIMITS = {
    "title": 200,
    "addressee": 300,
    "body": MAX_BODY_LENGTH,
    "change_note": 2000,
}


# The signing form's fields a letter may ask or leave out, and what its
# settings call them (the name, the email and the consents are always asked).
# ``signers.forms.signing`` builds the form from a letter's choice.
SIGNING_OPTIONAL_FIELDS: dict[str, "str | Promise"] = {
    "city": _("City or region"),
    "country": _("Country"),
    "website": _("Website (organisations)"),
    "contact_name": _("Name of the person signing (organisations)"),
    "contact_title": _("Their title or role (organisations)"),
    "affiliation": _("Affiliation (individuals)"),
    "phone": _("Phone"),
    "comment": _("Comment to the organisers"),
}


class SigningFieldState(models.TextChoices):
    HIDDEN = "hidden", _("Not asked")
    OPTIONAL = "optional", _("Optional")
    REQUIRED = "required", _("Required")


def default_signing_fields() -> dict[str, str]:
    """Every optional field asked, none required: the form before letters chose."""
    return dict.fromkeys(SIGNING_OPTIONAL_FIELDS, SigningFieldState.OPTIONAL.value)


class Deadline(NamedTuple):
    label: "str | Promise"
    at: datetime


class LetterQuerySet(models.QuerySet["Letter"]):
    def for_user(self, user: "User") -> "LetterQuerySet":
        """Letters the user organises, on their team or through their coalition;
        every organiser URL is scoped by this."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(
            Q(memberships__user=user) | Q(coalition__members__user=user)
        ).distinct()

    def public(self) -> "LetterQuerySet":
        return self.filter(status__in=Letter.PUBLIC_STATUSES)

    def locked(self) -> "LetterQuerySet":
        """These letters, locked now until the transaction ends; to be read fresh.

        Every write that races on a letter takes this first, then any signature
        rows (the one lock order, so publishing a revision and signing queue up
        behind each other instead of deadlocking). PostgreSQL locks the rows
        with SELECT ... FOR UPDATE when the result is read. SQLite ignores FOR
        UPDATE and lets a transaction read while another writes, then refuses
        (or loses) the later write; so there a no-op UPDATE of the rows comes
        first: it takes SQLite's single write lock at once, which no other
        writer can take until this transaction ends, and waits for it (the
        busy timeout) while another holds it. What is read afterwards is the
        latest commit, and nobody commits in between.
        """
        if not self.query.has_filters():
            raise TypeError("Filter the letters to lock first.")
        if connection.vendor == "sqlite":
            self.update(signers_version=F("signers_version"))
        return self.select_for_update(of=("self",))


class Letter(models.Model):
    """A sign-on letter and its working draft.

    ``addressee``, ``points`` and ``body`` here are the organisers' working copy;
    what signers see and sign is always a frozen :class:`Revision`.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        CIRCULATING = "circulating", _("Circulating")
        PUBLISHED = "published", _("Published")
        CLOSED = "closed", _("Closed")

    # The letter's statuses by what they allow; every status set is named here.
    # Not public yet: it can be published, now or at its release time.
    PUBLISHABLE_STATUSES = (Status.DRAFT, Status.CIRCULATING)
    # Open for signatures: invitees are invited and chased, signers reminded.
    SIGNING_STATUSES = (Status.CIRCULATING, Status.PUBLISHED)
    # The public page, its CSV and its PDF are live (a closed letter's stay).
    PUBLIC_STATUSES = (Status.PUBLISHED, Status.CLOSED)

    class SignerKinds(models.TextChoices):
        ORGANISATIONS = "organisations", _("Organisations only")
        INDIVIDUALS = "individuals", _("Individuals only")
        BOTH = "both", _("Organisations and individuals")

    coalition = models.ForeignKey(
        "coalition.Coalition",
        on_delete=models.PROTECT,
        related_name="letters",
        verbose_name=_("coalition"),
    )
    title = models.CharField(_("title"), max_length=TEXT_LIMITS["title"])
    slug = models.SlugField(_("web address"), max_length=80, unique=True)
    addressee = models.CharField(
        _("addressee"), max_length=TEXT_LIMITS["addressee"], blank=True
    )
    points = models.JSONField(_("points of unity"), default=list, blank=True)
    body = models.TextField(_("body"), blank=True)
    reply_to = models.EmailField(_("reply-to address"), blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    signer_kinds = models.CharField(
        _("who may sign"),
        max_length=20,
        choices=SignerKinds.choices,
        default=SignerKinds.ORGANISATIONS,
    )
    open_joining = models.BooleanField(
        _("anyone may add their name once published"), default=False
    )
    join_requires_approval = models.BooleanField(
        _("organisers approve open joins"), default=False
    )
    # Off by default: a PDF of logos is heavier, and not every letter wants them.
    pdf_logos = models.BooleanField(_("logos in the PDF"), default=False)
    # Field name -> "optional" or "required"; a field not named is not asked.
    signing_fields = models.JSONField(
        _("signing form"), default=default_signing_fields, blank=True
    )
    soft_deadline = models.DateTimeField(
        _("deadline given to invitees"), null=True, blank=True
    )
    hard_deadline = models.DateTimeField(_("signing closes"), null=True, blank=True)
    release_at = models.DateTimeField(_("publish at"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    current_revision = models.ForeignKey(
        "Revision",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # Signatures on revisions before this number must re-confirm.
    last_material_revision_number = models.PositiveIntegerField(null=True, blank=True)
    # Bumped by every change to who is listed; keys the public page and PDF caches.
    signers_version = models.PositiveIntegerField(default=0)
    # The signers_version of the last change that took a name off the list (a
    # withdrawal, a rejection, a material revision...): no rendering older than
    # this is served, not even for a moment while a new one renders.
    signers_removed_version = models.PositiveIntegerField(default=0)
    published_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = LetterQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at"]
        verbose_name = _("letter")
        verbose_name_plural = _("letters")
        constraints = [
            models.CheckConstraint(
                condition=Q(soft_deadline__isnull=True)
                | Q(hard_deadline__isnull=True)
                | Q(hard_deadline__gte=models.F("soft_deadline")),
                name="letter_hard_deadline_not_before_soft",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("letters:detail", kwargs={"slug": self.slug})

    @property
    def allows_organisations(self) -> bool:
        return self.signer_kinds != self.SignerKinds.INDIVIDUALS

    @property
    def allows_individuals(self) -> bool:
        return self.signer_kinds != self.SignerKinds.ORGANISATIONS

    def signing_field(self, name: str) -> SigningFieldState:
        """Whether the signing form asks for ``name``, and if it must be given."""
        state = (self.signing_fields or {}).get(name, SigningFieldState.HIDDEN)
        try:
            return SigningFieldState(state)
        except ValueError:
            return SigningFieldState.HIDDEN

    @property
    def draft_hash(self) -> str:
        """SHA-256 of the working draft's canonical text, as a revision would have."""
        return text_hash(addressee=self.addressee, points=self.points, body=self.body)

    @property
    def draft_version(self) -> str:
        """Changes whenever the working draft (title included) changes."""
        return hashlib.sha256(f"{self.title}\n{self.draft_hash}".encode()).hexdigest()

    @property
    def has_unpublished_changes(self) -> bool:
        revision = self.current_revision
        if revision is None:
            return True
        return revision.sha256 != self.draft_hash or revision.title != self.title

    @property
    def next_deadline(self) -> Deadline | None:
        """The earliest date still ahead: release, answer-by or signing closes."""
        now = timezone.now()
        dates = [
            (_("Answer by"), self.soft_deadline),
            (_("Signing closes"), self.hard_deadline),
        ]
        if self.status in self.PUBLISHABLE_STATUSES:
            dates.append((_("Publishes"), self.release_at))
        ahead = [Deadline(label, at) for label, at in dates if at and at > now]
        return min(ahead, key=lambda d: d.at) if ahead else None


class Membership(models.Model):
    """A user's place on a letter's organising team."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        EDITOR = "editor", _("Editor")
        VIEWER = "viewer", _("Viewer")

    # What each role may do, the one wording for every page that explains it.
    ROLES_EXPLAINED = _(
        "Viewers read everything; editors also change the text and settings and "
        "publish revisions; owners also manage the team and the letter's life cycle."
    )

    letter = models.ForeignKey(
        Letter, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.EDITOR)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["letter", "user"], name="membership_unique_user_per_letter"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) on {self.letter}"

    def has_role(self, role: str) -> bool:
        """Whether this member may act as ``role``: owner > editor > viewer."""
        return ROLE_RANK[self.role] >= ROLE_RANK[role]

    @property
    def can_edit(self) -> bool:
        return self.has_role(self.Role.EDITOR)

    @property
    def is_owner(self) -> bool:
        return self.role == self.Role.OWNER


ROLE_RANK: dict[str, int] = {
    Membership.Role.VIEWER: 0,
    Membership.Role.EDITOR: 1,
    Membership.Role.OWNER: 2,
}
# What a role in a letter's coalition grants on the letter.
COALITION_LETTER_ROLE: dict[str, str] = {
    "owner": Membership.Role.OWNER,
    "organiser": Membership.Role.EDITOR,
    "viewer": Membership.Role.VIEWER,
}


class TeamInvitation(models.Model):
    """An emailed invitation to join a letter's organising team.

    The link carries this row's id (token purpose "team"); the row's state
    decides whether it can still be accepted, so it works once.
    """

    letter = models.ForeignKey(
        Letter, on_delete=models.CASCADE, related_name="team_invitations"
    )
    email = models.EmailField(_("email"))
    role = models.CharField(
        _("role"),
        max_length=10,
        choices=Membership.Role.choices,
        default=Membership.Role.EDITOR,
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Claimed before the email goes out, so a redelivered task does not resend.
    sent_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["letter", "email"],
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="teaminvitation_one_pending_per_email",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.role}) to {self.letter_id}"

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None


def canonical_text(*, addressee: str, points: list[str], body: str) -> str:
    """The exact text a signature binds to; its SHA-256 is the revision's hash.

    JSON with sorted keys and normalised line endings, so the hash is stable
    across databases, platforms and Python versions.
    """
    doc: dict[str, Any] = {
        "addressee": addressee.strip(),
        "points": [p.strip() for p in points],
        "body": body.replace("\r\n", "\n").strip(),
    }
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def text_hash(*, addressee: str, points: list[str], body: str) -> str:
    text = canonical_text(addressee=addressee, points=points, body=body)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class RevisionImmutableError(Exception):
    """A published revision cannot be changed or deleted."""


class Revision(models.Model):
    """An immutable, numbered version of a letter's text. Signatures bind to one."""

    class Kind(models.TextChoices):
        INITIAL = "initial", _("First revision")
        EDITORIAL = "editorial", _("Editorial (signatures carry forward)")
        MATERIAL = "material", _("Material (signers must re-confirm)")

    letter = models.ForeignKey(
        Letter, on_delete=models.PROTECT, related_name="revisions"
    )
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=TEXT_LIMITS["title"])
    addressee = models.CharField(max_length=TEXT_LIMITS["addressee"], blank=True)
    points = models.JSONField(default=list)
    body = models.TextField()
    change_note = models.TextField(blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.INITIAL)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["letter", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["letter", "number"], name="revision_unique_number_per_letter"
            ),
            models.CheckConstraint(
                condition=Q(number__gte=1), name="revision_number_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.letter} r{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The database refuses too (a trigger, migration 0002); this says why sooner.
        if not self._state.adding:
            raise RevisionImmutableError(self)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise RevisionImmutableError(self)

    @property
    def canonical_text(self) -> str:
        return canonical_text(
            addressee=self.addressee, points=self.points, body=self.body
        )


class AuditEvent(models.Model):
    """Who did what to a letter, and when. Append-only."""

    letter = models.ForeignKey(
        Letter, on_delete=models.CASCADE, related_name="audit_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    action = models.CharField(max_length=50)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} on {self.letter_id} by {self.actor_id}"


def _pdf_path(instance: "LetterPdf", filename: str) -> str:
    return f"letters/pdf/{instance.letter_id}/{filename}"


class LetterPdfQuerySet(models.QuerySet["LetterPdf"]):
    def on_offer(self, letter: Letter) -> "LetterPdfQuerySet":
        """The PDF that may be served: rendered from the letter's current
        revision and current signer list. An older list's is never served."""
        return self.filter(
            letter=letter,
            revision_id=letter.current_revision_id,
            signers_version=letter.signers_version,
        ).order_by("-id")


class LetterPdf(models.Model):
    """The rendered PDF of one revision with one version of the signer list.

    Served only while both are current (``LetterPdf.objects.on_offer``).
    """

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="pdfs")
    revision = models.ForeignKey(Revision, on_delete=models.PROTECT, related_name="+")
    signers_version = models.PositiveIntegerField()
    # Fingerprint of the signer list as rendered (signers.selectors.public
    # .signer_list_digest): the consent check compares it with the list now.
    signers_digest = models.CharField(max_length=64, blank=True)
    file = models.FileField(upload_to=_pdf_path)
    size = models.PositiveIntegerField(default=0)
    render_seconds = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = LetterPdfQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["revision", "signers_version"],
                name="letterpdf_unique_revision_signers_version",
            )
        ]

    def __str__(self) -> str:
        return f"PDF of {self.revision} with signers v{self.signers_version}"

    def is_current_for(self, letter: Letter) -> bool:
        return (
            self.revision_id == letter.current_revision_id
            and self.signers_version == letter.signers_version
        )
