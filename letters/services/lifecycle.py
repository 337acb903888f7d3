"""A letter's life: draft, circulating, published, closed, and scheduled publishing."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from coalition.models import User
from letters.audit import STATUS_ACTIONS, Action, audit_record
from letters.hooks import signer_side
from letters.models import (
    Letter,
    Membership,
)
from letters.permissions import require_letter_role
from letters.public_pages import public_pages_changed
from letters.services.common import audit_json, lock_letter

# --- Life cycle ---------------------------------------------------------------


def _require_owner_or_staff(letter: Letter, actor: User, as_staff: bool) -> None:
    """Only owners move a letter through its life; and site staff, from the
    admin (``as_staff``), who are not on its team."""
    if not (as_staff and actor.is_staff):
        require_letter_role(actor, letter, Membership.Role.OWNER)


def _set_status(
    letter: Letter,
    actor: User,
    status: str,
    action: Action | None = None,
    **extra: object,
) -> None:
    before = letter.status
    letter.status = status
    for field, value in extra.items():
        setattr(letter, field, value)
    letter.save(update_fields=["status", *extra, "updated_at"])
    public_pages_changed()
    audit_record(
        letter, actor, action or STATUS_ACTIONS[status], previous=before, status=status
    )


@transaction.atomic
def letter_start_circulating(
    *, letter: Letter, actor: User, as_staff: bool = False
) -> Letter:
    """Draft → circulating (owner only); needs a published revision to show."""
    lock_letter(letter)
    _require_owner_or_staff(letter, actor, as_staff)
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
def letter_publish(*, letter: Letter, actor: User, as_staff: bool = False) -> Letter:
    """Draft or circulating → published (owner only): the public page goes live."""
    lock_letter(letter)
    _require_owner_or_staff(letter, actor, as_staff)
    if letter.status == Letter.Status.PUBLISHED:
        raise ValidationError(_("This letter is already published."), code="already")
    if letter.status not in Letter.PUBLISHABLE_STATUSES:
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
    signer_side().letter_published(letter=letter)
    return letter


@transaction.atomic
def letter_close(*, letter: Letter, actor: User, as_staff: bool = False) -> Letter:
    """Circulating or published → closed (owner only): no more signatures."""
    lock_letter(letter)
    _require_owner_or_staff(letter, actor, as_staff)
    if letter.status == Letter.Status.CLOSED:
        raise ValidationError(_("This letter is already closed."), code="already")
    if letter.status == Letter.Status.DRAFT:
        raise ValidationError(_("A draft cannot be closed."), code="status")
    _set_status(letter, actor, Letter.Status.CLOSED, closed_at=timezone.now())
    return letter


@transaction.atomic
def letter_reopen(*, letter: Letter, actor: User, as_staff: bool = False) -> Letter:
    """Closed → published, or circulating if it never was published (owner only)."""
    lock_letter(letter)
    _require_owner_or_staff(letter, actor, as_staff)
    if letter.status != Letter.Status.CLOSED:
        raise ValidationError(_("Only a closed letter can be reopened."), code="status")
    status = (
        Letter.Status.PUBLISHED if letter.published_at else Letter.Status.CIRCULATING
    )
    _set_status(letter, actor, status, action=Action.LETTER_REOPENED, closed_at=None)
    return letter


def letters_publish_due(*, now: datetime | None = None) -> list[int]:
    """Publish every letter whose release time has come; return their ids.

    Each letter is claimed by one conditional UPDATE, so running this twice,
    or in two processes at once, publishes (and logs) each letter once. A
    letter with no revision yet waits until it has one.
    """
    now = now or timezone.now()
    due = Letter.objects.filter(
        status__in=Letter.PUBLISHABLE_STATUSES,
        release_at__lte=now,
        current_revision__isnull=False,
    ).values_list("pk", flat=True)
    return [pk for pk in list(due) if _publish_scheduled(pk=pk, now=now)]


@transaction.atomic
def _publish_scheduled(*, pk: int, now: datetime) -> bool:
    claimed = Letter.objects.filter(
        pk=pk,
        status__in=Letter.PUBLISHABLE_STATUSES,
        release_at__lte=now,
        current_revision__isnull=False,
    ).update(status=Letter.Status.PUBLISHED, published_at=now, updated_at=now)
    if claimed:
        letter = Letter.objects.get(pk=pk)
        audit_record(
            letter,
            None,
            Action.LETTER_PUBLISHED,
            previous=None,
            status=Letter.Status.PUBLISHED,
            scheduled=True,
            release_at=audit_json(letter.release_at),
        )
        signer_side().letter_published(letter=letter)
    return bool(claimed)
