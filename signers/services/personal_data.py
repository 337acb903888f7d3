"""A signer's personal data: erasure on request, and the record of its export."""

from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from coalition.models import User
from letters.models import AuditEvent
from signers.models import (
    Prospect,
    Signature,
)
from signers.services.common import (
    Status,
    audit_signature,
    bump_signers_version,
    lock_letter,
)


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
    audit_signature(signature, "signature.erased", actor=actor)
    _erase_prospects(locked)
    if signature.kind == Signature.Kind.INDIVIDUAL:
        _erase_name_from_log(locked, values["display_name"])
    if locked.status == Status.CONFIRMED:
        individual = locked.kind == Signature.Kind.INDIVIDUAL
        bump_signers_version(locked.letter_id, removed=individual)
    return True


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
    audit_signature(
        signature,
        "signature.exported",
        actor=actor,
        by="organiser" if actor else "signer",
    )
