"""At send time: why a planned outreach email must not go out after all.

Every kind of delivery is checked again just before it is sent (the prospect
answered, the deadline moved, the call started, the address unsubscribed);
the reason is kept on the outbox row (cancelled).
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.utils.translation import gettext_noop

from coalition.outbox.models import OutboxMessage
from letters.models import Letter
from signers.models import (
    Call,
    CallInvitation,
    EmailKind,
    ReissueOptIn,
    Suppression,
)
from signers.planning import reminders
from signers.planning.calls import call_basis, call_reminder_steps
from signers.planning.communications import KINDS
from signers.planning.digests import WEEKLY, signer_list_window
from signers.planning.reminders import (
    ORGANISER_KINDS,
    PROSPECT_KINDS,
    awaiting_prospects,
    basis_of,
    invitable_prospects,
    letter_accepts_invitations,
    organisers,
    pending_signatures,
    reconfirm_signatures,
    remindable_prospects,
    schedule_for,
    steps_for,
)
from signers.planning.updates import consenting_signers

Kind = EmailKind


# --- At send time ---------------------------------------------------------------


# Why a delivery was skipped, kept on the row; translated when shown.
ANSWERED = gettext_noop("The prospect answered, or asked not to be contacted.")
CLOSED = gettext_noop("The letter no longer accepts signatures.")
NOT_CIRCULATING = gettext_noop("The letter is not circulating.")
NOT_PENDING = gettext_noop("The signature is no longer waiting for confirmation.")
RECONFIRMED = gettext_noop("The signature no longer needs re-confirmation.")
NOT_ORGANISER = gettext_noop("No longer an organiser of the letter.")
MOVED = gettext_noop("The schedule or the deadline changed.")
NOTHING_TO_SAY = gettext_noop("Nothing to report.")
NO_CONSENT = gettext_noop("The signer is no longer confirmed or no longer consents.")
CALL_MOVED = gettext_noop("The call was moved.")
CALL_STARTED = gettext_noop("The call has started.")
NOT_COMING = gettext_noop("Said they are not coming.")
LATE = gettext_noop("Too late: the next one was due.")
TOO_SOON = gettext_noop("Invited too recently for a reminder.")
SCHEDULE_OFF = gettext_noop("The organisers turned the signer list off.")
OPTED_IN = gettext_noop("Already answered.")
EARLIER_UNSUBSCRIBED = gettext_noop("The address unsubscribed from the first letter.")
SUPPRESSED: dict[str, str] = {
    Suppression.Reason.UNSUBSCRIBED: gettext_noop("The address unsubscribed."),
    Suppression.Reason.BOUNCED: gettext_noop("The address bounced."),
}


def skip_reasons(deliveries: list[OutboxMessage], *, now: datetime) -> dict[int, str]:
    """Why each claimed delivery must not go out after all ("" to send it).

    Checked again just before sending: the prospect may have signed, the address
    unsubscribed, or the deadline moved since the row was planned. A handful of
    queries per letter for the whole chunk, not per delivery.
    """
    reasons: dict[int, str] = {}
    by_letter: dict[int, tuple[Letter, list[OutboxMessage]]] = {}
    for delivery in deliveries:
        if delivery.letter is None:  # its letter was deleted
            reasons[delivery.pk] = NOT_CIRCULATING
            continue
        by_letter.setdefault(delivery.letter.pk, (delivery.letter, []))[1].append(
            delivery
        )
    for letter, group in by_letter.values():
        reasons.update(_skip_reasons_for_letter(letter, group, now=now))
    return reasons


def _ids(queryset: QuerySet[Any], pks: Iterable[int | None]) -> set[int]:
    wanted = [pk for pk in pks if pk is not None]
    if not wanted:
        return set()
    return set(queryset.filter(pk__in=wanted).values_list("pk", flat=True))


def _skip_reasons_for_letter(
    letter: Letter, deliveries: list[OutboxMessage], *, now: datetime
) -> dict[int, str]:
    suppressed = dict(
        Suppression.objects.filter(letter=letter)
        .annotate(address=Lower("email"))
        .filter(address__in={d.to.lower() for d in deliveries})
        .values_list("address", "reason")
    )
    kinds = {d.kind for d in deliveries}
    prospect_ids = [d.prospect_id for d in deliveries]
    signature_ids = [d.signature_id for d in deliveries]
    invitable = awaiting = remindable = pending = reconfirm = organiser_ids = set()
    if Kind.INVITATION in kinds:
        invitable = _ids(invitable_prospects(letter), prospect_ids)
    if kinds & set(PROSPECT_KINDS):
        awaiting = _ids(awaiting_prospects(letter), prospect_ids)
        remindable = _ids(
            remindable_prospects(letter, schedule_for(letter), now=now), awaiting
        )
    if Kind.CONFIRM_REMINDER in kinds:
        pending = _ids(pending_signatures(letter, now), signature_ids)
    if Kind.RECONFIRM_REMINDER in kinds:
        reconfirm = _ids(reconfirm_signatures(letter), signature_ids)
    if kinds & set(ORGANISER_KINDS):
        organiser_ids = _ids(organisers(letter), [d.user_id for d in deliveries])
    current = {(s.kind, s.basis) for s in steps_for(letter, now=now)}
    active = letter.status in Letter.SIGNING_STATUSES
    accepts = letter_accepts_invitations(letter, now=now)
    communications: dict[int, str] = {}
    if kinds & KINDS:
        wanted = [d for d in deliveries if d.kind in KINDS]
        communications = communication_skip_reasons(letter, wanted, now=now)

    def reason(d: OutboxMessage) -> str:
        if d.to.lower() in suppressed:
            return SUPPRESSED[suppressed[d.to.lower()]]
        if d.pk in communications:
            return communications[d.pk]
        if d.kind == Kind.INVITATION:
            if d.prospect_id not in invitable:
                return ANSWERED
            return "" if accepts else CLOSED
        if not active:
            return NOT_CIRCULATING
        if d.kind in PROSPECT_KINDS and d.prospect_id not in awaiting:
            return ANSWERED
        if d.kind in PROSPECT_KINDS and d.prospect_id not in remindable:
            return TOO_SOON
        if d.kind == Kind.CONFIRM_REMINDER:
            return "" if d.signature_id in pending else NOT_PENDING
        if d.kind == Kind.RECONFIRM_REMINDER and d.signature_id not in reconfirm:
            return RECONFIRMED
        if d.kind in ORGANISER_KINDS and d.user_id not in organiser_ids:
            return NOT_ORGANISER
        if (d.kind, basis_of(d)) not in current:
            return MOVED
        return ""

    return {d.pk: reason(d) for d in deliveries}


# --- Coalition communications ------------------------------------------------


def communication_skip_reasons(
    letter: Letter, deliveries: list[OutboxMessage], *, now: datetime
) -> dict[int, str]:
    """Why each communication must not go out after all ("" to send it).

    Suppressions of ``letter`` are checked by the caller; this checks consent,
    whether the call moved or started, and answers given meanwhile.
    """
    signature_ids = {d.signature_id for d in deliveries}
    consenting = _ids(consenting_signers(letter), signature_ids)
    awaiting = _ids(
        reminders.awaiting_prospects(letter), {d.prospect_id for d in deliveries}
    )
    organiser_ids = _ids(reminders.organisers(letter), {d.user_id for d in deliveries})
    calls = Call.objects.in_bulk({_call_id(d) for d in deliveries if _call_id(d)})
    declined = set(
        CallInvitation.objects.filter(
            call_id__in=list(calls), response=CallInvitation.Response.NO
        )
        .annotate(address=Lower("email"))
        .values_list("call_id", "address")
    )
    schedule = reminders.schedule_for(letter)
    _due, this_week = signer_list_window(letter, schedule.digest_hour, now)
    reissue = _reissue_reasons(
        letter, [d for d in deliveries if d.kind == Kind.REISSUE_OPT_IN]
    )

    def reason(d: OutboxMessage) -> str:
        if d.kind == Kind.UPDATE:
            if d.signature_id is not None:
                return "" if d.signature_id in consenting else NO_CONSENT
            return "" if d.prospect_id in awaiting else ANSWERED
        if d.kind == Kind.UPDATE_TEST:
            return "" if d.user_id in organiser_ids else NOT_ORGANISER
        if d.kind == Kind.SIGNER_LIST:
            if d.signature_id not in consenting:
                return NO_CONSENT
            if schedule.signer_list_digest != WEEKLY:
                return SCHEDULE_OFF
            if letter.status not in Letter.SIGNING_STATUSES:
                return NOT_CIRCULATING
            return "" if basis_of(d) == this_week else LATE
        if d.kind == Kind.REISSUE_OPT_IN:
            return reissue.get(d.pk, "")
        call = calls.get(_call_id(d) or 0)
        if call is None:
            return CALL_MOVED
        return _call_reason(call, d, now=now, declined=declined)

    return {d.pk: reason(d) for d in deliveries}


def _call_id(d: OutboxMessage) -> int | None:
    call = d.params.get("call")
    return int(call) if call is not None else None


def _call_reason(
    call: Call, d: OutboxMessage, *, now: datetime, declined: set[tuple[int, str]]
) -> str:
    if d.kind == Kind.CALL_NOTES:
        return ""
    if not basis_of(d).startswith(call_basis(call)):
        return CALL_MOVED
    if now >= call.starts_at:
        return CALL_STARTED
    if d.kind == Kind.CALL_REMINDER:
        if (call.pk, d.to.lower()) in declined:
            return NOT_COMING
        step = next(
            (s for s in call_reminder_steps(call) if s.basis == basis_of(d)), None
        )
        if step is None or not step.is_due(now):
            return LATE
    return ""


def _reissue_reasons(letter: Letter, deliveries: list[OutboxMessage]) -> dict[int, str]:
    if not deliveries:
        return {}
    opt_ins = {
        o.earlier_id: o
        for o in ReissueOptIn.objects.filter(
            reissue__letter=letter,
            earlier_id__in=[d.signature_id for d in deliveries],
        ).select_related("reissue", "earlier")
    }
    sources = {o.reissue.source_id for o in opt_ins.values()}
    unsubscribed = set(
        Suppression.objects.filter(letter_id__in=sources)
        .annotate(address=Lower("email"))
        .values_list("letter_id", "address")
    )
    reasons: dict[int, str] = {}
    for d in deliveries:
        opt_in = opt_ins.get(d.signature_id or 0)
        if opt_in is None or opt_in.earlier.erased_at:
            reasons[d.pk] = NO_CONSENT
        elif opt_in.opted_in_at is not None:
            reasons[d.pk] = OPTED_IN
        elif (opt_in.reissue.source_id, d.to.lower()) in unsubscribed:
            reasons[d.pk] = EARLIER_UNSUBSCRIBED
        else:
            reasons[d.pk] = ""
    return reasons
