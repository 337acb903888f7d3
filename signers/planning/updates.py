"""Planning updates: their audiences and their deliveries."""

from datetime import datetime, timedelta

from django.db.models import QuerySet

from letters.models import Letter
from signers.models import (
    Delivery,
    Prospect,
    Signature,
    Update,
)
from signers.planning import reminders

Kind = Delivery.Kind


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
    return reminders.not_suppressed(signatures, letter)


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


def update_rate_window(*, letter: Letter, now: datetime) -> QuerySet[Update]:
    """Updates sent in the seven days before ``now``."""
    return Update.objects.filter(letter=letter, sent_at__gt=now - timedelta(days=7))
