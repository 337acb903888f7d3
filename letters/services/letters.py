"""Writes to letters: creating them, their working draft and their settings.

Every function that races with another organiser locks the letter's row
first (``common.lock_letter``), re-reads it, and checks its rules on what it
finds. Rules a person can correct raise ``ValidationError``; acting without
the role raises ``PermissionDenied``. Every change is written to the letter's audit log.
"""

import datetime as dt
from collections.abc import Sequence
from typing import Any, TypedDict, Unpack

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from coalition.coalitions.services import coalition_create, require_coalition_role
from coalition.models import Coalition, CoalitionMember, User
from coalition.slugs import unique_slug
from letters.audit import Action, audit_record
from letters.models import (
    Letter,
    Membership,
)
from letters.public_pages import public_pages_changed
from letters.services.common import audit_json, lock_letter
from letters.validators import (
    clean_points,
    clean_signing_fields,
    validate_lengths,
    validate_time_zone,
)


class LetterSettings(TypedDict, total=False):
    """What ``letter_update_settings`` may change, each field optional."""

    slug: str
    reply_to: str
    time_zone: str
    signer_kinds: str
    open_joining: bool
    join_requires_approval: bool
    pdf_logos: bool
    signing_fields: dict[str, str]
    soft_deadline: dt.datetime | None
    hard_deadline: dt.datetime | None
    release_at: dt.datetime | None


SETTINGS_FIELDS = frozenset(LetterSettings.__annotations__)
CAN_CREATE_LETTERS = (CoalitionMember.Role.OWNER, CoalitionMember.Role.ORGANISER)


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
    audit_record(letter, owner, Action.LETTER_CREATED, title=title, slug=letter.slug)
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
    lock_letter(letter)
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
    public_pages_changed()
    audit_record(letter, actor, Action.LETTER_DRAFT_EDITED, fields=changed)
    return letter


@transaction.atomic
def letter_update_settings(
    *, letter: Letter, actor: User, **changes: Unpack[LetterSettings]
) -> Letter:
    """Change any of ``SETTINGS_FIELDS``; deadlines are aware datetimes.

    Refuses a hard deadline before the soft one, a release date that is newly
    set in the past, an unknown time zone, a web address in use, changing
    the web address once the letter has left draft, and a signing form field
    there is not (``clean_signing_fields``).
    """
    unknown = set(changes) - SETTINGS_FIELDS
    if unknown:
        raise TypeError(f"not letter settings: {sorted(unknown)}")
    lock_letter(letter)
    given: dict[str, Any] = dict(changes)
    new = {f: given.get(f, getattr(letter, f)) for f in SETTINGS_FIELDS}
    validate_time_zone(new["time_zone"])
    new["signing_fields"] = clean_signing_fields(new["signing_fields"])
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
        f: [audit_json(getattr(letter, f)), audit_json(v)]
        for f, v in sorted(new.items())
        if getattr(letter, f) != v
    }
    if not changed:
        return letter
    for field in changed:
        setattr(letter, field, new[field])
    fields = [*changed, "updated_at"]
    if "signer_kinds" in changed or "pdf_logos" in changed:
        # Who is listed changed (a kind may have left the list), or how the
        # PDF shows them: a new version for the page and PDF caches (no PDF
        # with logos is served once they are turned off). The row is locked,
        # so the count is fresh.
        letter.signers_version += 1
        letter.signers_removed_version = letter.signers_version
        fields += ["signers_version", "signers_removed_version"]
    try:
        with transaction.atomic():
            letter.save(update_fields=fields)
        public_pages_changed()
    except IntegrityError as exc:
        raise _slug_taken() from exc
    audit_record(letter, actor, Action.LETTER_SETTINGS_CHANGED, changes=changed)
    return letter
