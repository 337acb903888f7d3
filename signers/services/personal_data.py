"""A signer's personal data: erasure on request, and the record of its export."""

from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from coalition.models import User
from coalition.outbox.models import OutboxMessage
from letters.audit import Action, audit_record
from letters.models import AuditEvent
from signers.models import (
    Prospect,
    Signature,
)
from signers.services.common import (
    Status,
    bump_signers_version,
    lock_letter,
)
from signers.services.logos import delete_logo_on_commit

# Why an email was not sent after all, kept on its row; translated when shown.
ERASED = gettext_noop("The signer's personal data was erased.")


@transaction.atomic
def signature_erase_personal_data(*, signature: Signature, actor: User) -> bool:
    """Blank the private fields (and, for an individual, the name and other
    public details), keeping the row, its status and its revision so that
    counts stay true. An erased individual is no longer listed by name.
    The prospect record the organisers kept for this signer (linked, or on
    the letter with the same email) loses its contact details and notes, and
    an individual's name leaves the letter's log. Returns False if already
    erased."""
    now = timezone.now()
    values: dict[str, Any] = {
        "contact_name": "",
        "contact_title": "",
        "phone": "",
        "comment": "",
        "email": f"erased-{signature.pk}@erased.invalid",
        "requested_display_name": "",
        "logo": "",
        "erased_at": now,
        "updated_at": now,
    }
    if signature.kind == Signature.Kind.INDIVIDUAL:
        values.update(
            display_name=_("Name removed"),
            sort_name=f"~erased-{signature.pk}",
            normalised_name=f"~erased-{signature.pk}",
            skeleton_name=f"~erased-{signature.pk}",
            affiliation="",
            city="",
            website="",
            consent_listed=False,
        )
    lock_letter(pk=signature.letter_id)
    locked = Signature.objects.select_for_update().get(pk=signature.pk)
    updated = Signature.objects.filter(pk=signature.pk, erased_at__isnull=True).update(
        **values
    )
    if not updated:
        return False
    audit_record(signature, actor, Action.SIGNATURE_ERASED)
    delete_logo_on_commit(locked.logo.name or None)
    _erase_emails(locked)
    _erase_prospects(locked)
    if signature.kind == Signature.Kind.INDIVIDUAL:
        _erase_name_from_log(locked, values["display_name"])
    if locked.status == Status.CONFIRMED:
        individual = locked.kind == Signature.Kind.INDIVIDUAL
        shown_logo = bool(locked.logo) and locked.consent_logo
        bump_signers_version(locked.letter_id, removed=individual or shown_logo)
    return True


def _erase_emails(signature: Signature) -> None:
    """The outbox keeps no copy: the address and any built message go, and
    what was not sent yet never will be."""
    theirs = Q(signature=signature) | Q(to__iexact=signature.email)
    if signature.prospect_id is not None:
        theirs |= Q(prospect_id=signature.prospect_id)
    rows = OutboxMessage.objects.filter(letter_id=signature.letter_id).filter(theirs)
    S = OutboxMessage.Status
    rows.filter(status__in=(S.QUEUED, S.FAILED)).update(
        status=S.CANCELLED, last_error=ERASED
    )
    for pk in rows.values_list("pk", flat=True):
        OutboxMessage.objects.filter(pk=pk).update(
            to=f"erased-email-{pk}@erased.invalid", built=None
        )


def _erase_prospects(signature: Signature) -> None:
    prospects = Prospect.objects.filter(letter_id=signature.letter_id).filter(
        Q(pk=signature.prospect_id) | Q(email=signature.email)
    )
    for pk in prospects.values_list("pk", flat=True):
        Prospect.objects.filter(pk=pk).update(
            contact_name="",
            email=f"erased-prospect-{pk}@erased.invalid",
            notes="",
            decline_reason="",
            updated_at=timezone.now(),
        )


def _erase_name_from_log(signature: Signature, replacement: str) -> None:
    """The log names signatures; an individual's name is personal data."""
    events = AuditEvent.objects.filter(
        letter_id=signature.letter_id, detail__signature=signature.pk
    )
    for event in events:
        detail = dict(event.detail)
        detail["name"] = replacement
        detail.pop("requested", None)
        AuditEvent.objects.filter(pk=event.pk).update(detail=detail)


@transaction.atomic
def signature_record_export(*, signature: Signature, actor: User | None) -> None:
    """Write in the letter's log that this signer's personal data was
    downloaded: by an organiser (``actor``), or by the signer from their own
    link (``actor`` None)."""
    audit_record(
        signature,
        actor,
        Action.SIGNATURE_EXPORTED,
        by="organiser" if actor else "signer",
    )
