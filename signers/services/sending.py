"""The signers app's emails in the one outbox (``coalition.outbox``).

Every email to a signer, prospect or organiser about a letter is an outbox row
with a unique key: a signer email once per (signature, kind, revision), an
outreach email once per (letter, kind, recipient, basis). This module puts
them in the outbox and registers, for each kind, its builder
(``signers.emails``), the check made again just before each attempt
(``signers.planning.skips``), and what follows sending or a bounce. The
dispatcher sends them; nothing here speaks SMTP.
"""

from datetime import datetime

from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Coalesce

from coalition.outbox import builders
from coalition.outbox.models import OutboxMessage
from coalition.outbox.services import outbox_enqueue, outbox_enqueue_many
from letters.models import Revision
from signers.email_batches import invitation_batches_load
from signers.email_shapes import build_deadline_reminder_once, build_invitation_once
from signers.emails import BUILDERS
from signers.models import (
    SIGNATURE_EMAIL_KINDS,
    EmailKind,
    Prospect,
    Signature,
    Suppression,
)
from signers.planning import communications, reminders, signing_notices
from signers.planning.reminders import PROSPECT_KINDS, active_letters
from signers.planning.skips import skip_reasons


def signature_email_key(signature_id: int | str, kind: str, revision_id: int) -> str:
    return f"signature:{signature_id}:{kind}:{revision_id}"


def queue_signature_email(
    signature: Signature, kind: str, *, revision: Revision | None = None
) -> OutboxMessage:
    """Put a signer email in the outbox, once per (kind, revision)."""
    revision_id = revision.pk if revision else signature.revision_id
    return outbox_enqueue(
        kind=kind,
        key=signature_email_key(signature.pk, kind, revision_id),
        to=signature.email,
        params={"revision": revision_id},
        letter_id=signature.letter_id,
        signature_id=signature.pk,
    )


@transaction.atomic
def outreach_plan_due(*, now: datetime) -> int:
    """Put in the outbox every reminder, digest, call reminder and signer list
    due now and not planned yet; beat runs this every minute.

    Inserting ignores key conflicts, so two planners at once create each row
    once; a moved deadline changes the key, which plans the reminder anew.
    """
    planned = 0
    for letter in active_letters():
        planned += outbox_enqueue_many(reminders.due_deliveries(letter, now=now))
    # Call reminders and weekly signer lists (signers.planning.communications).
    planned += outbox_enqueue_many(communications.due_deliveries(now=now))
    # Who signed in the last quarter of an hour, to their organisers.
    planned += outbox_enqueue_many(signing_notices.due_deliveries(now=now))
    return planned


# --- What the dispatcher asks of each kind -------------------------------------


def _screen(rows: list[OutboxMessage], now: datetime) -> dict[int, str]:
    return skip_reasons(rows, now=now)


def _after_sent(rows: list[OutboxMessage], now: datetime) -> None:
    """An invitation makes an identified prospect "invited"; any email to a
    prospect is their last contact."""
    invited = [
        r.prospect_id for r in rows if r.kind == EmailKind.INVITATION and r.prospect_id
    ]
    if invited:
        Prospect.objects.filter(pk__in=invited).update(
            last_contacted_at=now,
            invited_at=Coalesce("invited_at", Value(now)),
            status=Case(
                When(
                    Q(status=Prospect.Status.IDENTIFIED),
                    then=Value(Prospect.Status.INVITED),
                ),
                default=F("status"),
            ),
        )
    contacted = [
        r.prospect_id for r in rows if r.kind in PROSPECT_KINDS and r.prospect_id
    ]
    if contacted:
        Prospect.objects.filter(pk__in=contacted).update(last_contacted_at=now)


def _bounced(row: OutboxMessage, error: str) -> None:
    """Refused for good: nothing more about the letter goes to the address."""
    if row.letter_id is None:
        return
    Suppression.objects.get_or_create(
        letter_id=row.letter_id,
        email=row.to.lower(),
        defaults={"reason": Suppression.Reason.BOUNCED, "detail": error},
    )


# The rows every builder reads, loaded with the batch.
_RELATED = (
    "letter__current_revision",
    "letter__reminder_schedule",
    "signature__letter__current_revision",
    "signature__revision",
    "prospect__owner",
)


# Kinds that are neither about a signature nor outreach: their own check before
# sending (none for a reply, which answers the person's own request).
_OWN_SCREENS: dict[str, builders.Screen | None] = {
    EmailKind.CHANGE_REQUEST_REPLY: None,
    EmailKind.SIGNING_NOTICE: signing_notices.screen,
    EmailKind.IMPORT_FINISHED: None,
}


# Kinds whose builders read rows beyond the batch's own, loaded at once.
_PREPARE: dict[str, builders.Prepare] = dict.fromkeys(
    (EmailKind.INVITATION, *PROSPECT_KINDS), invitation_batches_load
)


# Kinds whose templates are rendered once per group of a batch.
_ONCE_PER_GROUP: dict[str, builders.Builder] = {
    EmailKind.INVITATION: build_invitation_once,
    **dict.fromkeys(PROSPECT_KINDS, build_deadline_reminder_once),
}


def register_outbox_kinds() -> None:
    """The signers app's rows in the outbox's table (``SignersConfig.ready``)."""
    kinds = []
    for name, build in {**BUILDERS, **_ONCE_PER_GROUP}.items():
        if name in _OWN_SCREENS:
            screen = _OWN_SCREENS[name]
            kinds.append(
                builders.Kind(name, build, screen=screen, select_related=("letter",))
            )
        elif name in SIGNATURE_EMAIL_KINDS:
            kinds.append(builders.Kind(name, build, select_related=_RELATED))
        else:
            kinds.append(
                builders.Kind(
                    name,
                    build,
                    screen=_screen,
                    after_sent=_after_sent,
                    bounced=_bounced,
                    prepare=_PREPARE.get(name),
                    select_related=_RELATED,
                )
            )
    builders.register(*kinds)
