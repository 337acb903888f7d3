"""Helpers shared by the signer services: locks, audit entries, duplicate checks."""

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from letters.audit import Action, audit_record
from letters.models import Letter
from letters.public_pages import public_pages_changed
from signers import exports, names
from signers.models import EmailKind, Prospect, Signature
from signers.services.sending import queue_signature_email

Status = Signature.Status
Source = Signature.Source


def bump_signers_version(letter_id: int, *, removed: bool = False) -> None:
    """Who is publicly listed changed: the public page and PDF caches key on this.

    ``removed``: a name left the list (withdrawn, rejected, unlisted, erased, or
    waiting to re-confirm). No rendering from before is served again, even for
    a moment, and the letter's stored PDFs that are not current any more (the
    ones that name them) are deleted once this commits.
    """
    values: dict[str, Any] = {"signers_version": F("signers_version") + 1}
    if removed:
        values["signers_removed_version"] = F("signers_version") + 1
        # Robust: the stale PDFs are not served anyway; a storage error while
        # deleting them is logged, not a failed withdrawal.
        transaction.on_commit(
            lambda: exports.letter_pdfs_prune(letter_id=letter_id), robust=True
        )
    Letter.objects.filter(pk=letter_id).update(**values)
    public_pages_changed()


def lock_letter(**lookup: object) -> Letter:
    """The letter found by ``lookup``, locked until commit and read fresh.

    Taken first by every write that makes a signature count or takes it off
    the list, before any signature row: the order ``revision_publish`` uses
    (the letter, then ``signatures_on_new_revision``'s signatures), so signing
    and publishing a material revision serialise instead of deadlocking, and
    the current revision read here stays current until this transaction ends.
    """
    return Letter.objects.filter(**lookup).locked().get()


def text_changed_error() -> ValidationError:
    return ValidationError(
        _(
            "The letter's text has changed since this page was opened. "
            "Please read the new version below before signing."
        ),
        code="revision_changed",
    )


def _live_matches(
    *, letter: Letter, email: str, keys: names.NameKeys
) -> QuerySet[Signature]:
    """Live signatures on ``letter`` that a new one with this address and
    these name keys would collide with."""
    same = (
        Q(email=email)
        | Q(normalised_name=keys.normalised)
        | Q(skeleton_name=keys.skeleton)
    )
    return Signature.objects.filter(same, letter=letter).filter(
        status__in=Signature.LIVE_STATUSES
    )


def duplicate_error(
    *, letter: Letter, email: str, keys: names.NameKeys, display_name: str
) -> ValidationError:
    """Refuse kindly, saying nothing about the signature already there: not
    its name as listed, its status or whether it is listed at all. A taken
    address may ask for its status by email (``signature_status_send``): the
    error's params say ``taken="email"``."""
    if _live_matches(letter=letter, email=email, keys=keys).filter(email=email):
        return ValidationError(
            _("This email address has already signed this letter."),
            code="duplicate",
            params={"taken": "email"},
        )
    return ValidationError(
        _(
            "%(name)s, or a name that looks the same, has already signed this "
            "letter. If you think this is a mistake, please write to the "
            "organisers."
        ),
        code="duplicate",
        params={"taken": "name", "name": display_name},
    )


def make_way(
    *, letter: Letter, email: str, keys: names.NameKeys, proven: bool, now: datetime
) -> int:
    """Unconfirmed signatures in the way of a new one: those past their time
    expire; if the new signer's address is proven, the others are set aside
    (and told, unless the address is the new signer's own). A stranger's
    unconfirmed "The X Trust" never keeps the invited X from signing.
    Returns how many moved out of the way."""
    cutoff = Signature.pending_expiry_cutoff(now)
    in_the_way = _live_matches(letter=letter, email=email, keys=keys).filter(
        status=Status.PENDING
    )
    moved = in_the_way.filter(created_at__lt=cutoff).update(
        status=Status.EXPIRED, updated_at=now
    )
    if not proven:
        return moved
    for pending in in_the_way.filter(created_at__gte=cutoff).select_for_update():
        set_aside = Signature.objects.filter(
            pk=pending.pk, status=Status.PENDING
        ).update(status=Status.SET_ASIDE, updated_at=now)
        if set_aside:
            moved += 1
            audit_record(pending, None, Action.SIGNATURE_SET_ASIDE)
            if pending.email != email:
                queue_signature_email(pending, EmailKind.SET_ASIDE)
    return moved


def on_confirmed(signature: Signature) -> None:
    """A signature has just become publicly listed and counted."""
    bump_signers_version(signature.letter_id)
    if signature.prospect_id is not None:
        Prospect.objects.filter(pk=signature.prospect_id).exclude(
            status=Prospect.Status.SIGNED
        ).update(status=Prospect.Status.SIGNED, updated_at=timezone.now())


def on_withdrawn(signature: Signature) -> None:
    """A signature has just been withdrawn: its prospect's answer follows it.

    The invitee who signed now says no, so the prospect is declined (the
    outreach page and the funnel stop counting them as signed, and no reminder
    asks them to sign again), unless another live signature answers for them.
    """
    if signature.prospect_id is None:
        return
    if Signature.objects.filter(
        prospect_id=signature.prospect_id, status__in=Signature.LIVE_STATUSES
    ).exists():
        return
    Prospect.objects.filter(
        pk=signature.prospect_id, status=Prospect.Status.SIGNED
    ).update(status=Prospect.Status.DECLINED, updated_at=timezone.now())


def live_signature(signature_id: int) -> Signature:
    """The signature, locked until commit. ValidationError (code ``not_live``)
    once it is withdrawn, rejected or erased: then every link it was sent
    (edit, suggest, refer, call answers, re-issue) changes nothing more."""
    signature = Signature.objects.select_for_update().get(pk=signature_id)
    if signature.status not in Signature.LIVE_STATUSES or signature.erased_at:
        raise ValidationError(
            _(
                "This signature can no longer be changed: it was withdrawn, not "
                "accepted by the organisers, or its details were erased."
            ),
            code="not_live",
        )
    return signature
