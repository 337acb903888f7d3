"""Planning the signer-list digest sent to consenting signers."""

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from letters.models import Letter
from signers.models import (
    Delivery,
)
from signers.planning import reminders
from signers.planning.calls import planned_ids
from signers.planning.updates import consenting_signers

Kind = Delivery.Kind
WEEKLY = "weekly"


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
            pk__in=planned_ids(planned, "signature")
        )
        for signature in signers:
            yield reminders.new_delivery(
                letter=letter,
                kind=Kind.SIGNER_LIST,
                basis=basis,
                due_at=due,
                signature=signature,
            )
