from dataclasses import dataclass

from django.utils import timezone

from coalition.outbox.dispatcher import outbox_dispatch, outbox_settle_stale
from coalition.outbox.models import OutboxMessage
from signers.models import SIGNATURE_EMAIL_KINDS, Signature
from signers.services.sending import outreach_plan_due
from signers.services.signing import signature_create
from tests.factories import ProspectFactory


def sign(letter, *, source=Signature.Source.INVITATION, **kwargs):
    """Sign the letter's current revision through the real service."""
    fields = {
        "display_name": "Friends of the Park",
        "email": "chair@friends.example.org",
        "city": "Springfield",
        "country": "United Kingdom",
        "contact_name": "Rosa",
        "attested": True,
    }
    fields.update(kwargs)
    if source == Signature.Source.INVITATION and "prospect" not in fields:
        # Invited at this address: the email is proven.
        fields["prospect"] = ProspectFactory(letter=letter, email=fields["email"])
    return signature_create(
        letter=letter, revision_id=letter.current_revision_id, source=source, **fields
    )


def signature_emails(**lookup):
    """The signer emails (receipts, confirmations, notices) in the outbox."""
    return OutboxMessage.objects.filter(kind__in=SIGNATURE_EMAIL_KINDS, **lookup)


def batch_messages(batch):
    """An invitation batch's rows in the outbox."""
    return OutboxMessage.objects.filter(group=f"batch:{batch.pk}")


def update_messages(update):
    """An update's rows in the outbox (its test sends too)."""
    return OutboxMessage.objects.filter(group=f"update:{update.pk}")


def send_queued_emails(now=None):
    """Dispatch every signer email that is due, as a worker would; returns the
    rows that were queued."""
    queued = list(signature_emails(status=OutboxMessage.Status.QUEUED))
    while outbox_dispatch(batch_size=1000, now=now).claimed:
        pass
    return queued


@dataclass
class Dispatched:
    planned: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    deferred: int = 0  # to be tried again: refused, or the server was away


def deliveries_dispatch(now=None):
    """A minute of beat and the dispatcher: plan what is due, then send every
    message that is due, batch by batch, until none is left."""
    now = now or timezone.now()
    result = Dispatched(planned=outreach_plan_due(now=now))
    outbox_settle_stale(now=now)
    while True:
        batch = outbox_dispatch(now=now)
        if not batch.claimed:
            return result
        result.sent += batch.sent
        result.failed += batch.failed
        result.skipped += batch.cancelled
        result.deferred += batch.deferred + batch.retrying
        if batch.deferred:
            return result


def sign_form(letter, **overrides):
    """What the signing form posts; a None override leaves the field out."""
    data = {
        "display_name": "Friends of the Park",
        "city": "Springfield",
        "country": "United Kingdom",
        "contact_name": "Rosa Parks",
        "email": "rosa@friends.example.org",
        "consent_listed": "on",
        "attested": "on",
        "revision": letter.current_revision_id,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}
