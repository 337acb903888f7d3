"""Writes to letters, their revisions, their team and their life cycle.

Every function that races with another organiser locks the letter's row first
(``_lock``), re-reads it, and checks its rules on what it finds. Rules a person
can correct raise ``ValidationError``; acting without the role raises
``PermissionDenied``. Every change is written to the letter's audit log.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from coalition.coalitions.services import coalition_create, require_coalition_role
from coalition.models import Coalition, CoalitionMember, User
from coalition.slugs import unique_slug
from letters import emails, selectors
from letters.models import (
    AuditEvent,
    Letter,
    Membership,
    Revision,
    TeamInvitation,
    text_hash,
)
from letters.validators import clean_points, validate_lengths, validate_time_zone
from signers.models import Signature

# Signatures that count, or will count again: a new revision must be classified.
LIVE_SIGNATURE_STATUSES = (
    Signature.Status.CONFIRMED,
    Signature.Status.NEEDS_RECONFIRMATION,
)
SETTINGS_FIELDS = frozenset(
    {
        "slug",
        "reply_to",
        "time_zone",
        "signer_kinds",
        "open_joining",
        "join_requires_approval",
        "soft_deadline",
        "hard_deadline",
        "release_at",
    }
)
PUBLISHABLE = (Letter.Status.DRAFT, Letter.Status.CIRCULATING)
CAN_CREATE_LETTERS = (CoalitionMember.Role.OWNER, CoalitionMember.Role.ORGANISER)


def _lock(letter: Letter) -> None:
    """Lock the letter's row and reload it, so rules see what others committed."""
    letter.refresh_from_db(from_queryset=Letter.objects.filter(pk=letter.pk).locked())


def _audit(letter: Letter, actor: User | None, action: str, **detail: Any) -> None:
    AuditEvent.objects.create(letter=letter, actor=actor, action=action, detail=detail)


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _require_role(letter: Letter, user: User, role: str) -> Membership:
    membership = selectors.membership_for(letter=letter, user=user)
    if membership is None or not membership.has_role(role):
        raise PermissionDenied
    return membership


def _unique_slug(title: str) -> str:
    return unique_slug(Letter, title, fallback="letter")


def _slug_taken() -> ValidationError:
    return ValidationError({"slug": _("Another letter already uses this web address.")})


# --- Letters ------------------------------------------------------------------


@transaction.atomic
def letter_create(
    *,
    owner: User,
    title: str,
    slug: str = "",
    addressee: str = "",
    body: str = "",
    points: Sequence[str] = (),
    time_zone: str = "UTC",
    coalition: Coalition | None = None,
) -> Letter:
    """Create a draft letter with ``owner`` as its first owner.

    The letter belongs to ``coalition`` (where ``owner`` must be an owner or
    organiser: PermissionDenied otherwise), or, without one, to a new coalition
    named after it with ``owner`` as its owner.

    Without ``slug`` one is made from the title; a ``slug`` already in use raises
    ValidationError on ``slug``. ``points`` may be empty (a draft in progress),
    but never more than three; the other texts no longer than ``TEXT_LIMITS``.
    """
    validate_time_zone(time_zone)
    validate_lengths(title=title.strip(), addressee=addressee.strip(), body=body)
    points = clean_points(points) if any(p.strip() for p in points) else []
    if slug and Letter.objects.filter(slug=slug).exists():
        raise _slug_taken()
    if coalition is None:
        coalition = coalition_create(owner=owner, name=title)
    else:
        require_coalition_role(coalition, owner, *CAN_CREATE_LETTERS)
    try:
        with transaction.atomic():
            letter = Letter.objects.create(
                coalition=coalition,
                title=title.strip(),
                slug=slug or _unique_slug(title),
                addressee=addressee.strip(),
                body=body.replace("\r\n", "\n"),
                points=points,
                time_zone=time_zone,
            )
    except IntegrityError as exc:  # the same slug, created a moment ago
        raise _slug_taken() from exc
    Membership.objects.create(letter=letter, user=owner, role=Membership.Role.OWNER)
    _audit(letter, owner, "letter.created", title=title, slug=letter.slug)
    return letter


@transaction.atomic
def letter_update_draft(
    *,
    letter: Letter,
    actor: User,
    title: str,
    addressee: str,
    points: Sequence[str],
    body: str,
    base_version: str | None = None,
) -> Letter:
    """Save the working draft. Revisions are not touched.

    ``base_version`` is the ``draft_version`` the editor started from: when
    someone else saved in between, ValidationError (code ``stale``) instead of
    overwriting their work. Texts longer than ``TEXT_LIMITS`` are refused.
    """
    _lock(letter)
    new: dict[str, Any] = {
        "title": title.strip(),
        "addressee": addressee.strip(),
        "points": clean_points(points),
        "body": body.replace("\r\n", "\n"),
    }
    validate_lengths(title=new["title"], addressee=new["addressee"], body=new["body"])
    changed = [field for field, value in new.items() if getattr(letter, field) != value]
    if not changed:
        return letter
    if base_version is not None and base_version != letter.draft_version:
        raise ValidationError(
            _(
                "Someone else saved this draft while you were editing it. Your "
                "text is below and has not been saved: compare it with the "
                "current draft, then save again."
            ),
            code="stale",
        )
    for field, value in new.items():
        setattr(letter, field, value)
    letter.save(update_fields=[*new, "updated_at"])
    _audit(letter, actor, "letter.draft_edited", fields=changed)
    return letter


@transaction.atomic
def letter_update_settings(*, letter: Letter, actor: User, **changes: Any) -> Letter:
    """Change any of ``SETTINGS_FIELDS``; deadlines are aware datetimes.

    Refuses a hard deadline before the soft one, a release date that is newly
    set in the past, an unknown time zone, a web address in use, and changing
    the web address once the letter has left draft.
    """
    unknown = set(changes) - SETTINGS_FIELDS
    if unknown:
        raise TypeError(f"not letter settings: {sorted(unknown)}")
    _lock(letter)
    new = {f: changes.get(f, getattr(letter, f)) for f in SETTINGS_FIELDS}
    validate_time_zone(new["time_zone"])
    errors: dict[str, str] = {}
    soft, hard = new["soft_deadline"], new["hard_deadline"]
    if soft and hard and hard < soft:
        errors["hard_deadline"] = _(
            "Signing cannot close before the date given to invitees."
        )
    release = new["release_at"]
    if release and release != letter.release_at and release <= timezone.now():
        errors["release_at"] = _("The release date is in the past.")
    if new["slug"] != letter.slug:
        if letter.status != Letter.Status.DRAFT:
            errors["slug"] = _(
                "The web address cannot change once the letter has left draft."
            )
        elif Letter.objects.filter(slug=new["slug"]).exclude(pk=letter.pk).exists():
            errors["slug"] = _("Another letter already uses this web address.")
    if errors:
        raise ValidationError(errors)
    changed = {
        f: [_json(getattr(letter, f)), _json(v)]
        for f, v in sorted(new.items())
        if getattr(letter, f) != v
    }
    if not changed:
        return letter
    for field in changed:
        setattr(letter, field, new[field])
    fields = [*changed, "updated_at"]
    if "signer_kinds" in changed:
        # Who is listed changed (a kind may have left the list): a new version
        # for the page and PDF caches. The row is locked, so the count is fresh.
        letter.signers_version += 1
        letter.signers_removed_version = letter.signers_version
        fields += ["signers_version", "signers_removed_version"]
    try:
        with transaction.atomic():
            letter.save(update_fields=fields)
    except IntegrityError as exc:
        raise _slug_taken() from exc
    _audit(letter, actor, "letter.settings_changed", changes=changed)
    return letter


# --- Revisions ----------------------------------------------------------------


def letter_has_live_signatures(*, letter: Letter) -> bool:
    return Signature.objects.filter(
        letter=letter, status__in=LIVE_SIGNATURE_STATUSES
    ).exists()


@transaction.atomic
def revision_publish(
    *, letter: Letter, author: User, change_note: str, kind: str | None = None
) -> Revision:
    """Freeze the working draft as revision N+1 and make it current.

    Locks the letter, so two publishes cannot both become N+1. Refuses
    (ValidationError) a closed letter, a draft with no change since revision N,
    points that are empty or more than three, and texts longer than
    ``TEXT_LIMITS`` (a draft saved before the limits). Revision 1 is INITIAL. From
    revision 2, when live signatures exist, ``kind`` must be EDITORIAL or
    MATERIAL (default EDITORIAL otherwise); MATERIAL moves
    ``last_material_revision_number``. Calls
    ``signers.services.signatures_on_new_revision`` in the same transaction.
    Callers check that ``author`` may edit the letter.
    """
    # Imported here: signers.services may import this module.
    from signers.services import signatures_on_new_revision

    _lock(letter)
    if letter.status == Letter.Status.CLOSED:
        raise ValidationError(
            _("This letter is closed; reopen it to publish a new revision."),
            code="closed",
        )
    points = clean_points(letter.points)
    validate_lengths(
        title=letter.title,
        addressee=letter.addressee,
        body=letter.body,
        change_note=change_note.strip(),
    )
    sha256 = text_hash(addressee=letter.addressee, points=points, body=letter.body)
    current = letter.current_revision
    if current and current.sha256 == sha256 and current.title == letter.title:
        raise ValidationError(
            _("Nothing has changed since revision %(number)d."),
            code="unchanged",
            params={"number": current.number},
        )
    last = Revision.objects.filter(letter=letter).aggregate(n=Max("number"))["n"]
    number = (last or 0) + 1
    if number == 1:
        kind = Revision.Kind.INITIAL
    elif kind is None and not letter_has_live_signatures(letter=letter):
        kind = Revision.Kind.EDITORIAL
    elif kind not in (Revision.Kind.EDITORIAL, Revision.Kind.MATERIAL):
        raise ValidationError(
            {
                "kind": _(
                    "People have signed: say whether this change is editorial "
                    "or material."
                )
            },
            code="kind_required",
        )
    revision = Revision.objects.create(
        letter=letter,
        number=number,
        title=letter.title,
        addressee=letter.addressee,
        points=points,
        body=letter.body,
        change_note=change_note.strip(),
        kind=kind,
        author=author,
        sha256=sha256,
    )
    letter.current_revision = revision
    if kind in (Revision.Kind.INITIAL, Revision.Kind.MATERIAL):
        letter.last_material_revision_number = number
    letter.save(
        update_fields=[
            "current_revision",
            "last_material_revision_number",
            "updated_at",
        ]
    )
    _audit(
        letter,
        author,
        "revision.published",
        number=number,
        kind=kind,
        sha256=sha256,
        change_note=revision.change_note,
    )
    if number >= 2:
        signatures_on_new_revision(revision=revision)
    return revision


# --- Life cycle ---------------------------------------------------------------


def _set_status(
    letter: Letter, actor: User, status: str, action: str = "", **extra: Any
) -> None:
    before = letter.status
    letter.status = status
    for field, value in extra.items():
        setattr(letter, field, value)
    letter.save(update_fields=["status", *extra, "updated_at"])
    _audit(letter, actor, action or f"letter.{status}", previous=before, status=status)


@transaction.atomic
def letter_start_circulating(*, letter: Letter, actor: User) -> Letter:
    """Draft → circulating (owner only); needs a published revision to show."""
    _lock(letter)
    _require_role(letter, actor, Membership.Role.OWNER)
    if letter.status == Letter.Status.CIRCULATING:
        raise ValidationError(_("This letter is already circulating."), code="already")
    if letter.status != Letter.Status.DRAFT:
        raise ValidationError(_("Only a draft can start circulating."), code="status")
    if letter.current_revision_id is None:
        raise ValidationError(
            _("Publish a first revision before circulating: it is what people sign."),
            code="no_revision",
        )
    _set_status(letter, actor, Letter.Status.CIRCULATING)
    return letter


@transaction.atomic
def letter_publish(*, letter: Letter, actor: User) -> Letter:
    """Draft or circulating → published (owner only): the public page goes live."""
    _lock(letter)
    _require_role(letter, actor, Membership.Role.OWNER)
    if letter.status == Letter.Status.PUBLISHED:
        raise ValidationError(_("This letter is already published."), code="already")
    if letter.status not in PUBLISHABLE:
        raise ValidationError(
            _("A closed letter cannot be published; reopen it."), code="status"
        )
    if letter.current_revision_id is None:
        raise ValidationError(
            _("Publish a first revision before publishing the letter."),
            code="no_revision",
        )
    _set_status(
        letter,
        actor,
        Letter.Status.PUBLISHED,
        published_at=letter.published_at or timezone.now(),
    )
    _render_pdf_after_commit(letter)
    return letter


def _render_pdf_after_commit(letter: Letter) -> None:
    # The first download should find a PDF waiting, not a "being prepared" page.
    from letters.tasks import letter_pdf_render_task

    letter_pdf_render_task.delay_on_commit(letter.pk)  # type: ignore[attr-defined]


@transaction.atomic
def letter_close(*, letter: Letter, actor: User) -> Letter:
    """Circulating or published → closed (owner only): no more signatures."""
    _lock(letter)
    _require_role(letter, actor, Membership.Role.OWNER)
    if letter.status == Letter.Status.CLOSED:
        raise ValidationError(_("This letter is already closed."), code="already")
    if letter.status == Letter.Status.DRAFT:
        raise ValidationError(_("A draft cannot be closed."), code="status")
    _set_status(letter, actor, Letter.Status.CLOSED, closed_at=timezone.now())
    return letter


@transaction.atomic
def letter_reopen(*, letter: Letter, actor: User) -> Letter:
    """Closed → published, or circulating if it never was published (owner only)."""
    _lock(letter)
    _require_role(letter, actor, Membership.Role.OWNER)
    if letter.status != Letter.Status.CLOSED:
        raise ValidationError(_("Only a closed letter can be reopened."), code="status")
    status = (
        Letter.Status.PUBLISHED if letter.published_at else Letter.Status.CIRCULATING
    )
    _set_status(letter, actor, status, action="letter.reopened", closed_at=None)
    return letter


def letters_publish_due(*, now: datetime | None = None) -> list[int]:
    """Publish every letter whose release time has come; return their ids.

    Each letter is claimed by one conditional UPDATE, so running this twice,
    or in two processes at once, publishes (and logs) each letter once. A
    letter with no revision yet waits until it has one.
    """
    now = now or timezone.now()
    due = Letter.objects.filter(
        status__in=PUBLISHABLE, release_at__lte=now, current_revision__isnull=False
    ).values_list("pk", flat=True)
    return [pk for pk in list(due) if _publish_scheduled(pk=pk, now=now)]


@transaction.atomic
def _publish_scheduled(*, pk: int, now: datetime) -> bool:
    claimed = Letter.objects.filter(
        pk=pk,
        status__in=PUBLISHABLE,
        release_at__lte=now,
        current_revision__isnull=False,
    ).update(status=Letter.Status.PUBLISHED, published_at=now, updated_at=now)
    if claimed:
        letter = Letter.objects.get(pk=pk)
        _audit(
            letter,
            None,
            f"letter.{Letter.Status.PUBLISHED}",
            previous=None,
            status=Letter.Status.PUBLISHED,
            scheduled=True,
            release_at=_json(letter.release_at),
        )
        _render_pdf_after_commit(letter)
    return bool(claimed)


# --- Team ---------------------------------------------------------------------


@transaction.atomic
def team_invitation_create(
    *, letter: Letter, actor: User, email: str, role: str
) -> TeamInvitation:
    """Invite ``email`` to the team (owner only) and queue the email.

    Inviting an address with a pending invitation updates its role and sends it
    again; an address already on the team raises ValidationError.
    """
    from letters.tasks import team_invitation_send_task

    _lock(letter)
    _require_role(letter, actor, Membership.Role.OWNER)
    email = email.strip().lower()
    if Membership.objects.filter(letter=letter, user__email__iexact=email).exists():
        raise ValidationError(
            {"email": _("This person is already on the team.")}, code="member"
        )
    invitation, _created = TeamInvitation.objects.update_or_create(
        letter=letter,
        email=email,
        accepted_at=None,
        revoked_at=None,
        defaults={"role": role, "invited_by": actor, "sent_at": None},
    )
    _audit(letter, actor, "member.invited", email=email, role=role)
    team_invitation_send_task.delay_on_commit(invitation.pk)
    return invitation


def team_invitation_send(*, invitation_id: int) -> bool:
    """Email a pending invitation unless it was sent already; True if sent.

    Claims the row first so a redelivered task does not send twice; releases
    the claim if the SMTP server refuses, so the retry sends.
    """
    claimed = TeamInvitation.objects.filter(
        pk=invitation_id,
        sent_at__isnull=True,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
    ).update(sent_at=timezone.now())
    if not claimed:
        return False
    invitation = TeamInvitation.objects.select_related("letter", "invited_by").get(
        pk=invitation_id
    )
    try:
        emails.send_team_invitation(invitation=invitation)
    except Exception:
        TeamInvitation.objects.filter(pk=invitation_id).update(sent_at=None)
        raise
    return True


@transaction.atomic
def team_invitation_accept(
    *, invitation: TeamInvitation, user: User
) -> tuple[Membership, bool]:
    """Join the team as the invited role; ``(membership, joined_now)``.

    A second click finds the invitation used and, when ``user`` is the member
    it made, returns that membership with ``joined_now`` False. A withdrawn or
    already-used invitation raises ValidationError.
    """
    claimed = TeamInvitation.objects.filter(
        pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(accepted_at=timezone.now(), accepted_by=user)
    invitation.refresh_from_db()
    existing = Membership.objects.filter(letter=invitation.letter, user=user).first()
    if not claimed:
        if invitation.revoked_at:
            raise ValidationError(
                _("This invitation was withdrawn by the letter's owners."),
                code="revoked",
            )
        if existing:
            return existing, False
        raise ValidationError(_("This invitation has already been used."), code="used")
    if existing:  # invited again while already a member: keep the role they have
        return existing, False
    membership = Membership.objects.create(
        letter=invitation.letter, user=user, role=invitation.role
    )
    _audit(
        invitation.letter,
        user,
        "member.joined",
        email=user.email,
        role=invitation.role,
        invited_as=invitation.email,
    )
    return membership, True


@transaction.atomic
def team_invitation_revoke(*, invitation: TeamInvitation, actor: User) -> None:
    """Withdraw a pending invitation (owner only); its link stops working."""
    _lock(invitation.letter)
    _require_role(invitation.letter, actor, Membership.Role.OWNER)
    revoked = TeamInvitation.objects.filter(
        pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    if revoked:
        _audit(
            invitation.letter,
            actor,
            "member.invitation_revoked",
            email=invitation.email,
        )


def _last_owner_error() -> ValidationError:
    return ValidationError(
        _("A letter must keep at least one owner: make someone else owner first."),
        code="last_owner",
    )


def _owner_count(letter: Letter) -> int:
    return Membership.objects.filter(letter=letter, role=Membership.Role.OWNER).count()


@transaction.atomic
def membership_change_role(
    *, membership: Membership, actor: User, role: str
) -> Membership:
    """Give a member another role (owner only); never demote the last owner."""
    letter = membership.letter
    _lock(letter)
    _require_role(letter, actor, Membership.Role.OWNER)
    membership.refresh_from_db()
    if membership.role == role:
        return membership
    if membership.is_owner and _owner_count(letter) <= 1:
        raise _last_owner_error()
    before = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    _audit(
        letter,
        actor,
        "member.role_changed",
        email=membership.user.email,
        previous=before,
        role=role,
    )
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor: User) -> None:
    """Take a member off the team: owners remove anyone, members themselves.

    The last owner can never be removed.
    """
    letter = membership.letter
    _lock(letter)
    if membership.user_id != actor.pk:
        _require_role(letter, actor, Membership.Role.OWNER)
    membership.refresh_from_db()
    if membership.is_owner and _owner_count(letter) <= 1:
        raise _last_owner_error()
    email = membership.user.email
    membership.delete()
    _audit(letter, actor, "member.removed", email=email, role=membership.role)
