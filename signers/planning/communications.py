"""The planner for coalition communications: which kinds they are, and what is due.

Like ``signers.planning.reminders`` it only reads: it says who may get what
and builds unsaved ``Delivery`` rows whose unique keys make every email go at
most once; ``signers.services.sending`` saves, claims and sends them through
the same engine.
"""

from collections.abc import Iterator
from datetime import datetime

from signers.models import (
    Delivery,
)
from signers.planning.calls import due_call_reminders
from signers.planning.digests import due_signer_lists

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


def due_deliveries(*, now: datetime) -> Iterator[Delivery]:
    """Everything time-driven here: call reminders and signer list digests."""
    yield from due_call_reminders(now=now)
    yield from due_signer_lists(now=now)
