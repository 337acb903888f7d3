"""Writes for organisations' logos: given when signing, changed or removed later."""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import gettext as _

from coalition.models import User
from letters.audit import Action, audit_record
from letters.models import Letter
from signers.logos import Logo, logo_process
from signers.models import Signature
from signers.services.common import (
    Status,
    bump_signers_version,
    live_signature,
    lock_letter,
)
from signers.services.signing import signature_create, signature_create_locked


def delete_logo_on_commit(name: str | None) -> None:
    """Delete a stored logo once the row that named it no longer does."""
    if name:
        transaction.on_commit(lambda: default_storage.delete(name), robust=True)


def stored_logo(signature: Signature) -> Logo | None:
    """A signature's logo, to give another signature its own copy (a file of
    its own: erasing one signer's data never takes another's logo)."""
    if not signature.logo.name:
        return None
    try:
        with default_storage.open(signature.logo.name, "rb") as stored:
            return logo_process(stored, size=stored.size)
    except (OSError, ValidationError):  # gone, or from before the limits
        return None


def _store(signature: Signature, logo: Logo) -> None:
    # The storage names it (signers.models.signatures.logo_path).
    signature.logo.save(logo.filename, ContentFile(logo.content), save=False)


def signature_create_with_logo(
    *, logo: Logo | None, locked: Letter | None = None, **fields: Any
) -> Signature:
    """``signature_create``, and the organisation's logo stored with it. The
    file is written only once the signature is made: a refused signature
    leaves none behind (as with partners' agreement files, a transaction that
    fails after that, at commit, may leave one that no row names). Without a
    logo it is ``signature_create`` alone: no savepoint on every sign-up.
    ``locked``: the letter, already read under its lock in the current
    transaction (``signature_create_locked``)."""

    def create() -> Signature:
        if locked is not None:
            return signature_create_locked(letter=locked, **fields)
        return signature_create(**fields)

    if logo is None:
        return create()
    with transaction.atomic():
        signature = create()
        if signature.kind == Signature.Kind.ORGANISATION:
            _store(signature, logo)
            signature.save(update_fields=["logo", "updated_at"])
    return signature


@transaction.atomic
def signature_logo_set(
    *, signature_id: int, logo: Logo | None, actor: User | None
) -> bool:
    """Give an organisation's live signature a new logo, or remove it
    (``logo`` None). The old file is deleted once this commits. Returns False
    when there was nothing to remove."""
    lock_letter(signatures__pk=signature_id)
    signature = live_signature(signature_id)
    if signature.kind != Signature.Kind.ORGANISATION:
        raise ValidationError(_("Only organisations give a logo."), code="kind")
    old = signature.logo.name or None
    if logo is None and old is None:
        return False
    if logo is not None:
        _store(signature, logo)
    else:
        signature.logo = None
    signature.save(update_fields=["logo", "updated_at"])
    delete_logo_on_commit(old)
    audit_record(signature, actor, Action.SIGNATURE_LOGO_CHANGED, removed=logo is None)
    if signature.status == Status.CONFIRMED and signature.consent_logo:
        # A logo that was shown is gone: no rendering with it is served again.
        bump_signers_version(signature.letter_id, removed=old is not None)
    return True
