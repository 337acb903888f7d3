"""Planning coalition calls: invitations, reminders and notes.

A call's reminders carry the call's start in their basis, so moving the call
plans them anew and leaves the old ones stale (skipped at send time).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import QuerySet

from coalition.models import User
from letters.models import Letter
from signers.models import (
    Call,
    CallInvitation,
    Delivery,
)
from signers.planning import reminders

Kind = Delivery.Kind
# Call reminders: (minutes before the start, label in the basis).
CALL_REMINDER_OFFSETS = (60, 5)


def _iso(value: datetime) -> str:
    return value.astimezone(ZoneInfo("UTC")).isoformat(timespec="seconds")


def call_team(letter: Letter, *, exclude_emails: set[str]) -> list[User]:
    """The organising team, less addresses already invited as signers."""
    return [
        user
        for user in reminders.organisers(letter).order_by("email")
        if user.email.lower() not in exclude_emails
    ]


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


def planned_ids(deliveries: QuerySet[Delivery], field: str) -> QuerySet[Any]:
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
                .exclude(signature_id__in=planned_ids(planned, "signature"))
                .exclude(user_id__in=planned_ids(planned, "user"))
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
