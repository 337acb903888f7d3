"""The reminder planner: what is due, computed from the database alone.

A letter's schedule gives *steps*: one kind of email, when it becomes due, when
it goes stale, and the ``basis`` (the deadline values it was computed from).
The basis is part of every delivery's unique key, so moving a deadline gives
new keys (re-planning) and leaves the rows planned for the old value stale: a
sender skips them. Nothing here writes; ``signers.services.sending`` turns what
these functions find into outbox rows (``coalition.outbox``).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet
from django.db.models.functions import Lower

from coalition.models import User
from coalition.outbox.models import OutboxMessage
from coalition.outbox.services import outbox_message
from coalition.tokens import MAX_AGE
from letters.models import Letter, Revision
from signers.models import EmailKind, Prospect, ReminderSchedule, Signature, Suppression

Kind = EmailKind

PROSPECT_KINDS = (Kind.SOFT_REMINDER, Kind.HARD_ANNOUNCEMENT, Kind.LAST_CALL)
ORGANISER_KINDS = (Kind.DIGEST, Kind.SIGNING_CLOSED)

# The organisers hear that signing closed for this long after the deadline; a
# deadline that passed longer ago (the site was down) is not announced late.
CLOSED_NOTICE_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class Step:
    kind: str
    due_at: datetime
    until: datetime | None  # stale from then on: not sent any more
    basis: str

    def is_due(self, now: datetime) -> bool:
        return self.due_at <= now and (self.until is None or now < self.until)


def schedule_for(letter: Letter) -> ReminderSchedule:
    """The letter's schedule, or the defaults (unsaved) if it has none."""
    try:
        return letter.reminder_schedule
    except ReminderSchedule.DoesNotExist:
        return ReminderSchedule(letter=letter)


def _iso(value: datetime) -> str:
    return value.astimezone(ZoneInfo("UTC")).isoformat(timespec="seconds")


def digest_step(letter: Letter, schedule: ReminderSchedule, day: date) -> Step:
    zone = ZoneInfo(letter.time_zone)
    due = datetime.combine(day, time(schedule.digest_hour), tzinfo=zone)
    until = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return Step(Kind.DIGEST, due, until, day.isoformat())


def letter_steps(
    letter: Letter,
    schedule: ReminderSchedule,
    *,
    now: datetime,
    material_revision_at: datetime | None = None,
) -> list[Step]:
    """Every step of the letter's schedule around ``now``, due or not."""
    steps: list[Step] = []
    soft, hard = letter.soft_deadline, letter.hard_deadline
    if soft:
        days = sorted({int(d) for d in schedule.soft_days_before}, reverse=True)
        dues = [soft - timedelta(days=d) for d in days]
        # Only the latest reminder that is due goes out: after a deadline moves
        # earlier, invitees get one reminder, not two at once.
        for i, d in enumerate(days):
            until = dues[i + 1] if i + 1 < len(dues) else soft
            steps.append(Step(Kind.SOFT_REMINDER, dues[i], until, f"{_iso(soft)}/{d}d"))
    last_call_at = None
    if hard and schedule.last_call_days_before is not None:
        last_call_at = hard - timedelta(days=schedule.last_call_days_before)
    if hard and soft and soft < hard and schedule.announce_hard_deadline:
        until = last_call_at if last_call_at and last_call_at > soft else hard
        basis = f"{_iso(soft)}/{_iso(hard)}"
        steps.append(Step(Kind.HARD_ANNOUNCEMENT, soft, until, basis))
    if hard and last_call_at is not None:
        basis = f"{_iso(hard)}/{schedule.last_call_days_before}d"
        steps.append(Step(Kind.LAST_CALL, last_call_at, hard, basis))
    if hard:
        until = hard + CLOSED_NOTICE_WINDOW
        steps.append(Step(Kind.SIGNING_CLOSED, hard, until, _iso(hard)))
    if material_revision_at and schedule.reconfirm_after_days is not None:
        due = material_revision_at + timedelta(days=schedule.reconfirm_after_days)
        basis = f"r{letter.last_material_revision_number}"
        steps.append(Step(Kind.RECONFIRM_REMINDER, due, None, basis))
    if schedule.digest_enabled:
        today = now.astimezone(ZoneInfo(letter.time_zone)).date()
        for day in (today - timedelta(days=1), today, today + timedelta(days=1)):
            steps.append(digest_step(letter, schedule, day))
    return steps


def material_revision_time(letter: Letter) -> datetime | None:
    """When the last material change was published; None if there was none.

    Revision 1 is the letter's first text, and counts as its last material
    revision until a later one: nobody re-confirms it, so no reminder to
    re-confirm is planned (or shown in the schedule) for it."""
    number = letter.last_material_revision_number
    if number is None or number < 2:
        return None
    return (
        Revision.objects.filter(letter=letter, number=number)
        .values_list("created_at", flat=True)
        .first()
    )


def steps_for(letter: Letter, *, now: datetime) -> list[Step]:
    return letter_steps(
        letter,
        schedule_for(letter),
        now=now,
        material_revision_at=material_revision_time(letter),
    )


# --- Who may get what -------------------------------------------------------


# Exclusions are NOT IN (subquery), which the database runs as one hashed
# lookup whatever its statistics say; a correlated NOT EXISTS on fresh rows
# made the planner compare every prospect with every row (seconds at 10,000).


def _emails(queryset: QuerySet[Any]) -> QuerySet[Any]:
    return queryset.annotate(address=Lower("email")).values("address")


def not_suppressed(queryset: QuerySet[Any], letter: Letter) -> QuerySet[Any]:
    suppressed = _emails(Suppression.objects.filter(letter=letter))
    return queryset.alias(address=Lower("email")).exclude(address__in=suppressed)


def _not_signed(prospects: QuerySet[Prospect], letter: Letter) -> QuerySet[Prospect]:
    signatures = Signature.objects.filter(letter=letter)
    return (
        prospects.exclude(
            pk__in=signatures.filter(prospect__isnull=False).values("prospect_id")
        )
        .alias(signer_address=Lower("email"))
        .exclude(signer_address__in=_emails(signatures))
    )


def invitable_prospects(letter: Letter) -> QuerySet[Prospect]:
    """Prospects who may be invited: not answered, not suppressed, not signed."""
    prospects = Prospect.objects.filter(
        letter=letter, status__in=Prospect.INVITABLE_STATUSES
    )
    return _not_signed(not_suppressed(prospects, letter), letter)


def awaiting_prospects(letter: Letter) -> QuerySet[Prospect]:
    """Invited prospects who have not answered: they get reminders."""
    prospects = Prospect.objects.filter(
        letter=letter,
        status__in=Prospect.AWAITING_ANSWER_STATUSES,
        invited_at__isnull=False,
    )
    return _not_signed(not_suppressed(prospects, letter), letter)


def remindable_prospects(
    letter: Letter, schedule: ReminderSchedule, *, now: datetime
) -> QuerySet[Prospect]:
    """Invited prospects who have not answered, invited long enough ago for a
    reminder: one whose step is already due when they are invited gets it
    once the schedule's interval has passed, not seconds after the invitation."""
    return awaiting_prospects(letter).filter(
        invited_at__lte=now - reminder_interval(schedule)
    )


def reminder_interval(schedule: ReminderSchedule) -> timedelta:
    """The least time between an invitation and a reminder."""
    return timedelta(days=schedule.min_days_after_invitation)


def pending_signatures(letter: Letter, now: datetime) -> QuerySet[Signature]:
    """Unconfirmed sign-ups that have not expired."""
    signatures = Signature.objects.filter(
        letter=letter,
        status=Signature.Status.PENDING,
        created_at__gte=Signature.pending_expiry_cutoff(now),
    )
    return not_suppressed(signatures, letter)


def reconfirm_signatures(letter: Letter) -> QuerySet[Signature]:
    signatures = Signature.objects.filter(
        letter=letter, status=Signature.Status.NEEDS_RECONFIRMATION
    )
    return not_suppressed(signatures, letter)


def organisers(letter: Letter) -> QuerySet[User]:
    return User.objects.filter(memberships__letter=letter, is_active=True).distinct()


# --- Planning -----------------------------------------------------------------


def delivery_key(letter_id: int, kind: str, recipient: str, basis: str) -> str:
    """The exactly-once key of an outreach email."""
    return f"{letter_id}:{kind}:{recipient}:{basis}"


BATCH_PREFIX = "batch:"


def batch_group(batch_id: int) -> str:
    """The outbox group of an invitation batch (its progress counts them)."""
    return f"{BATCH_PREFIX}{batch_id}"


def basis_of(row: OutboxMessage) -> str:
    """The deadline or value an outreach email was computed from (its key's
    last part): a moved deadline makes its row stale."""
    return str(row.params.get("basis", ""))


def new_delivery(
    *,
    letter: Letter,
    kind: str,
    basis: str,
    due_at: datetime,
    prospect: Prospect | None = None,
    signature: Signature | None = None,
    user: User | None = None,
    group: str = "",
    about: dict[str, int] | None = None,
) -> OutboxMessage:
    """An unsaved outbox row for one outreach email, keyed by (letter, kind,
    recipient, basis); ``about`` names the update or call it is about."""
    if prospect is not None:
        recipient, email = f"p{prospect.pk}", prospect.email
    elif signature is not None:
        recipient, email = f"s{signature.pk}", signature.email
    elif user is not None:
        recipient, email = f"u{user.pk}", user.email
    else:
        raise ValueError("a delivery needs a recipient")
    return outbox_message(
        kind=kind,
        key=delivery_key(letter.pk, kind, recipient, basis),
        to=email,
        params={"basis": basis, **(about or {})},
        letter_id=letter.pk,
        prospect_id=prospect.pk if prospect else None,
        signature_id=signature.pk if signature else None,
        user_id=user.pk if user else None,
        group=group,
        send_at=due_at,
    )


def invited_ids(letter: Letter) -> QuerySet[Any]:
    """Prospects who already have an invitation, sent or on its way (one that
    failed for good is retried, not planned again)."""
    failed = OutboxMessage.Status.FAILED
    return _planned(letter, Kind.INVITATION, "once", "prospect").exclude(status=failed)


def _planned(letter: Letter, kind: str, basis: str, field: str) -> QuerySet[Any]:
    """Ids of ``field`` (prospect, signature, user) already planned for a step."""
    return (
        OutboxMessage.objects.filter(letter=letter, kind=kind, params__basis=basis)
        .filter(**{f"{field}__isnull": False})
        .values(f"{field}_id")
    )


def due_deliveries(letter: Letter, *, now: datetime) -> Iterator[OutboxMessage]:
    """Unsaved deliveries that are due now for ``letter`` and not planned yet."""
    schedule = schedule_for(letter)
    steps = letter_steps(
        letter,
        schedule,
        now=now,
        material_revision_at=material_revision_time(letter),
    )
    for step in steps:
        if not step.is_due(now):
            continue
        kind, basis, due = step.kind, step.basis, step.due_at
        if kind in PROSPECT_KINDS:
            prospects = remindable_prospects(letter, schedule, now=now).exclude(
                pk__in=_planned(letter, kind, basis, "prospect")
            )
            for prospect in prospects:
                yield new_delivery(
                    letter=letter, kind=kind, basis=basis, due_at=due, prospect=prospect
                )
        elif kind == Kind.RECONFIRM_REMINDER:
            signatures = reconfirm_signatures(letter).exclude(
                pk__in=_planned(letter, kind, basis, "signature")
            )
            for signature in signatures:
                yield new_delivery(
                    letter=letter,
                    kind=kind,
                    basis=basis,
                    due_at=due,
                    signature=signature,
                )
        elif kind in ORGANISER_KINDS:
            already = _planned(letter, kind, basis, "user")
            for user in organisers(letter).exclude(pk__in=already):
                yield new_delivery(
                    letter=letter, kind=kind, basis=basis, due_at=due, user=user
                )
    if schedule.confirm_after_days is not None:
        yield from _due_confirm_reminders(letter, schedule.confirm_after_days, now)


def _due_confirm_reminders(
    letter: Letter, after_days: int, now: datetime
) -> Iterator[OutboxMessage]:
    # One reminder per pending sign-up, while it can still be confirmed: at
    # half its time to expire if the schedule says later than that.
    basis = f"{after_days}d"
    expiry = timedelta(hours=settings.SIGNERS_PENDING_EXPIRY_HOURS)
    delay = min(timedelta(days=after_days), expiry / 2)
    signatures = (
        pending_signatures(letter, now)
        .filter(
            created_at__lte=now - delay,
            created_at__gt=now - MAX_AGE["confirm"],
        )
        .exclude(pk__in=_planned(letter, Kind.CONFIRM_REMINDER, basis, "signature"))
    )
    for signature in signatures:
        yield new_delivery(
            letter=letter,
            kind=Kind.CONFIRM_REMINDER,
            basis=basis,
            due_at=signature.created_at + delay,
            signature=signature,
        )


def active_letters() -> QuerySet[Letter]:
    return Letter.objects.filter(status__in=Letter.SIGNING_STATUSES).select_related(
        "reminder_schedule"
    )


def letter_accepts_invitations(letter: Letter, *, now: datetime) -> bool:
    return (
        letter.status in Letter.SIGNING_STATUSES
        and letter.current_revision_id is not None
        and not (letter.hard_deadline and letter.hard_deadline <= now)
    )
