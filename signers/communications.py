"""The planner for coalition communications: updates, the signer list digest,
calls and re-issue opt-ins.

Like ``signers.reminders`` it only reads: it says who may get what and builds
unsaved ``Delivery`` rows whose unique keys make every email go at most once;
``signers.services`` saves, claims and sends them through the same engine. A
call's reminders carry the call's start in their basis, so moving the call
plans them anew and leaves the old ones stale (skipped at send time).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.utils.translation import gettext_noop

from coalition.models import User
from letters.models import Letter
from signers import reminders
from signers.models import (
    Call,
    CallInvitation,
    Delivery,
    Prospect,
    ReissueOptIn,
    Signature,
    Suppression,
    Update,
)

Kind = Delivery.Kind

KINDS = frozenset(
    {
        Kind.UPDATE,
        Kind.UPDATE_TEST,
        Kind.SIGNER_LIST,
        Kind.CALL_INVITATION,
        Kind.CALL_REMINDER,
        Kind.CALL_NOTES,
        Kind.REISSUE_OPT_IN,
    }
)
# Call reminders: (minutes before the start, label in the basis).
CALL_REMINDER_OFFSETS = (60, 5)
WEEKLY = "weekly"


def _iso(value: datetime) -> str:
    return value.astimezone(ZoneInfo("UTC")).isoformat(timespec="seconds")


# --- Audiences ------------------------------------------------------------------


def consenting_signers(letter: Letter) -> QuerySet[Signature]:
    """Confirmed signers who agreed to coalition updates, not unsubscribed or
    bounced, not erased."""
    signatures = Signature.objects.filter(
        letter=letter,
        status=Signature.Status.CONFIRMED,
        consent_updates=True,
        erased_at__isnull=True,
    )
    return reminders._not_suppressed(signatures, letter)


def update_audience(
    letter: Letter, audience: str
) -> tuple[QuerySet[Signature], QuerySet[Prospect]]:
    """Who an update to ``audience`` goes to: (signatures, prospects)."""
    signers = consenting_signers(letter)
    invitees = reminders.awaiting_prospects(letter)
    if audience == Update.Audience.SIGNERS:
        invitees = invitees.none()
    elif audience == Update.Audience.INVITEES:
        signers = signers.none()
    return signers, invitees


def call_team(letter: Letter, *, exclude_emails: set[str]) -> list[User]:
    """The organising team, less addresses already invited as signers."""
    return [
        user
        for user in reminders.organisers(letter).order_by("email")
        if user.email.lower() not in exclude_emails
    ]


# --- Deliveries for one update, call or re-issue -------------------------------


def update_basis(update: Update) -> str:
    return f"update{update.pk}"


def update_deliveries(update: Update, *, now: datetime) -> list[Delivery]:
    signers, invitees = update_audience(update.letter, update.audience)
    basis = update_basis(update)
    rows = [
        reminders.new_delivery(
            letter=update.letter,
            kind=Kind.UPDATE,
            basis=basis,
            due_at=now,
            signature=signature,
        )
        for signature in signers
    ]
    signer_emails = {s.email.lower() for s in signers}
    rows += [
        reminders.new_delivery(
            letter=update.letter,
            kind=Kind.UPDATE,
            basis=basis,
            due_at=now,
            prospect=prospect,
        )
        for prospect in invitees
        if prospect.email.lower() not in signer_emails
    ]
    for row in rows:
        row.update = update
    return rows


def call_basis(call: Call) -> str:
    return f"call{call.pk}/{_iso(call.starts_at)}"


def call_delivery(
    call: Call,
    invitation: CallInvitation,
    *,
    kind: str,
    basis: str,
    due_at: datetime,
) -> Delivery:
    delivery = reminders.new_delivery(
        letter=call.letter,
        kind=kind,
        basis=basis,
        due_at=due_at,
        signature=invitation.signature,
        user=None if invitation.signature else invitation.user,
    )
    delivery.call = call
    return delivery


@dataclass(frozen=True)
class CallStep:
    minutes: int
    due_at: datetime
    until: datetime
    basis: str

    def is_due(self, now: datetime) -> bool:
        return self.due_at <= now < self.until


def call_reminder_steps(call: Call) -> list[CallStep]:
    """60 and 5 minutes; each goes stale when the next one is due, so a late
    dispatcher sends one reminder, not two at once."""
    steps = []
    offsets = sorted(CALL_REMINDER_OFFSETS, reverse=True)
    for i, minutes in enumerate(offsets):
        due = call.starts_at - timedelta(minutes=minutes)
        until = (
            call.starts_at - timedelta(minutes=offsets[i + 1])
            if i + 1 < len(offsets)
            else call.starts_at
        )
        basis = f"{call_basis(call)}/{minutes}m"
        steps.append(CallStep(minutes, due, until, basis))
    return steps


def _planned_ids(deliveries: QuerySet[Delivery], field: str) -> QuerySet[Any]:
    return deliveries.filter(**{f"{field}__isnull": False}).values(f"{field}_id")


def due_call_reminders(*, now: datetime) -> Iterator[Delivery]:
    """Reminders due now for calls about to start, not planned yet."""
    soon = now + timedelta(minutes=max(CALL_REMINDER_OFFSETS) + 1)
    calls = Call.objects.filter(starts_at__gt=now, starts_at__lte=soon).select_related(
        "letter"
    )
    for call in calls:
        for step in call_reminder_steps(call):
            if not step.is_due(now):
                continue
            planned = Delivery.objects.filter(
                letter=call.letter, kind=Kind.CALL_REMINDER, basis=step.basis
            )
            invitations = (
                call.invitations.exclude(response=CallInvitation.Response.NO)
                .exclude(signature_id__in=_planned_ids(planned, "signature"))
                .exclude(user_id__in=_planned_ids(planned, "user"))
                .select_related("signature", "user")
            )
            for invitation in invitations:
                yield call_delivery(
                    call,
                    invitation,
                    kind=Kind.CALL_REMINDER,
                    basis=step.basis,
                    due_at=step.due_at,
                )


# --- The signer list digest -------------------------------------------------------


def signer_list_basis(day: date) -> str:
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


def signer_list_window(
    letter: Letter, hour: int, now: datetime
) -> tuple[datetime, str]:
    """This ISO week's Monday at ``hour`` in the letter's zone, and its basis."""
    zone = ZoneInfo(letter.time_zone)
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    return datetime.combine(monday, time(hour), tzinfo=zone), signer_list_basis(today)


def due_signer_lists(*, now: datetime) -> Iterator[Delivery]:
    """This week's signer list, for letters whose organisers chose weekly."""
    letters = reminders.active_letters().filter(
        reminder_schedule__signer_list_digest=WEEKLY
    )
    for letter in letters:
        hour = letter.reminder_schedule.digest_hour
        due, basis = signer_list_window(letter, hour, now)
        if now < due:
            continue
        planned = Delivery.objects.filter(
            letter=letter, kind=Kind.SIGNER_LIST, basis=basis
        )
        signers = consenting_signers(letter).exclude(
            pk__in=_planned_ids(planned, "signature")
        )
        for signature in signers:
            yield reminders.new_delivery(
                letter=letter,
                kind=Kind.SIGNER_LIST,
                basis=basis,
                due_at=due,
                signature=signature,
            )


def due_deliveries(*, now: datetime) -> Iterator[Delivery]:
    """Everything time-driven here: call reminders and signer list digests."""
    yield from due_call_reminders(now=now)
    yield from due_signer_lists(now=now)


# --- At send time ---------------------------------------------------------------------


NO_CONSENT = gettext_noop("The signer is no longer confirmed or no longer consents.")
ANSWERED = reminders.ANSWERED
NOT_ORGANISER = reminders.NOT_ORGANISER
CALL_MOVED = gettext_noop("The call was moved.")
CALL_STARTED = gettext_noop("The call has started.")
NOT_COMING = gettext_noop("Said they are not coming.")
LATE = gettext_noop("Too late: the next one was due.")
SCHEDULE_OFF = gettext_noop("The organisers turned the signer list off.")
OPTED_IN = gettext_noop("Already answered.")
EARLIER_UNSUBSCRIBED = gettext_noop("The address unsubscribed from the first letter.")


_ids = reminders._ids


def skip_reasons(
    letter: Letter, deliveries: list[Delivery], *, now: datetime
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
    calls = Call.objects.in_bulk({d.call_id for d in deliveries if d.call_id})
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

    def reason(d: Delivery) -> str:
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
                return reminders.NOT_CIRCULATING
            return "" if d.basis == this_week else LATE
        if d.kind == Kind.REISSUE_OPT_IN:
            return reissue.get(d.pk, "")
        call = calls.get(d.call_id or 0)
        if call is None:
            return CALL_MOVED
        return _call_reason(call, d, now=now, declined=declined)

    return {d.pk: reason(d) for d in deliveries}


def _call_reason(
    call: Call, d: Delivery, *, now: datetime, declined: set[tuple[int, str]]
) -> str:
    if d.kind == Kind.CALL_NOTES:
        return ""
    if not d.basis.startswith(call_basis(call)):
        return CALL_MOVED
    if now >= call.starts_at:
        return CALL_STARTED
    if d.kind == Kind.CALL_REMINDER:
        if (call.pk, d.email.lower()) in declined:
            return NOT_COMING
        step = next((s for s in call_reminder_steps(call) if s.basis == d.basis), None)
        if step is None or not step.is_due(now):
            return LATE
    return ""


def _reissue_reasons(letter: Letter, deliveries: list[Delivery]) -> dict[int, str]:
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
        elif (opt_in.reissue.source_id, d.email.lower()) in unsubscribed:
            reasons[d.pk] = EARLIER_UNSUBSCRIBED
        else:
            reasons[d.pk] = ""
    return reasons


def update_rate_window(*, letter: Letter, now: datetime) -> QuerySet[Update]:
    """Updates sent in the seven days before ``now``."""
    return Update.objects.filter(letter=letter, sent_at__gt=now - timedelta(days=7))
