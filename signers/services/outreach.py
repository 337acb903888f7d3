"""Writes for outreach: prospects, their import, invitations, the reminder schedule."""

from datetime import date
from typing import Any, Required, TypedDict, Unpack

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from coalition.models import User
from coalition.outbox.models import OutboxMessage
from coalition.outbox.services import outbox_enqueue_many, outbox_retry
from letters.audit import Action, audit_record
from letters.models import Letter
from signers.models import (
    EmailKind,
    InvitationBatch,
    Prospect,
    ReminderSchedule,
    Signature,
    Suppression,
)
from signers.partners import matching
from signers.planning.reminders import (
    batch_group,
    invitable_prospects,
    invited_ids,
    letter_accepts_invitations,
    new_delivery,
)
from signers.selectors.outreach import prospect_import_preview
from signers.selectors.signatures import letter_organisers


class ProspectFields(TypedDict, total=False):
    """What an organiser can set on a prospect (the form's fields)."""

    organisation: Required[str]
    email: Required[str]
    contact_name: str
    notes: str
    personal_note: str
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
    if (
        prospect.status in Prospect.AWAITING_ANSWER_STATUSES
        and prospect.invited_at is None
    ):
        prospect.invited_at = timezone.now()
    prospect.save()
    return prospect


# --- Actions on many prospects at once ------------------------------------------


def _letters_prospects(letter: Letter, prospect_ids: list[int]) -> QuerySet[Prospect]:
    """Only the letter's own: an id of another letter's prospect is ignored."""
    return Prospect.objects.filter(letter=letter, pk__in=prospect_ids)


@transaction.atomic
def prospects_set_owner(
    *, letter: Letter, actor: User, prospect_ids: list[int], owner: User | None
) -> int:
    """Give the ticked prospects one relationship holder (or none), a member of
    the letter's team. Returns how many of the letter's prospects changed."""
    if owner is not None and not letter_organisers(letter=letter).filter(pk=owner.pk):
        raise ValidationError(_("Only a member of the letter's team can hold it."))
    count = (
        _letters_prospects(letter, prospect_ids)
        .exclude(owner=owner)
        .update(owner=owner, updated_at=timezone.now())
    )
    audit_record(
        letter,
        actor,
        Action.PROSPECTS_OWNER_SET,
        count=count,
        owner=str(owner) if owner else "",
    )
    return count


@transaction.atomic
def prospects_set_status(
    *, letter: Letter, actor: User, prospect_ids: list[int], status: str
) -> int:
    """Set the ticked prospects' status. A signed prospect keeps its status:
    only its signature changes it. Marking them invited (they were asked some
    other way) starts their reminders, as ``prospect_update`` does. Returns
    how many of the letter's prospects changed."""
    if status not in Prospect.BULK_STATUSES:
        raise ValidationError(_("This status cannot be set by hand."))
    now = timezone.now()
    values: dict[str, Any] = {"status": status, "updated_at": now}
    if status in Prospect.AWAITING_ANSWER_STATUSES:
        values["invited_at"] = Coalesce(F("invited_at"), Value(now))
    count = (
        _letters_prospects(letter, prospect_ids)
        .exclude(status=Prospect.Status.SIGNED)
        .exclude(status=status)
        .update(**values)
    )
    with override("en"):  # the log stores the source text, shown translated
        label = str(Prospect.Status(status).label)
    audit_record(
        letter,
        actor,
        Action.PROSPECTS_STATUS_SET,
        count=count,
        status=status,
        label=label,
    )
    return count


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
    audit_record(letter, actor, Action.PROSPECTS_IMPORTED, count=len(prospects))
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
    min_days_after_invitation: int = 2,
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
            "min_days_after_invitation": min_days_after_invitation,
            "digest_enabled": digest_enabled,
            "digest_hour": digest_hour,
        },
    )
    audit_record(letter, actor, Action.REMINDERS_SCHEDULE_CHANGED)
    return schedule


class InvitationWording(TypedDict, total=False):
    """An organiser's own subject and opening for a batch ("" or absent: the
    site's wording)."""

    subject: str
    opening: str


@transaction.atomic
def invitations_compose_send(
    *,
    letter: Letter,
    actor: User | None,
    prospect_ids: list[int] | None,
    notes: dict[int, str],
    **wording: Unpack[InvitationWording],
) -> InvitationBatch | None:
    """The send step: save the personal notes written in it (to the letter's
    prospects only), then send the batch in the organiser's words."""
    for prospect in Prospect.objects.filter(letter=letter, pk__in=list(notes)):
        note = notes[prospect.pk].strip()
        if prospect.personal_note != note:
            prospect.personal_note = note
            prospect.save(update_fields=["personal_note", "updated_at"])
    return invitations_send(
        letter=letter, actor=actor, prospect_ids=prospect_ids, **wording
    )


@transaction.atomic
def invitations_send(
    *,
    letter: Letter,
    actor: User | None,
    prospect_ids: list[int] | None = None,
    **wording: Unpack[InvitationWording],
) -> InvitationBatch | None:
    """Put one invitation per prospect in the outbox (all invitable ones if
    ``prospect_ids`` is None), as one batch the dispatcher sends, from
    ``actor`` (their name and address) in ``wording``.

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
    batch = InvitationBatch.objects.create(
        letter=letter,
        created_by=actor,
        sender_name=actor.display_name if actor else "",
        sender_email=actor.email if actor else "",
        subject=wording.get("subject", "").strip(),
        opening=wording.get("opening", "").strip(),
    )
    group = batch_group(batch.pk)
    outbox_enqueue_many(
        new_delivery(
            letter=letter,
            kind=EmailKind.INVITATION,
            basis="once",
            due_at=now,
            prospect=prospect,
            group=group,
        )
        for prospect in prospects
    )
    # An invitation that failed for good (an outage longer than its retries)
    # goes again, in this batch.
    failed = OutboxMessage.objects.filter(
        letter=letter,
        kind=EmailKind.INVITATION,
        status=OutboxMessage.Status.FAILED,
        prospect__in=invitable_prospects(letter),
    )
    if prospect_ids is not None:
        failed = failed.filter(prospect_id__in=prospect_ids)
    retried = outbox_retry(
        message_ids=list(failed.values_list("pk", flat=True)),
        actor=actor,
        letter_id=letter.pk,
    )
    OutboxMessage.objects.filter(pk__in=retried).update(group=group)
    count = OutboxMessage.objects.filter(group=group).count()
    if not count:
        batch.delete()
        return None
    audit_record(letter, actor, Action.INVITATIONS_QUEUED, count=count, batch=batch.pk)
    return batch


@transaction.atomic
def outreach_emails_retry(
    *, letter: Letter, actor: User | None, message_ids: list[int]
) -> int:
    """Queue again the letter's emails that failed after every attempt (an
    outage longer than the retries); other rows and other letters' are left
    alone. Returns how many go again."""
    retried = outbox_retry(message_ids=message_ids, actor=actor, letter_id=letter.pk)
    if retried:
        audit_record(letter, actor, Action.EMAILS_RETRIED, count=len(retried))
    return len(retried)


@transaction.atomic
def delivery_unsubscribe(*, delivery: OutboxMessage) -> bool:
    """Stop everything about the letter to this address. False if already done."""
    email = delivery.to.lower()
    letter = delivery.letter
    if letter is None:
        return False
    _suppression, created = Suppression.objects.get_or_create(
        letter=letter,
        email=email,
        defaults={"reason": Suppression.Reason.UNSUBSCRIBED},
    )
    # They asked not to be contacted: the organisers see it on the list.
    Prospect.objects.filter(
        letter=letter,
        email__iexact=email,
        status__in=[*Prospect.INVITABLE_STATUSES, *Prospect.AWAITING_ANSWER_STATUSES],
    ).update(status=Prospect.Status.DO_NOT_CONTACT)
    # And no more updates: the organisers see the consent withdrawn.
    Signature.objects.filter(
        letter=letter, email__iexact=email, consent_updates=True
    ).update(consent_updates=False, updated_at=timezone.now())
    return created
