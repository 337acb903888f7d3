"""A signer's personal data, as they may download it."""

from typing import Any, Final

from django.db import models
from django.db.models import Q
from django.db.models.fields.files import FieldFile
from django.urls import reverse
from django.utils import timezone

from coalition.links import absolute
from coalition.outbox.models import OutboxMessage
from letters.models import AuditEvent, Revision
from signers.models import (
    ChangeRequest,
    Prospect,
    Signature,
)

# --- Personal data ------------------------------------------------------------

# Links to other rows, given in their own sections of the export (or, for the
# organiser who holds the relationship and the signer who suggested a prospect,
# other people's data).
_NOT_EXPORTED: Final = frozenset({"letter", "revision", "prospect", "owner"})


def _row(
    obj: models.Model, *, leave_out: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Every stored field of ``obj``: a field added later is exported too
    (a stored file, such as a logo, by its name). Not the fields the database
    derives from the others (a signature's public row is its name as markup)."""
    row = {
        f.attname: f.value_from_object(obj)
        for f in obj._meta.concrete_fields
        if f.name not in _NOT_EXPORTED | leave_out
        and not getattr(f, "generated", False)
    }
    return {
        name: value.name or "" if isinstance(value, FieldFile) else value
        for name, value in row.items()
    }


def signature_personal_data(*, signature: Signature) -> dict[str, Any]:
    """Everything the site holds about one signer, for the signer or for an
    organiser answering their request: the signature with its private fields,
    statuses and times; the revision signed and its hash; the prospect record
    the organisers kept (linked, or on the letter with the same email); change
    requests and referrals the signer made; the emails sent to them; and the
    letter's log of what happened to the signature. Serialisable by
    ``DjangoJSONEncoder``. After erasure it shows what erasure left.
    """
    signature = Signature.objects.select_related("letter", "revision", "prospect").get(
        pk=signature.pk
    )
    letter, revision = signature.letter, signature.revision
    prospect = (
        signature.prospect
        or Prospect.objects.filter(letter=letter, email=signature.email).first()
    )
    asked = Q(signature=signature) | (Q(prospect=prospect) if prospect else Q())
    change_requests = ChangeRequest.objects.filter(asked).select_related("revision")
    emails = OutboxMessage.objects.filter(signature=signature).order_by(
        "created_at", "id"
    )
    numbers = dict(Revision.objects.filter(letter=letter).values_list("pk", "number"))
    history = AuditEvent.objects.filter(
        letter=letter, detail__signature=signature.pk
    ).order_by("created_at", "id")
    return {
        "exported_at": timezone.now(),
        "letter": {
            "title": letter.title,
            "address": absolute(reverse("signers:public", args=[letter.slug])),
        },
        "signature": _row(signature),
        "revision_signed": {
            "number": revision.number,
            "sha256": revision.sha256,
            "published_at": revision.created_at,
        },
        "prospect": _row(prospect, leave_out=frozenset({"referred_by"}))
        if prospect
        else None,
        "change_requests": [
            {
                **_row(r, leave_out=frozenset({"signature"})),
                "revision": r.revision.number,
            }
            for r in change_requests
        ],
        "referrals": [
            {
                "organisation": p.organisation,
                "contact_name": p.contact_name,
                "email": p.email,
                "note": p.notes,
                "created_at": p.created_at,
            }
            for p in Prospect.objects.filter(referred_by=signature).order_by("pk")
        ],
        "emails": [
            {
                "kind": e.kind,
                "to": e.to,
                "status": e.status,
                "created_at": e.created_at,
                "sent_at": e.sent_at,
                "revision": numbers.get(int(e.params.get("revision") or 0)),
            }
            for e in emails
        ],
        "history": [
            {"action": e.action, "at": e.created_at, "detail": e.detail}
            for e in history
        ],
    }
