from signers.models import Signature, SignatureEmail
from signers.services.signatures import signature_create
from signers.tasks import signature_email_send_task
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


def send_queued_emails():
    """Run the email task for every recorded email, as a worker would."""
    emails = list(SignatureEmail.objects.filter(sent_at__isnull=True))
    for email in emails:
        signature_email_send_task(email.pk)
    return emails


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
