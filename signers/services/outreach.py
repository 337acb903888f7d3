"""Writes for outreach: prospects, their import, invitations, the reminder schedule."""

from datetime import date
from typing import Required, TypedDict, Unpack

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from coalition.models import User
from coalition.queue import enqueue_on_commit
from letters.models import Letter
from signers.models import (
    Delivery,
    InvitationBatch,
    Prospect,
    ReminderSchedule,
    Signature,
    Suppression,
)
from signers.partners import matching
from signers.planning.reminders import (
    AWAITING_ANSWER,
    INVITABLE,
    invitable_prospects,
    invited_ids,
    letter_accepts_invitations,
    new_delivery,
)
from signers.selectors.outreach import prospect_import_preview
from signers.services.common import audit_letter


class ProspectFields(TypedDict, total=False):
    """What an organiser can set on a prospect (the form's fields)."""

    organisation: Required[str]
    email: Required[str]
    contact_name: str
    notes: str
    is_large: bool
    owner: User | None
    status: str
    next_follow_up: date | None


def _check_address_free(letter: Letter, email: str, prospect_pk: int | None) -> None:
    taken = Prospect.objects.filter(letter=letter, email__iexact=email)
    if prospect_pk is not None:
        taken = taken.exclude(pk=prospect_pk)
    if taken.exists():
        raise ValidationError({"email": _("This address is already on the list.")})


@transaction.atomic
def prospect_create(*, letter: Letter, **fields: Unpack[ProspectFields]) -> Prospect:
    """Add a prospect; raises ValidationError if the address is already listed."""
    prospect = prospect_update(prospect=Prospect(letter=letter), **fields)
    matching.propose_for_prospects([prospect])
    return prospect


@transaction.atomic
def prospect_update(
    *, prospect: Prospect, **fields: Unpack[ProspectFields]
) -> Prospect:
    """Save an organiser's changes. Marking a prospect invited by hand (they were
    asked some other way) starts their reminders."""
    values: dict[str, object] = {**fields}
    values["email"] = fields["email"].strip().lower()
    values["organisation"] = fields["organisation"].strip()
    values["contact_name"] = fields.get("contact_name", "").strip()
    _check_address_free(prospect.letter, str(values["email"]), prospect.pk)
    for name, value in values.items():
        setattr(prospect, name, value)
    if prospect.status in AWAITING_ANSWER and prospect.invited_at is None:
        prospect.invited_at = timezone.now()
    prospect.save()
    return prospect


@transaction.atomic
def prospects_import(*, letter: Letter, data: bytes, actor: User | None) -> int:
    """Import every row of a prospect CSV, or none.

    Duplicates (already listed, or repeated in the file) are left out; any error
    raises ValidationError and nothing is written.
    """
    preview = prospect_import_preview(letter=letter, data=data)
    if preview.errors:
        raise ValidationError(_("The file has errors; nothing was imported."))
    prospects = [
        Prospect(
            letter=letter,
            organisation=row.organisation,
            contact_name=row.contact_name,
            email=row.email,
            notes=row.notes,
            is_large=row.is_large,
            owner=preview.owners.get(row.owner.lower()) if row.owner else None,
        )
        for row in preview.rows
    ]
    try:
        with transaction.atomic():
            Prospect.objects.bulk_create(prospects, batch_size=500)
    except IntegrityError as exc:
        raise ValidationError(
            _("Someone added some of these addresses meanwhile. Upload the file again.")
        ) from exc
    matching.propose_for_prospects(prospects)
    audit_letter(letter, actor, "prospects.imported", count=len(prospects))
    return len(prospects)


@transaction.atomic
def reminder_schedule_update(
    *,
    letter: Letter,
    actor: User | None,
    soft_days_before: list[int],
    announce_hard_deadline: bool,
    last_call_days_before: int | None,
    confirm_after_days: int | None,
    reconfirm_after_days: int | None,
    digest_enabled: bool,
    digest_hour: int,
) -> ReminderSchedule:
    """Save the letter's schedule; the dispatcher plans from it on its next run."""
    schedule, _created = ReminderSchedule.objects.update_or_create(
        letter=letter,
        defaults={
            "soft_days_before": sorted(set(soft_days_before), reverse=True),
            "announce_hard_deadline": announce_hard_deadline,
            "last_call_days_before": last_call_days_before,
            "confirm_after_days": confirm_after_days,
            "reconfirm_after_days": reconfirm_after_days,
            "digest_enabled": digest_enabled,
            "digest_hour": digest_hour,
        },
    )
    audit_letter(letter, actor, "reminders.schedule_changed")
    return schedule


@transaction.atomic
def invitations_send(
    *, letter: Letter, actor: User | None, prospect_ids: list[int] | None = None
) -> InvitationBatch | None:
    """Plan one invitation per prospect (all invitable ones if ``prospect_ids`` is
    None) and queue the batch after commit.

    The key of an invitation is per prospect, so a second press (a double click,
    or two organisers at once) plans nothing new and returns None.
    """
    now = timezone.now()
    if not letter_accepts_invitations(letter, now=now):
        raise ValidationError(
            _(
                "Invitations can be sent while the letter is circulating or "
                "published, has a revision to sign, and signing has not closed."
            )
        )
    prospects = invitable_prospects(letter).exclude(pk__in=invited_ids(letter))
    if prospect_ids is not None:
        prospects = prospects.filter(pk__in=prospect_ids)
    # Partners added since the prospects were.
    matching.propose_for_prospects(list(prospects))
    batch = InvitationBatch.objects.create(letter=letter, created_by=actor)
    rows = []
    for prospect in prospects:
        delivery = new_delivery(
            letter=letter,
            kind=Delivery.Kind.INVITATION,
            basis="once",
            due_at=now,
            prospect=prospect,
        )
        delivery.batch = batch
        rows.append(delivery)
    Delivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    count = batch.deliveries.count()
    if not count:
        batch.delete()
        return None
    audit_letter(letter, actor, "invitations.queued", count=count, batch=batch.pk)

    enqueue_on_commit("signers.tasks.invitation_batch_send_task", batch.pk)
    return batch


def invitation_batch_fan_out(*, batch_id: int) -> int:
    """Queue one send task per delivery of the batch still planned.

    Safe to run again: a delivery already claimed or sent is left alone by its
    task, and the dispatcher picks up any whose task was lost.
    """

    ids = list(
        Delivery.objects.filter(
            batch_id=batch_id, status=Delivery.Status.PLANNED
        ).values_list("pk", flat=True)
    )
    for pk in ids:
        enqueue_on_commit("signers.tasks.delivery_send_task", pk)
    return len(ids)


@transaction.atomic
def delivery_unsubscribe(*, delivery: Delivery) -> bool:
    """Stop everything about the letter to this address. False if already done."""
    email = delivery.email.lower()
    _suppression, created = Suppression.objects.get_or_create(
        letter=delivery.letter,
        email=email,
        defaults={"reason": Suppression.Reason.UNSUBSCRIBED},
    )
    # They asked not to be contacted: the organisers see it on the list.
    Prospect.objects.filter(
        letter=delivery.letter,
        email__iexact=email,
        status__in=[*INVITABLE, *AWAITING_ANSWER],
    ).update(status=Prospect.Status.DO_NOT_CONTACT)
    # And no more updates: the organisers see the consent withdrawn.
    Signature.objects.filter(
        letter=delivery.letter, email__iexact=email, consent_updates=True
    ).update(consent_updates=False, updated_at=timezone.now())
    return created
