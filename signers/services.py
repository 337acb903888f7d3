"""Writes for signatures, prospects' answers, referrals and change requests.

Every state change is a conditional UPDATE on the status it starts from, so a
second click (or a mail scanner, or a race) finds the work done and the service
returns False instead of acting twice. Emails are rows in ``SignatureEmail``
queued on commit; nothing here talks to an SMTP server inside a transaction.
"""

import logging
import smtplib
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from time import monotonic
from typing import Any, Final, Required, TypedDict, Unpack

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from coalition.celery import EMAIL_RETRY_POLICY
from coalition.emails import send_message
from coalition.models import User
from letters.models import AuditEvent, Letter, Revision
from signers import communications, emails, names, reminders, selectors
from signers.emails import signature_email_message
from signers.importing import ImportRow, SignatureImportError
from signers.models import (
    Call,
    CallInvitation,
    ChangeRequest,
    Delivery,
    InvitationBatch,
    Prospect,
    Reissue,
    ReissueOptIn,
    ReminderSchedule,
    Signature,
    SignatureEmail,
    Suppression,
    Update,
)
from signers.partners import matching
from signers.selectors import (
    VIA_IMPORT,
    VIA_INVITATION,
    VIA_OPEN_JOIN,
    revision_anchors,
    signing_closed_reason,
)

Status = Signature.Status
Source = Signature.Source

# A claimed email that was neither sent nor released (a worker killed mid-send)
# may be claimed again after this long.
EMAIL_CLAIM_TIMEOUT: Final = timedelta(minutes=10)
# Lost signer emails queued again by one beat run, at most.
SIGNATURE_EMAIL_REQUEUE_LIMIT: Final = 500
# An address is sent its signature's status on request at most this often.
STATUS_EMAIL_INTERVAL: Final = timedelta(hours=1)


def _bump_signers_version(letter_id: int, *, removed: bool = False) -> None:
    """Who is publicly listed changed: the public page and PDF caches key on this.

    ``removed``: a name left the list (withdrawn, rejected, unlisted, erased, or
    waiting to re-confirm). No rendering from before is served again, even for
    a moment, and the letter's stored PDFs that are not current any more (the
    ones that name them) are deleted once this commits.
    """
    values: dict[str, Any] = {"signers_version": F("signers_version") + 1}
    if removed:
        values["signers_removed_version"] = F("signers_version") + 1
        # Imported here: letters.exports reads through signers.selectors.
        from letters.exports import letter_pdfs_prune

        # Robust: the stale PDFs are not served anyway; a storage error while
        # deleting them is logged, not a failed withdrawal.
        transaction.on_commit(
            lambda: letter_pdfs_prune(letter_id=letter_id), robust=True
        )
    Letter.objects.filter(pk=letter_id).update(**values)


def _lock_letter(**lookup: Any) -> Letter:
    """The letter found by ``lookup``, locked until commit and read fresh.

    Taken first by every write that makes a signature count or takes it off
    the list, before any signature row: the order ``revision_publish`` uses
    (the letter, then ``signatures_on_new_revision``'s signatures), so signing
    and publishing a material revision serialise instead of deadlocking, and
    the current revision read here stays current until this transaction ends.
    """
    return Letter.objects.filter(**lookup).locked().get()


def _audit(
    signature: Signature, action: str, *, actor: User | None = None, **detail: Any
) -> None:
    AuditEvent.objects.create(
        letter_id=signature.letter_id,
        actor=actor,
        action=action,
        detail={"signature": signature.pk, "name": signature.display_name, **detail},
    )


def _queue_email(
    signature: Signature, kind: str, *, revision: Revision | None = None
) -> None:
    """Record the email and send it after commit, once per (kind, revision)."""
    from signers.tasks import signature_email_send_task

    email, created = SignatureEmail.objects.get_or_create(
        signature=signature,
        kind=kind,
        revision_id=revision.pk if revision else signature.revision_id,
    )
    if created:
        signature_email_send_task.delay_on_commit(email.pk)


def _text_changed_error() -> ValidationError:
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


def _duplicate_error(
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


def _make_way(
    *, letter: Letter, email: str, keys: names.NameKeys, proven: bool, now: datetime
) -> None:
    """Unconfirmed signatures in the way of a new one: those past their time
    expire; if the new signer's address is proven, the others are set aside
    (and told, unless the address is the new signer's own). A stranger's
    unconfirmed "The X Trust" never keeps the invited X from signing."""
    cutoff = Signature.pending_expiry_cutoff(now)
    in_the_way = _live_matches(letter=letter, email=email, keys=keys).filter(
        status=Status.PENDING
    )
    in_the_way.filter(created_at__lt=cutoff).update(
        status=Status.EXPIRED, updated_at=now
    )
    if not proven:
        return
    for pending in in_the_way.filter(created_at__gte=cutoff).select_for_update():
        set_aside = Signature.objects.filter(
            pk=pending.pk, status=Status.PENDING
        ).update(status=Status.SET_ASIDE, updated_at=now)
        if set_aside:
            _audit(pending, "signature.set_aside")
            if pending.email != email:
                _queue_email(pending, SignatureEmail.Kind.SET_ASIDE)


def _on_confirmed(signature: Signature) -> None:
    """A signature has just become publicly listed and counted."""
    _bump_signers_version(signature.letter_id)
    if signature.prospect_id is not None:
        Prospect.objects.filter(pk=signature.prospect_id).exclude(
            status=Prospect.Status.SIGNED
        ).update(status=Prospect.Status.SIGNED, updated_at=timezone.now())


def _live_signature(signature_id: int) -> Signature:
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


@transaction.atomic
def signature_create(
    *,
    letter: Letter,
    revision_id: int,
    source: str,
    display_name: str,
    email: str,
    kind: str = Signature.Kind.ORGANISATION,
    affiliation: str = "",
    city: str = "",
    country: str = "",
    website: str = "",
    contact_name: str = "",
    contact_title: str = "",
    phone: str = "",
    comment: str = "",
    consent_listed: bool = True,
    consent_updates: bool = False,
    consent_logo: bool = False,
    attested: bool = False,
    prospect: Prospect | None = None,
) -> Signature:
    """Sign revision ``revision_id`` (the letter's current one, which the
    signer was shown) for an organisation or an individual. Every route in
    (invitation, open join, referral, import, demo data) uses this.

    Confirmed at once when the email is proven (an invitation read at its own
    address, or an organisers' import); otherwise pending, with an email asking
    to confirm. Raises ValidationError, saving nothing, when the letter takes no
    signatures by this route, the text changed, the kind is not allowed, the
    attestation is missing, or the organisation or email has already signed.
    Locks the letter first: a material revision published meanwhile either
    comes before (and the text has changed) or waits for this to commit (and
    then moves this signature to re-confirm).
    """
    letter = _lock_letter(pk=letter.pk)
    via = {Source.OPEN_JOIN: VIA_OPEN_JOIN, Source.IMPORT: VIA_IMPORT}.get(
        Source(source), VIA_INVITATION
    )
    reason = signing_closed_reason(letter=letter, via=via)
    if reason:
        raise ValidationError(reason, code="closed")
    if revision_id != letter.current_revision_id:
        raise _text_changed_error()
    if kind == Signature.Kind.ORGANISATION and not letter.allows_organisations:
        raise ValidationError(_("This letter is signed by individuals only."))
    if kind == Signature.Kind.INDIVIDUAL and not letter.allows_individuals:
        raise ValidationError(_("This letter is signed by organisations only."))
    if kind == Signature.Kind.ORGANISATION and not attested:
        raise ValidationError(
            {"attested": _("Please confirm that you may sign for this organisation.")}
        )
    email = names.clean_email(email)
    display_name = names.clean_display_name(display_name)
    if not display_name:
        raise ValidationError({"display_name": _("Please give a name.")})
    if source == Source.INVITATION and prospect and prospect.referred_by_id:
        source = Source.REFERRAL
    proven = source == Source.IMPORT or (
        prospect is not None and prospect.email.lower() == email
    )
    now = timezone.now()
    keys = names.name_keys(display_name)
    _make_way(letter=letter, email=email, keys=keys, proven=proven, now=now)
    try:
        with transaction.atomic():
            signature = Signature.objects.create(
                letter=letter,
                revision_id=revision_id,
                kind=kind,
                status=Status.CONFIRMED if proven else Status.PENDING,
                source=source,
                display_name=display_name,
                sort_name=names.sort_name(display_name),
                normalised_name=keys.normalised,
                skeleton_name=keys.skeleton,
                affiliation=affiliation,
                city=city,
                country=country,
                website=website,
                contact_name=contact_name,
                contact_title=contact_title,
                email=email,
                phone=phone,
                comment=comment,
                consent_listed=consent_listed,
                consent_updates=consent_updates,
                consent_logo=consent_logo and kind == Signature.Kind.ORGANISATION,
                attested=attested,
                prospect=prospect,
                confirmed_at=now if proven else None,
            )
    except IntegrityError as exc:
        raise _duplicate_error(
            letter=letter, email=email, keys=keys, display_name=display_name
        ) from exc
    if signature.status == Status.CONFIRMED:
        _on_confirmed(signature)
        if source != Source.IMPORT:
            _queue_email(signature, SignatureEmail.Kind.RECEIPT)
    else:
        _queue_email(signature, SignatureEmail.Kind.CONFIRM_REQUEST)
    matching.propose_for_signature(signature)
    return signature


@transaction.atomic
def signature_import(*, letter: Letter, rows: list[ImportRow]) -> int:
    """Import existing signers, confirmed on the current revision with source
    import and no email sent. All rows or none: raises SignatureImportError
    with every line's problems (including organisations that already signed)
    and saves nothing. Returns the number of signatures created."""
    letter = _lock_letter(pk=letter.pk)
    revision = letter.current_revision
    if revision is None:
        raise SignatureImportError(
            {1: [_("The letter has no published revision to sign yet.")]}
        )
    errors = {row.line: list(row.errors) for row in rows if row.errors}
    for row in rows:
        if row.errors:
            continue
        try:
            signature_create(
                letter=letter,
                revision_id=revision.pk,
                source=Source.IMPORT,
                **row.fields,
            )
        except ValidationError as exc:
            errors.setdefault(row.line, []).extend(exc.messages)
    if errors:
        raise SignatureImportError(errors)
    return len(rows)


@transaction.atomic
def signature_confirm(*, signature_id: int, revision_id: int) -> bool:
    """The signer clicked the button behind their confirmation link.

    Binds the signature to ``revision_id`` (the text the page showed, which must
    still be current). Open joins on a letter that needs approval wait for
    the organisers. Returns False if it was not pending any more. Locks the
    letter, then the signature.
    """
    letter = _lock_letter(signatures__pk=signature_id)
    signature = Signature.objects.select_for_update().get(pk=signature_id)
    signature.letter = letter
    if signature.status != Status.PENDING:
        return False
    now = timezone.now()
    if signature.has_expired(now):
        Signature.objects.filter(pk=signature_id, status=Status.PENDING).update(
            status=Status.EXPIRED, updated_at=now
        )
        return False
    via = VIA_OPEN_JOIN if signature.source == Source.OPEN_JOIN else VIA_INVITATION
    reason = signing_closed_reason(letter=letter, via=via)
    if reason:
        raise ValidationError(reason, code="closed")
    if revision_id != letter.current_revision_id:
        raise _text_changed_error()
    needs_approval = (
        signature.source == Source.OPEN_JOIN and letter.join_requires_approval
    )
    updated = Signature.objects.filter(pk=signature_id, status=Status.PENDING).update(
        status=Status.PENDING_APPROVAL if needs_approval else Status.CONFIRMED,
        revision_id=revision_id,
        confirmed_at=None if needs_approval else now,
        updated_at=now,
    )
    if not updated:
        return False
    signature.refresh_from_db()
    if not needs_approval:
        _on_confirmed(signature)
        _queue_email(signature, SignatureEmail.Kind.RECEIPT)
    return True


@transaction.atomic
def signature_withdraw(*, signature_id: int) -> bool:
    """Withdraw at once; the row stays, with status withdrawn. The signer gets
    a confirmation; organisers see it in the audit log. False if already off
    the letter."""
    _lock_letter(signatures__pk=signature_id)
    signature = Signature.objects.select_for_update().get(pk=signature_id)
    was_listed = signature.status == Status.CONFIRMED
    now = timezone.now()
    updated = Signature.objects.filter(
        pk=signature_id, status__in=Signature.LIVE_STATUSES
    ).update(status=Status.WITHDRAWN, withdrawn_at=now, updated_at=now)
    if not updated:
        return False
    if was_listed:
        _bump_signers_version(signature.letter_id, removed=True)
    _audit(signature, "signature.withdrawn", previous_status=signature.status)
    _queue_email(signature, SignatureEmail.Kind.WITHDRAWN)
    return True


@transaction.atomic
def signature_reconfirm(*, signature_id: int, revision_id: int) -> bool:
    """Re-confirm on ``revision_id`` (the current text) after a material change:
    listed and counted again, with a receipt for the new text. Locks the
    letter, then the signature."""
    letter = _lock_letter(signatures__pk=signature_id)
    signature = Signature.objects.select_for_update().get(pk=signature_id)
    signature.letter = letter
    if revision_id != letter.current_revision_id:
        raise _text_changed_error()
    now = timezone.now()
    updated = Signature.objects.filter(
        pk=signature_id, status=Status.NEEDS_RECONFIRMATION
    ).update(
        status=Status.CONFIRMED,
        revision_id=revision_id,
        confirmed_at=now,
        updated_at=now,
    )
    if not updated:
        return False
    signature.refresh_from_db()
    _on_confirmed(signature)
    _queue_email(signature, SignatureEmail.Kind.RECEIPT)
    return True


def _is_before_material_change(signature: Signature) -> bool:
    last = signature.letter.last_material_revision_number or 0
    return signature.revision.number < last


@transaction.atomic
def signature_approve(*, signature: Signature, actor: User) -> bool:
    """Approve an open join. If a material revision came out meanwhile, the
    signer is asked to re-confirm on the new text instead. Locks the letter,
    then the signature."""
    letter = _lock_letter(pk=signature.letter_id)
    signature.refresh_from_db(from_queryset=Signature.objects.select_for_update())
    signature.letter = letter
    stale = _is_before_material_change(signature)
    now = timezone.now()
    updated = Signature.objects.filter(
        pk=signature.pk, status=Status.PENDING_APPROVAL
    ).update(
        status=Status.NEEDS_RECONFIRMATION if stale else Status.CONFIRMED,
        confirmed_at=None if stale else now,
        updated_at=now,
    )
    if not updated:
        return False
    signature.refresh_from_db()
    _audit(signature, "signature.approved", actor=actor)
    if stale:
        _queue_email(
            signature,
            SignatureEmail.Kind.RECONFIRM_REQUEST,
            revision=signature.letter.current_revision,
        )
    else:
        _on_confirmed(signature)
        _queue_email(signature, SignatureEmail.Kind.APPROVED)
    return True


@transaction.atomic
def signature_reject(*, signature: Signature, actor: User, reason: str) -> bool:
    """Take a signature off the letter with a reason the signer is told
    (unless their address was never confirmed: no mail to unproven addresses)."""
    _lock_letter(pk=signature.letter_id)
    locked = Signature.objects.select_for_update().get(pk=signature.pk)
    now = timezone.now()
    updated = Signature.objects.filter(
        pk=signature.pk, status__in=Signature.LIVE_STATUSES
    ).update(status=Status.REJECTED, rejection_reason=reason, updated_at=now)
    if not updated:
        return False
    if locked.status == Status.CONFIRMED:
        _bump_signers_version(locked.letter_id, removed=True)
    _audit(locked, "signature.rejected", actor=actor, reason=reason)
    if locked.status != Status.PENDING and not locked.erased_at:
        _queue_email(locked, SignatureEmail.Kind.REJECTED)
    return True


PUBLIC_DETAILS: Final = (
    "affiliation",
    "city",
    "country",
    "website",
    "consent_listed",
    "consent_logo",
    "consent_updates",
)


@transaction.atomic
def signature_update_public_details(
    *,
    signature_id: int,
    display_name: str,
    affiliation: str = "",
    city: str = "",
    country: str = "",
    website: str = "",
    consent_listed: bool = True,
    consent_logo: bool = False,
    consent_updates: bool = False,
) -> bool:
    """The signer corrects their public details. Everything but the name
    applies at once; a new name waits for the organisers' approval.

    Returns True when a name change is waiting for approval.
    """
    _lock_letter(signatures__pk=signature_id)
    signature = _live_signature(signature_id)
    values: dict[str, Any] = {
        "affiliation": affiliation,
        "city": city,
        "country": country,
        "website": website,
        "consent_listed": consent_listed,
        "consent_logo": consent_logo and signature.kind == Signature.Kind.ORGANISATION,
        "consent_updates": consent_updates,
    }
    changed = [f for f in PUBLIC_DETAILS if getattr(signature, f) != values[f]]
    for field in changed:
        setattr(signature, field, values[field])
    display_name = names.clean_display_name(display_name) or signature.display_name
    requested = "" if display_name == signature.display_name else display_name
    if requested != signature.requested_display_name:
        signature.requested_display_name = requested
        changed.append("requested_display_name")
    if changed:
        signature.save(update_fields=[*changed, "updated_at"])
        _audit(signature, "signature.details_changed", fields=changed)
    if signature.status == Status.CONFIRMED and set(changed) & set(PUBLIC_DETAILS):
        unlisted = "consent_listed" in changed and not consent_listed
        _bump_signers_version(signature.letter_id, removed=unlisted)
    return bool(signature.requested_display_name)


@transaction.atomic
def signature_decide_name_change(
    *, signature: Signature, actor: User, approve: bool
) -> bool:
    """Apply (or drop) the name a signer asked for. Raises ValidationError if
    the new name is that of another organisation on the letter."""
    _lock_letter(pk=signature.letter_id)
    locked = Signature.objects.select_for_update().get(pk=signature.pk)
    new_name = locked.requested_display_name
    if not new_name:
        return False
    if approve:
        locked.display_name = new_name
        locked.sort_name = names.sort_name(new_name)
        locked.normalised_name, locked.skeleton_name = names.name_keys(new_name)
    locked.requested_display_name = ""
    try:
        with transaction.atomic():
            locked.save(
                update_fields=[
                    "display_name",
                    "sort_name",
                    "normalised_name",
                    "skeleton_name",
                    "requested_display_name",
                    "updated_at",
                ]
            )
    except IntegrityError as exc:
        raise ValidationError(
            _("Another signer of this letter already has the name %(name)s.")
            % {"name": new_name},
            code="duplicate",
        ) from exc
    _audit(
        locked,
        "signature.name_approved" if approve else "signature.name_declined",
        actor=actor,
        requested=new_name,
    )
    if approve and locked.status == Status.CONFIRMED:
        _bump_signers_version(locked.letter_id)
    return True


@transaction.atomic
def signature_set_sort_name(
    *, signature: Signature, actor: User, sort_name: str
) -> None:
    """An organiser overrides where a signer sorts ("the the" for The The)."""
    value = names.sort_name(sort_name, strip_article=False) or signature.sort_name
    Signature.objects.filter(pk=signature.pk).update(
        sort_name=value, updated_at=timezone.now()
    )
    _audit(signature, "signature.sort_name_set", actor=actor, sort_name=value)
    if signature.status == Status.CONFIRMED:
        _bump_signers_version(signature.letter_id)


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
    _lock_letter(pk=signature.letter_id)
    locked = Signature.objects.select_for_update().get(pk=signature.pk)
    updated = Signature.objects.filter(pk=signature.pk, erased_at__isnull=True).update(
        **values
    )
    if not updated:
        return False
    _audit(signature, "signature.erased", actor=actor)
    _erase_prospects(locked)
    if signature.kind == Signature.Kind.INDIVIDUAL:
        _erase_name_from_log(locked, values["display_name"])
    if locked.status == Status.CONFIRMED:
        individual = locked.kind == Signature.Kind.INDIVIDUAL
        _bump_signers_version(locked.letter_id, removed=individual)
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
    _audit(
        signature,
        "signature.exported",
        actor=actor,
        by="organiser" if actor else "signer",
    )


@transaction.atomic
def referral_create(
    *,
    signature: Signature,
    organisation: str,
    email: str,
    contact_name: str = "",
    note: str = "",
) -> Prospect:
    """A prospect suggested by a signer ("who else should sign?"), credited to
    them. Raises ValidationError if the address is already on the list, or the
    signature is off the letter (code ``not_live``)."""
    _live_signature(signature.pk)
    try:
        with transaction.atomic():
            return Prospect.objects.create(
                letter_id=signature.letter_id,
                organisation=" ".join(organisation.split()),
                contact_name=contact_name,
                email=email.strip().lower(),
                notes=note,
                referred_by=signature,
            )
    except IntegrityError as exc:
        raise ValidationError(
            _("%(email)s is already on the organisers' list. Thank you all the same!")
            % {"email": email},
            code="duplicate",
        ) from exc


@transaction.atomic
def change_request_create(
    *,
    revision: Revision,
    anchor: str,
    text: str,
    signature: Signature | None = None,
    prospect: Prospect | None = None,
) -> ChangeRequest:
    """'We would sign if…': a request anchored to a point or a paragraph.
    Refused (code ``not_live``) from a signature that is off the letter."""
    if signature is not None:
        _live_signature(signature.pk)
    if anchor not in dict(revision_anchors(revision=revision)):
        raise ValidationError(
            {"anchor": _("Please choose a part of the letter.")}, code="anchor"
        )
    return ChangeRequest.objects.create(
        letter_id=revision.letter_id,
        revision=revision,
        anchor=anchor,
        text=text,
        signature=signature,
        prospect=prospect,
    )


@transaction.atomic
def prospect_mark_opened(*, prospect_id: int) -> bool:
    """A person acted on the invitation page (touched it, or pressed its sign
    or decline button); never called for a GET, which mail scanners make.
    Moves invited (or not yet answered) prospects to opened; never moves one
    that has answered."""
    now = timezone.now()
    Prospect.objects.filter(pk=prospect_id, opened_at__isnull=True).update(
        opened_at=now
    )
    return bool(
        Prospect.objects.filter(
            pk=prospect_id,
            status__in=[
                Prospect.Status.IDENTIFIED,
                Prospect.Status.INVITED,
                Prospect.Status.NO_RESPONSE,
            ],
        ).update(status=Prospect.Status.OPENED, updated_at=now)
    )


@transaction.atomic
def prospect_decline(
    *,
    prospect_id: int,
    reason: str = "",
    anchor: str = "general",
    change: str = "",
) -> bool:
    """The invitee pressed "We won't sign", with an optional reason and an
    optional change that would make them sign: the page was opened, too.
    False if already answered."""
    prospect = Prospect.objects.select_related("letter").get(pk=prospect_id)
    now = timezone.now()
    updated = (
        Prospect.objects.filter(pk=prospect_id)
        .exclude(
            status__in=[
                Prospect.Status.SIGNED,
                Prospect.Status.DECLINED,
                Prospect.Status.DO_NOT_CONTACT,
            ]
        )
        .update(
            status=Prospect.Status.DECLINED,
            decline_reason=reason,
            opened_at=Coalesce("opened_at", Value(now)),
            updated_at=now,
        )
    )
    revision = prospect.letter.current_revision
    if updated and change.strip() and revision is not None:
        change_request_create(
            revision=revision, anchor=anchor, text=change, prospect=prospect
        )
    return bool(updated)


@transaction.atomic
def signatures_on_new_revision(*, revision: Revision) -> None:
    """Called by ``letters.services`` inside the transaction that publishes
    ``revision`` (number 2 or later).

    Editorial: earlier confirmed signers stay confirmed and are sent a notice
    with the diff and a withdraw link. Material: live signatures on earlier
    revisions move to needs_reconfirmation (no longer listed or counted) and
    are sent the diff and a re-confirm link. Locks the affected rows.
    """
    letter_id = revision.letter_id
    earlier = Signature.objects.filter(
        letter_id=letter_id, revision__number__lt=revision.number
    )
    if revision.kind == Revision.Kind.MATERIAL:
        Letter.objects.filter(pk=letter_id).filter(
            Q(last_material_revision_number__isnull=True)
            | Q(last_material_revision_number__lt=revision.number)
        ).update(last_material_revision_number=revision.number)
        affected = list(
            earlier.select_for_update().filter(
                status__in=[Status.CONFIRMED, Status.NEEDS_RECONFIRMATION]
            )
        )
        moved = earlier.filter(
            pk__in=[s.pk for s in affected], status=Status.CONFIRMED
        ).update(status=Status.NEEDS_RECONFIRMATION, updated_at=timezone.now())
        if moved:
            _bump_signers_version(letter_id, removed=True)
        kind = SignatureEmail.Kind.RECONFIRM_REQUEST
    elif revision.kind == Revision.Kind.EDITORIAL:
        affected = list(earlier.filter(status=Status.CONFIRMED))
        kind = SignatureEmail.Kind.EDITORIAL_NOTICE
    else:
        return
    for signature in affected:
        if not signature.erased_at:
            _queue_email(signature, kind, revision=revision)


def signature_email_send(*, email_id: int) -> bool:
    """Send one recorded email, at most once.

    Not atomic on purpose: the row is claimed with a conditional UPDATE that
    commits before talking to the SMTP server, released if sending raises (so
    the task's retry can claim it again) and marked sent afterwards. A claim
    older than EMAIL_CLAIM_TIMEOUT (a worker killed mid-send) is claimed again.
    Returns False when there was nothing to send.
    """
    now = timezone.now()
    claimed = (
        SignatureEmail.objects.filter(pk=email_id, sent_at__isnull=True)
        .filter(
            Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - EMAIL_CLAIM_TIMEOUT)
        )
        .update(claimed_at=now, attempts=F("attempts") + 1)
    )
    if not claimed:
        return False
    email = SignatureEmail.objects.select_related(
        "revision", "signature__revision", "signature__letter__current_revision"
    ).get(pk=email_id)
    if email.signature.erased_at:
        return False
    try:
        send_message(signature_email_message(email))
    except Exception:
        SignatureEmail.objects.filter(pk=email_id).update(claimed_at=None)
        raise
    SignatureEmail.objects.filter(pk=email_id).update(sent_at=timezone.now())
    return True


def signature_emails_requeue(*, now: datetime) -> int:
    """Queue the send task again for signer emails whose task was lost; beat
    runs this every minute. Returns how many were queued.

    The task message is the only trace of an email outside the database: a
    broker restarted empty (or a worker killed mid-send, its message gone with
    the broker) leaves the row unsent with no one to send it. An email still
    unsent SIGNATURE_EMAIL_RETRY_AFTER after it was recorded (twice as long for
    each attempt so far), with attempts left and no live claim, is queued
    again. A task that was only late finds it claimed and sends nothing.
    """
    from signers.tasks import signature_email_send_task

    wait = timedelta(seconds=settings.SIGNATURE_EMAIL_RETRY_AFTER)
    due = Q()
    for attempts in range(DELIVERY_MAX_ATTEMPTS):
        due |= Q(attempts=attempts, created_at__lt=now - wait * 2**attempts)
    free = Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - EMAIL_CLAIM_TIMEOUT)
    ids = list(
        SignatureEmail.objects.filter(due, free, sent_at__isnull=True)
        .filter(
            created_at__gte=now - wait * 2**DELIVERY_MAX_ATTEMPTS,
            signature__erased_at__isnull=True,
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:SIGNATURE_EMAIL_REQUEUE_LIMIT]
    )
    for pk in ids:
        signature_email_send_task.delay(pk)
    return len(ids)


def signatures_expire_pending(*, now: datetime) -> int:
    """Unconfirmed signatures past SIGNERS_PENDING_EXPIRY_HOURS expire; beat
    runs this every few minutes (signing checks the time itself, so a late run
    lets nobody through and blocks nobody). Returns how many expired."""
    return Signature.objects.filter(
        status=Status.PENDING, created_at__lt=Signature.pending_expiry_cutoff(now)
    ).update(status=Status.EXPIRED, updated_at=now)


@transaction.atomic
def signature_status_send(*, letter: Letter, email: str) -> bool:
    """Email ``email`` where its live signature on ``letter`` stands, with the
    links for what it may do next: the answer to "this address has already
    signed", which must not show the signature to whoever typed the address.

    Nothing happens (False) when the address has no live signature, or was
    sent its status less than STATUS_EMAIL_INTERVAL ago; the caller answers
    the same either way, so the form tells nobody anything.
    """
    from signers.tasks import signature_email_send_task

    now = timezone.now()
    signature = (
        Signature.objects.filter(
            letter=letter,
            email=names.clean_email(email),
            status__in=Signature.LIVE_STATUSES,
        )
        .exclude(
            status=Status.PENDING, created_at__lt=Signature.pending_expiry_cutoff(now)
        )
        .select_for_update()
        .first()
    )
    if signature is None:
        return False
    row, created = SignatureEmail.objects.get_or_create(
        signature=signature,
        kind=SignatureEmail.Kind.STATUS,
        revision_id=signature.revision_id,
    )
    # One row per signature and revision: asking again after the interval
    # sends it again.
    if not created and not SignatureEmail.objects.filter(
        pk=row.pk, sent_at__lt=now - STATUS_EMAIL_INTERVAL
    ).update(sent_at=None, claimed_at=None, attempts=0, created_at=now):
        return False
    signature_email_send_task.delay_on_commit(row.pk)
    return True


# --- Outreach: prospects, invitations and the delivery machinery -----------------
#
# Every email to a prospect, signer or organiser about a letter's outreach is a
# Delivery row with a unique key. Senders claim a row (a conditional UPDATE,
# after SELECT ... FOR UPDATE SKIP LOCKED for a chunk) before sending, and mark
# it sent afterwards, so a retry, a crash or two dispatchers never send twice.

logger = logging.getLogger(__name__)

DELIVERY_MAX_ATTEMPTS = int(EMAIL_RETRY_POLICY["max_retries"]) + 1


def _audit_letter(
    letter: Letter, actor: User | None, action: str, **detail: object
) -> None:
    AuditEvent.objects.create(letter=letter, actor=actor, action=action, detail=detail)


class ProspectFields(TypedDict, total=False):
    """What an organiser can set on a prospect (the form's fields)."""

    organisation: Required[str]
    email: Required[str]
    contact_name: str
    notes: str
    is_large: bool
    owner: User | None
    status: str
    next_follow_up: date | None


def _check_address_free(letter: Letter, email: str, prospect_pk: int | None) -> None:
    taken = Prospect.objects.filter(letter=letter, email__iexact=email)
    if prospect_pk is not None:
        taken = taken.exclude(pk=prospect_pk)
    if taken.exists():
        raise ValidationError({"email": _("This address is already on the list.")})


@transaction.atomic
def prospect_create(*, letter: Letter, **fields: Unpack[ProspectFields]) -> Prospect:
    """Add a prospect; raises ValidationError if the address is already listed."""
    prospect = prospect_update(prospect=Prospect(letter=letter), **fields)
    matching.propose_for_prospects([prospect])
    return prospect


@transaction.atomic
def prospect_update(
    *, prospect: Prospect, **fields: Unpack[ProspectFields]
) -> Prospect:
    """Save an organiser's changes. Marking a prospect invited by hand (they were
    asked some other way) starts their reminders."""
    values: dict[str, object] = {**fields}
    values["email"] = fields["email"].strip().lower()
    values["organisation"] = fields["organisation"].strip()
    values["contact_name"] = fields.get("contact_name", "").strip()
    _check_address_free(prospect.letter, str(values["email"]), prospect.pk)
    for name, value in values.items():
        setattr(prospect, name, value)
    if prospect.status in reminders.AWAITING_ANSWER and prospect.invited_at is None:
        prospect.invited_at = timezone.now()
    prospect.save()
    return prospect


@transaction.atomic
def prospects_import(*, letter: Letter, data: bytes, actor: User | None) -> int:
    """Import every row of a prospect CSV, or none.

    Duplicates (already listed, or repeated in the file) are left out; any error
    raises ValidationError and nothing is written.
    """
    preview = selectors.prospect_import_preview(letter=letter, data=data)
    if preview.errors:
        raise ValidationError(_("The file has errors; nothing was imported."))
    prospects = [
        Prospect(
            letter=letter,
            organisation=row.organisation,
            contact_name=row.contact_name,
            email=row.email,
            notes=row.notes,
            is_large=row.is_large,
            owner=preview.owners.get(row.owner.lower()) if row.owner else None,
        )
        for row in preview.rows
    ]
    try:
        with transaction.atomic():
            Prospect.objects.bulk_create(prospects, batch_size=500)
    except IntegrityError as exc:
        raise ValidationError(
            _("Someone added some of these addresses meanwhile. Upload the file again.")
        ) from exc
    matching.propose_for_prospects(prospects)
    _audit_letter(letter, actor, "prospects.imported", count=len(prospects))
    return len(prospects)


@transaction.atomic
def reminder_schedule_update(
    *,
    letter: Letter,
    actor: User | None,
    soft_days_before: list[int],
    announce_hard_deadline: bool,
    last_call_days_before: int | None,
    confirm_after_days: int | None,
    reconfirm_after_days: int | None,
    digest_enabled: bool,
    digest_hour: int,
) -> ReminderSchedule:
    """Save the letter's schedule; the dispatcher plans from it on its next run."""
    schedule, _created = ReminderSchedule.objects.update_or_create(
        letter=letter,
        defaults={
            "soft_days_before": sorted(set(soft_days_before), reverse=True),
            "announce_hard_deadline": announce_hard_deadline,
            "last_call_days_before": last_call_days_before,
            "confirm_after_days": confirm_after_days,
            "reconfirm_after_days": reconfirm_after_days,
            "digest_enabled": digest_enabled,
            "digest_hour": digest_hour,
        },
    )
    _audit_letter(letter, actor, "reminders.schedule_changed")
    return schedule


@transaction.atomic
def invitations_send(
    *, letter: Letter, actor: User | None, prospect_ids: list[int] | None = None
) -> InvitationBatch | None:
    """Plan one invitation per prospect (all invitable ones if ``prospect_ids`` is
    None) and queue the batch after commit.

    The key of an invitation is per prospect, so a second press (a double click,
    or two organisers at once) plans nothing new and returns None.
    """
    now = timezone.now()
    if not reminders.letter_accepts_invitations(letter, now=now):
        raise ValidationError(
            _(
                "Invitations can be sent while the letter is circulating or "
                "published, has a revision to sign, and signing has not closed."
            )
        )
    prospects = reminders.invitable_prospects(letter).exclude(
        pk__in=reminders.invited_ids(letter)
    )
    if prospect_ids is not None:
        prospects = prospects.filter(pk__in=prospect_ids)
    # Partners added since the prospects were.
    matching.propose_for_prospects(list(prospects))
    batch = InvitationBatch.objects.create(letter=letter, created_by=actor)
    rows = []
    for prospect in prospects:
        delivery = reminders.new_delivery(
            letter=letter,
            kind=Delivery.Kind.INVITATION,
            basis="once",
            due_at=now,
            prospect=prospect,
        )
        delivery.batch = batch
        rows.append(delivery)
    Delivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    count = batch.deliveries.count()
    if not count:
        batch.delete()
        return None
    _audit_letter(letter, actor, "invitations.queued", count=count, batch=batch.pk)
    from signers.tasks import invitation_batch_send_task

    invitation_batch_send_task.delay_on_commit(batch.pk)  # type: ignore[attr-defined]
    return batch


def invitation_batch_fan_out(*, batch_id: int) -> int:
    """Queue one send task per delivery of the batch still planned.

    Safe to run again: a delivery already claimed or sent is left alone by its
    task, and the dispatcher picks up any whose task was lost.
    """
    from signers.tasks import delivery_send_task

    ids = list(
        Delivery.objects.filter(
            batch_id=batch_id, status=Delivery.Status.PLANNED
        ).values_list("pk", flat=True)
    )
    for pk in ids:
        delivery_send_task.delay_on_commit(pk)
    return len(ids)


@transaction.atomic
def delivery_unsubscribe(*, delivery: Delivery) -> bool:
    """Stop everything about the letter to this address. False if already done."""
    email = delivery.email.lower()
    _suppression, created = Suppression.objects.get_or_create(
        letter=delivery.letter,
        email=email,
        defaults={"reason": Suppression.Reason.UNSUBSCRIBED},
    )
    # They asked not to be contacted: the organisers see it on the list.
    Prospect.objects.filter(
        letter=delivery.letter,
        email__iexact=email,
        status__in=[*reminders.INVITABLE, *reminders.AWAITING_ANSWER],
    ).update(status=Prospect.Status.DO_NOT_CONTACT)
    # And no more updates: the organisers see the consent withdrawn.
    Signature.objects.filter(
        letter=delivery.letter, email__iexact=email, consent_updates=True
    ).update(consent_updates=False, updated_at=timezone.now())
    return created


# --- Sending one claimed delivery ---------------------------------------------


def delivery_claim(*, delivery_id: int, claimer: str, now: datetime) -> Delivery | None:
    """Claim one planned delivery for ``claimer``; None if someone else has it.

    A task redelivered after its worker died carries the same ``claimer`` (its
    task id) and so takes back the row it had claimed.
    """
    mine = Q(status=Delivery.Status.PLANNED) | Q(
        status=Delivery.Status.CLAIMED, claimed_by=claimer
    )
    claimed = (
        Delivery.objects.filter(pk=delivery_id)
        .filter(mine)
        .update(
            status=Delivery.Status.CLAIMED,
            claimed_by=claimer,
            claimed_at=now,
            attempts=F("attempts") + 1,
        )
    )
    if not claimed:
        return None
    return _with_relations(Delivery.objects.filter(pk=delivery_id)).get()


def _with_relations(deliveries: QuerySet[Delivery]) -> QuerySet[Delivery]:
    return deliveries.select_related(
        "letter__current_revision", "letter__reminder_schedule", "prospect", "signature"
    ).select_related("user", "update", "call__letter")


def deliveries_claim_due(*, now: datetime, claimer: str, limit: int) -> list[Delivery]:
    """Claim up to ``limit`` due deliveries that no one else is sending."""
    due = Delivery.objects.filter(
        status=Delivery.Status.PLANNED, due_at__lte=now
    ).order_by("due_at", "id")
    claim = {
        "status": Delivery.Status.CLAIMED,
        "claimed_by": claimer,
        "claimed_at": now,
        "attempts": F("attempts") + 1,
    }
    if connection.features.has_select_for_update_skip_locked:
        with transaction.atomic():
            unlocked = due.select_for_update(skip_locked=True)
            ids = list(unlocked.values_list("pk", flat=True)[:limit])
            Delivery.objects.filter(pk__in=ids, status=Delivery.Status.PLANNED).update(
                **claim
            )
    else:
        # SQLite: one UPDATE takes the write lock at once, where a read followed
        # by a write would fail with "database is locked" beside another writer.
        Delivery.objects.filter(
            pk__in=due.values("pk")[:limit], status=Delivery.Status.PLANNED
        ).update(**claim)
    return list(
        _with_relations(
            Delivery.objects.filter(status=Delivery.Status.CLAIMED, claimed_by=claimer)
        ).order_by("due_at", "id")
    )


def _delivery_message(delivery: Delivery) -> EmailMultiAlternatives | None:
    """The email for a claimed delivery; None when there is nothing to say."""
    K = Delivery.Kind
    kind = delivery.kind
    if kind == K.INVITATION and delivery.prospect:
        return emails.invitation_message(
            prospect=delivery.prospect, headers=emails.delivery_headers(delivery)
        )
    if kind in reminders.PROSPECT_KINDS and delivery.prospect:
        return emails.deadline_reminder_message(
            delivery=delivery, prospect=delivery.prospect
        )
    if kind == K.CONFIRM_REMINDER and delivery.signature:
        return emails.confirm_reminder_message(
            delivery=delivery, signature=delivery.signature
        )
    if kind == K.RECONFIRM_REMINDER and delivery.signature:
        return emails.reconfirm_reminder_message(
            delivery=delivery, signature=delivery.signature
        )
    if kind == K.SIGNING_CLOSED:
        counts = selectors.signature_counts(letter=delivery.letter)
        return emails.signing_closed_message(delivery=delivery, counts=counts)
    if kind == K.DIGEST:
        follow_ups, new_signatures = selectors.digest_content(
            letter=delivery.letter, due_at=delivery.due_at
        )
        if not follow_ups and not new_signatures:
            return None
        return emails.digest_message(
            delivery=delivery, follow_ups=follow_ups, new_signatures=new_signatures
        )
    if kind in communications.KINDS:
        return _communication_message(delivery)
    return None


def _communication_message(delivery: Delivery) -> EmailMultiAlternatives | None:
    K = Delivery.Kind
    kind = delivery.kind
    if kind in (K.UPDATE, K.UPDATE_TEST) and delivery.update:
        return emails.update_message(delivery=delivery, update=delivery.update)
    if kind == K.SIGNER_LIST:
        sections = selectors.signature_sections_public(letter=delivery.letter)
        count = selectors.signature_count_public(letter=delivery.letter)
        return emails.signer_list_message(
            delivery=delivery, sections=sections, count=count
        )
    if kind == K.REISSUE_OPT_IN and delivery.signature:
        opt_in = (
            ReissueOptIn.objects.filter(
                reissue__letter=delivery.letter, earlier=delivery.signature
            )
            .select_related("reissue__source")
            .first()
        )
        if opt_in is None:
            return None
        return emails.reissue_opt_in_message(delivery=delivery, opt_in=opt_in)
    call = delivery.call
    if call is None:
        return None
    invitation = call.invitations.filter(email=delivery.email.lower()).first()
    build = {
        K.CALL_INVITATION: emails.call_invitation_message,
        K.CALL_REMINDER: emails.call_reminder_message,
        K.CALL_NOTES: emails.call_notes_message,
    }[K(kind)]
    return build(delivery=delivery, call=call, invitation=invitation)


def _finish(delivery: Delivery, claimer: str, **fields: object) -> bool:
    return bool(
        Delivery.objects.filter(
            pk=delivery.pk, status=Delivery.Status.CLAIMED, claimed_by=claimer
        ).update(**fields)
    )


@transaction.atomic
def _mark_sent(delivery: Delivery, claimer: str, now: datetime) -> None:
    if not _finish(
        delivery, claimer, status=Delivery.Status.SENT, sent_at=now, last_error=""
    ):
        # Our claim went stale and someone took the row back: it may go twice.
        logger.warning("delivery %s sent after its claim was taken", delivery.pk)
        return
    if delivery.prospect_id and delivery.kind == Delivery.Kind.INVITATION:
        identified = Q(status=Prospect.Status.IDENTIFIED)
        Prospect.objects.filter(pk=delivery.prospect_id).update(
            last_contacted_at=now,
            invited_at=Coalesce("invited_at", Value(now)),
            status=Case(
                When(identified, then=Value(Prospect.Status.INVITED)),
                default=F("status"),
            ),
        )
    elif delivery.prospect_id:
        Prospect.objects.filter(pk=delivery.prospect_id).update(last_contacted_at=now)


def _backoff(attempts: int) -> timedelta:
    base = int(EMAIL_RETRY_POLICY["retry_backoff"])
    cap = int(EMAIL_RETRY_POLICY["retry_backoff_max"])
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), cap))


def _permanent(exc: Exception) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _msg in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500


@dataclass
class SendOutcome:
    status: str
    retry: Exception | None = None  # set when the failure is worth retrying


def _send_claimed(
    delivery: Delivery,
    *,
    claimer: str,
    now: datetime,
    reason: str,
    connection: BaseEmailBackend | None = None,
) -> SendOutcome:
    """Send one delivery this caller has claimed (unless ``reason`` says why
    not), and record what happened."""
    S = Delivery.Status
    message = None if reason else _delivery_message(delivery)
    if message is None:
        _finish(
            delivery,
            claimer,
            status=S.SKIPPED,
            last_error=reason or reminders.NOTHING_TO_SAY,
        )
        return SendOutcome(S.SKIPPED)
    try:
        if connection is None:
            send_message(message)
        else:
            message.connection = connection
            message.send(fail_silently=False)
    except (smtplib.SMTPException, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:1000]
        if _permanent(exc):
            if isinstance(exc, smtplib.SMTPRecipientsRefused):
                Suppression.objects.get_or_create(
                    letter=delivery.letter,
                    email=delivery.email.lower(),
                    defaults={"reason": Suppression.Reason.BOUNCED, "detail": error},
                )
            _finish(delivery, claimer, status=S.FAILED, last_error=error)
            return SendOutcome(S.FAILED)
        if delivery.attempts >= DELIVERY_MAX_ATTEMPTS:
            _finish(delivery, claimer, status=S.FAILED, last_error=error)
            return SendOutcome(S.FAILED)
        # Back to planned, due after the backoff: the task's own retry or the
        # dispatcher, whichever comes first, claims it again.
        _finish(
            delivery,
            claimer,
            status=S.PLANNED,
            claimed_by="",
            due_at=now + _backoff(delivery.attempts),
            last_error=error,
        )
        return SendOutcome(S.PLANNED, retry=exc)
    _mark_sent(delivery, claimer, now)
    return SendOutcome(S.SENT)


def delivery_send(*, delivery_id: int, claimer: str) -> str:
    """Claim and send one delivery; returns its new status, or "" if another
    sender has it or it is done.

    Raises the SMTP error when a retry is worth it (the task retries with
    backoff); permanent failures and exhausted attempts are recorded as failed.
    """
    now = timezone.now()
    delivery = delivery_claim(delivery_id=delivery_id, claimer=claimer, now=now)
    if delivery is None:
        return ""
    reason = reminders.skip_reasons([delivery], now=now)[delivery.pk]
    outcome = _send_claimed(delivery, claimer=claimer, now=now, reason=reason)
    if outcome.retry is not None:
        raise outcome.retry
    return outcome.status


# --- The dispatcher ---------------------------------------------------------------


@dataclass
class DispatchResult:
    reclaimed: int = 0
    planned: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    deferred: int = 0


def deliveries_reclaim_stale(*, now: datetime) -> int:
    """Put back claims older than DELIVERY_CLAIM_TIMEOUT: their sender died."""
    cutoff = now - timedelta(seconds=settings.DELIVERY_CLAIM_TIMEOUT)
    return Delivery.objects.filter(
        status=Delivery.Status.CLAIMED, claimed_at__lt=cutoff
    ).update(status=Delivery.Status.PLANNED, claimed_by="")


def deliveries_plan_due(*, now: datetime) -> int:
    """Insert a row for every reminder due now and not planned yet.

    Inserting ignores key conflicts, so two planners at once create each row
    once; a moved deadline changes the key, which plans the reminder anew.
    """
    planned = 0
    for letter in reminders.active_letters():
        rows = list(reminders.due_deliveries(letter, now=now))
        if rows:
            Delivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
            planned += len(rows)
    # Call reminders and weekly signer lists (signers.communications).
    rows = list(communications.due_deliveries(now=now))
    if rows:
        Delivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
        planned += len(rows)
    return planned


class _Connection:
    """One SMTP connection for a chunk, opened again after a failure."""

    def __init__(self) -> None:
        self.backend = get_connection(fail_silently=False)
        self.opened = False

    def get(self) -> BaseEmailBackend:
        if not self.opened:
            self.backend.open()
            self.opened = True
        return self.backend

    def reset(self) -> None:
        try:
            self.backend.close()
        except Exception:  # a broken connection may fail to close as well
            logger.debug("closing a broken SMTP connection failed", exc_info=True)
        self.opened = False


def deliveries_dispatch(
    *, now: datetime | None = None, budget_seconds: float | None = None
) -> DispatchResult:
    """Plan what is due and send it, chunk by chunk, until none is left or the
    time budget is spent. Runs every minute from beat.

    Two dispatchers at once share the work: each chunk is claimed with
    SELECT ... FOR UPDATE SKIP LOCKED and a conditional UPDATE.
    """
    now = now or timezone.now()
    budget = budget_seconds or settings.DELIVERY_DISPATCH_BUDGET
    result = DispatchResult()
    result.reclaimed = deliveries_reclaim_stale(now=now)
    result.planned = deliveries_plan_due(now=now)
    stop_at = monotonic() + budget
    while monotonic() < stop_at:
        claimer = f"dispatch-{uuid.uuid4().hex}"
        chunk = deliveries_claim_due(
            now=now, claimer=claimer, limit=settings.DELIVERY_CHUNK_SIZE
        )
        if not chunk or not _send_chunk(
            chunk, claimer=claimer, now=now, stop_at=stop_at, result=result
        ):
            break
    return result


def _send_chunk(
    chunk: list[Delivery],
    *,
    claimer: str,
    now: datetime,
    stop_at: float,
    result: DispatchResult,
) -> bool:
    """Send a claimed chunk over one SMTP connection. False when the run should
    stop: the time is spent, or the SMTP server cannot be reached (the rest of
    the chunk goes back to planned without using up an attempt)."""
    connection = _Connection()
    reasons = reminders.skip_reasons(chunk, now=now)
    try:
        for index, delivery in enumerate(chunk):
            backend = None
            if not reasons[delivery.pk]:
                if monotonic() > stop_at:
                    _release(chunk[index:], claimer=claimer, due_at=now, error="")
                    return False
                try:
                    backend = connection.get()
                except (smtplib.SMTPException, OSError) as exc:
                    rest = chunk[index:]
                    error = f"{type(exc).__name__}: {exc}"[:1000]
                    _release(
                        rest, claimer=claimer, due_at=now + _backoff(1), error=error
                    )
                    result.deferred += len(rest)
                    return False
            outcome = _send_claimed(
                delivery,
                claimer=claimer,
                now=now,
                reason=reasons[delivery.pk],
                connection=backend,
            )
            if outcome.retry is not None:
                connection.reset()
            _count(result, outcome)
    finally:
        connection.reset()
    return True


def _release(
    deliveries: list[Delivery], *, claimer: str, due_at: datetime, error: str
) -> None:
    """Give claimed deliveries back untried: they keep their attempts."""
    Delivery.objects.filter(
        pk__in=[d.pk for d in deliveries],
        status=Delivery.Status.CLAIMED,
        claimed_by=claimer,
    ).update(
        status=Delivery.Status.PLANNED,
        claimed_by="",
        attempts=F("attempts") - 1,
        due_at=due_at,
        last_error=error or F("last_error"),
    )


def _count(result: DispatchResult, outcome: SendOutcome) -> None:
    names = {"sent": "sent", "failed": "failed", "skipped": "skipped"}
    field = names.get(str(outcome.status), "deferred")
    setattr(result, field, getattr(result, field) + 1)


# --- Coalition communications: updates, signer lists, calls, re-issue ---------------
#
# Every one of these emails is a Delivery row (kinds in
# signers.communications.KINDS) planned with a unique key and sent by the same
# claim-before-send machinery as the reminders above; a fan-out task queues the
# sends at once and the dispatcher picks up any whose task was lost.


def _queue_planned(deliveries: QuerySet[Delivery]) -> int:
    """Queue one send task per planned, due delivery (idempotent: a delivery
    already claimed or sent is left alone by its task)."""
    from signers.tasks import delivery_send_task

    ids = list(
        deliveries.filter(
            status=Delivery.Status.PLANNED, due_at__lte=timezone.now()
        ).values_list("pk", flat=True)
    )
    for pk in ids:
        delivery_send_task.delay_on_commit(pk)
    return len(ids)


def _plan(rows: list[Delivery]) -> None:
    Delivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)


@transaction.atomic
def update_create(
    *, letter: Letter, actor: User | None, subject: str, body: str, audience: str
) -> Update:
    """A draft update: nothing is sent until ``update_send``."""
    return Update.objects.create(
        letter=letter,
        created_by=actor,
        subject=" ".join(subject.split()),
        body=body.replace("\r\n", "\n"),
        audience=audience,
    )


@transaction.atomic
def update_edit(*, update: Update, subject: str, body: str, audience: str) -> Update:
    """Change a draft; raises ValidationError once it has been sent."""
    updated = Update.objects.filter(pk=update.pk, sent_at__isnull=True).update(
        subject=" ".join(subject.split()),
        body=body.replace("\r\n", "\n"),
        audience=audience,
        updated_at=timezone.now(),
    )
    if not updated:
        raise ValidationError(_("This update has been sent and cannot be changed."))
    update.refresh_from_db()
    return update


def update_limit_error(*, letter: Letter, now: datetime) -> ValidationError | None:
    """The weekly limit's refusal, saying when the next update may go; None
    while under the limit (SIGNERS_UPDATES_PER_WEEK in any seven days)."""
    limit = settings.SIGNERS_UPDATES_PER_WEEK
    sent = list(
        communications.update_rate_window(letter=letter, now=now)
        .order_by("sent_at")
        .values_list("sent_at", flat=True)
    )
    if len(sent) < limit:
        return None
    next_at = sent[len(sent) - limit] + timedelta(days=7)
    with timezone.override(letter.time_zone):
        when = formats.date_format(timezone.localtime(next_at), "l j F, H:i")
    return ValidationError(
        _(
            "This letter has sent %(limit)d updates in the last seven days, the "
            "most allowed, so that signers are not flooded. The next one can go "
            "on %(when)s (%(zone)s time)."
        )
        % {"limit": limit, "when": when, "zone": letter.time_zone},
        code="rate_limited",
    )


@transaction.atomic
def update_send(*, update: Update, actor: User | None) -> int:
    """Send a draft update: one delivery per recipient, queued after commit.

    Locks the letter so two presses (or two organisers) cannot both pass the
    weekly limit; the update is marked sent by a conditional UPDATE, so a second
    press raises "already sent". Raises ValidationError over the limit or with
    nobody to send to. Returns the number of recipients.
    """
    from signers.tasks import update_fan_out_task

    letter = update.letter
    _lock_letter(pk=letter.pk)
    now = timezone.now()
    if Update.objects.filter(pk=update.pk, sent_at__isnull=False).exists():
        raise ValidationError(_("This update has already been sent."), code="sent")
    error = update_limit_error(letter=letter, now=now)
    if error is not None:
        raise error
    rows = communications.update_deliveries(update, now=now)
    if not rows:
        raise ValidationError(
            _("Nobody to send this to yet: no one in this audience can be emailed."),
            code="empty",
        )
    Update.objects.filter(pk=update.pk, sent_at__isnull=True).update(
        sent_at=now, sent_by=actor, updated_at=now
    )
    _plan(rows)
    _audit_letter(letter, actor, "update.sent", update=update.pk, recipients=len(rows))
    update_fan_out_task.delay_on_commit(update.pk)  # type: ignore[attr-defined]
    update.refresh_from_db()
    return len(rows)


def update_fan_out(*, update_id: int) -> int:
    """Queue the sends of an update's planned deliveries (safe to run again)."""
    return _queue_planned(Delivery.objects.filter(update_id=update_id))


@transaction.atomic
def update_send_test(*, update: Update, actor: User) -> Delivery:
    """Send the update to ``actor`` alone, marked as a test; any number of
    times, none counting toward the weekly limit."""
    now = timezone.now()
    delivery = reminders.new_delivery(
        letter=update.letter,
        kind=Delivery.Kind.UPDATE_TEST,
        basis=f"{communications.update_basis(update)}/test/{now.isoformat()}",
        due_at=now,
        user=actor,
    )
    delivery.update = update
    delivery.save()
    _queue_planned(Delivery.objects.filter(pk=delivery.pk))
    return delivery


@transaction.atomic
def signer_list_digest_set(
    *, letter: Letter, actor: User | None, frequency: str
) -> ReminderSchedule:
    """Turn the weekly signer list on ("weekly") or off ("off")."""
    schedule, _created = ReminderSchedule.objects.update_or_create(
        letter=letter, defaults={"signer_list_digest": frequency}
    )
    _audit_letter(letter, actor, "signer_list.schedule_changed", frequency=frequency)
    return schedule


# --- Calls ---------------------------------------------------------------------------


def _call_invite_everyone(call: Call, *, now: datetime) -> None:
    """Invite consenting signers and the team (each address once), and plan an
    invitation for each at the call's current start: moving the call sends an
    updated invitation, leaving it where it was sends nothing new."""
    letter = call.letter
    signers = list(communications.consenting_signers(letter))
    emails_ = {s.email.lower() for s in signers}
    team = communications.call_team(letter, exclude_emails=emails_)
    CallInvitation.objects.bulk_create(
        [CallInvitation(call=call, email=s.email.lower(), signature=s) for s in signers]
        + [CallInvitation(call=call, email=u.email.lower(), user=u) for u in team],
        ignore_conflicts=True,
    )
    if call.starts_at <= now:
        return
    basis = communications.call_basis(call)
    invitations = call.invitations.exclude(
        response=CallInvitation.Response.NO
    ).select_related("signature", "user")
    _plan(
        [
            communications.call_delivery(
                call, i, kind=Delivery.Kind.CALL_INVITATION, basis=basis, due_at=now
            )
            for i in invitations
        ]
    )


def _call_fan_out_on_commit(call: Call) -> None:
    from signers.tasks import call_fan_out_task

    call_fan_out_task.delay_on_commit(call.pk)  # type: ignore[attr-defined]


def _call_errors(starts_at: datetime, now: datetime) -> None:
    if starts_at <= now:
        raise ValidationError({"starts_at": _("Choose a time in the future.")})


@transaction.atomic
def call_create(
    *,
    letter: Letter,
    actor: User | None,
    title: str,
    starts_at: datetime,
    duration_minutes: int,
    join_url: str,
    agenda: str = "",
) -> Call:
    """Schedule a call and invite consenting signers and the team (each gets
    an .ics); reminders follow from the dispatcher at 60 and 5 minutes."""
    now = timezone.now()
    _call_errors(starts_at, now)
    call = Call.objects.create(
        letter=letter,
        created_by=actor,
        title=title.strip(),
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        join_url=join_url,
        agenda=agenda.replace("\r\n", "\n"),
    )
    _call_invite_everyone(call, now=now)
    _audit_letter(letter, actor, "call.scheduled", call=call.pk, title=call.title)
    _call_fan_out_on_commit(call)
    return call


@transaction.atomic
def call_update(
    *,
    call: Call,
    actor: User | None,
    title: str,
    starts_at: datetime,
    duration_minutes: int,
    join_url: str,
    agenda: str = "",
) -> Call:
    """Change a call. A new start raises its SEQUENCE and sends everyone an
    updated invitation; reminders planned for the old start are skipped."""
    locked = Call.objects.select_for_update().select_related("letter").get(pk=call.pk)
    now = timezone.now()
    moved = locked.starts_at != starts_at
    if moved:
        _call_errors(starts_at, now)
        locked.sequence += 1
    locked.title = title.strip()
    locked.starts_at = starts_at
    locked.duration_minutes = duration_minutes
    locked.join_url = join_url
    locked.agenda = agenda.replace("\r\n", "\n")
    locked.save()
    if moved:
        _call_invite_everyone(locked, now=now)
        _call_fan_out_on_commit(locked)
    _audit_letter(locked.letter, actor, "call.changed", call=call.pk, moved=moved)
    return locked


def call_fan_out(*, call_id: int) -> int:
    """Queue the sends of a call's planned invitations or notes (idempotent)."""
    return _queue_planned(Delivery.objects.filter(call_id=call_id))


@transaction.atomic
def call_rsvp(*, invitation_id: int, response: str) -> bool:
    """Record yes or no; False if that was already the answer. Refused (code
    ``not_live``) when the invitation went to a signature now off the letter."""
    if response not in (CallInvitation.Response.YES, CallInvitation.Response.NO):
        raise ValidationError(_("Answer yes or no."))
    signature_id = (
        CallInvitation.objects.filter(pk=invitation_id)
        .values_list("signature_id", flat=True)
        .get()
    )
    if signature_id is not None:
        _live_signature(signature_id)
    return bool(
        CallInvitation.objects.filter(pk=invitation_id)
        .exclude(response=response)
        .update(response=response, responded_at=timezone.now())
    )


@transaction.atomic
def call_notes_post(*, call: Call, actor: User | None, notes: str) -> bool:
    """Save the notes after the call; the first time, email them to everyone
    invited (once: later corrections are saved, not re-sent). Returns True when
    this call sent them."""
    now = timezone.now()
    if call.starts_at > now:
        raise ValidationError(_("Notes can be posted once the call has started."))
    if not notes.strip():
        raise ValidationError({"notes": _("Write the notes first.")})
    Call.objects.filter(pk=call.pk).update(
        notes=notes.replace("\r\n", "\n"), updated_at=now
    )
    first = Call.objects.filter(pk=call.pk, notes_sent_at__isnull=True).update(
        notes_sent_at=now
    )
    if not first:
        return False
    call.refresh_from_db()
    invitations = call.invitations.select_related("signature", "user")
    basis = f"call{call.pk}/notes"
    _plan(
        [
            communications.call_delivery(
                call, i, kind=Delivery.Kind.CALL_NOTES, basis=basis, due_at=now
            )
            for i in invitations
        ]
    )
    _audit_letter(call.letter, actor, "call.notes_sent", call=call.pk)
    _call_fan_out_on_commit(call)
    return True


# --- Re-issue ----------------------------------------------------------------------


@transaction.atomic
def letter_reissue(
    *, letter: Letter, actor: User, title: str, addressee: str, slug: str = ""
) -> Letter:
    """Send a closed letter's text again, as a new circulating letter to a new
    addressee, and ask each earlier signer to opt in.

    Nobody is listed on the new letter until they press the opt-in button
    (``reissue_opt_in_accept``). Owner only; raises ValidationError for a letter
    that is not closed or has no revision.
    """
    from letters import services as letters_services

    if selectors.organiser_role(letter=letter, user=actor) != "owner":
        raise PermissionDenied
    revision = letter.current_revision
    if letter.status != Letter.Status.CLOSED or revision is None:
        raise ValidationError(_("Only a closed letter can be re-issued."))
    new = letters_services.letter_create(
        owner=actor,
        title=title,
        slug=slug,
        addressee=addressee,
        body=revision.body,
        points=revision.points,
        time_zone=letter.time_zone,
    )
    letters_services.letter_update_settings(
        letter=new,
        actor=actor,
        reply_to=letter.reply_to,
        signer_kinds=letter.signer_kinds,
    )
    letters_services.revision_publish(
        letter=new,
        author=actor,
        change_note=_("Re-issued from “%(title)s”, revision %(number)d.")
        % {"title": letter.title, "number": revision.number},
    )
    letters_services.letter_start_circulating(letter=new, actor=actor)
    reissue = Reissue.objects.create(source=letter, letter=new, created_by=actor)
    earlier = reminders._not_suppressed(
        Signature.objects.filter(
            letter=letter, status=Status.CONFIRMED, erased_at__isnull=True
        ),
        letter,
    )
    ReissueOptIn.objects.bulk_create(
        [ReissueOptIn(reissue=reissue, earlier=s) for s in earlier]
    )
    now = timezone.now()
    rows = [
        reminders.new_delivery(
            letter=new,
            kind=Delivery.Kind.REISSUE_OPT_IN,
            basis=f"reissue{reissue.pk}",
            due_at=now,
            signature=opt_in.earlier,
        )
        for opt_in in reissue.opt_ins.select_related("earlier")
    ]
    _plan(rows)
    _audit_letter(letter, actor, "letter.reissued", new_letter=new.pk, asked=len(rows))
    _audit_letter(new, actor, "letter.reissued_from", source=letter.pk)
    from signers.tasks import reissue_fan_out_task

    reissue_fan_out_task.delay_on_commit(reissue.pk)  # type: ignore[attr-defined]
    return new


def reissue_fan_out(*, reissue_id: int) -> int:
    """Queue the sends of a re-issue's opt-in requests (idempotent)."""
    reissue = Reissue.objects.get(pk=reissue_id)
    return _queue_planned(
        Delivery.objects.filter(
            letter_id=reissue.letter_id,
            kind=Delivery.Kind.REISSUE_OPT_IN,
            basis=f"reissue{reissue.pk}",
        )
    )


@transaction.atomic
def reissue_opt_in_accept(*, opt_in_id: int) -> Signature | None:
    """The earlier signer pressed "Add us": sign the new letter's current
    revision with the details and consents they gave before, confirmed (the
    link proves the address) and with a receipt. None if already done; raises
    ValidationError (and records nothing) if the new letter takes no
    signatures now, they have signed it some other way, or the earlier
    signature has been withdrawn, rejected or erased since."""
    _lock_letter(reissued_from__opt_ins__pk=opt_in_id)
    opt_in = (
        ReissueOptIn.objects.select_for_update()
        .select_related("reissue__letter", "earlier")
        .get(pk=opt_in_id)
    )
    if opt_in.opted_in_at is not None:
        return None
    letter, earlier = opt_in.reissue.letter, opt_in.earlier
    _live_signature(earlier.pk)
    prospect, _created = Prospect.objects.get_or_create(
        letter=letter,
        email=earlier.email.lower(),
        defaults={
            "organisation": earlier.display_name,
            "contact_name": earlier.contact_name,
            "notes": _("Signed the earlier letter; opted in to this one."),
        },
    )
    signature = signature_create(
        letter=letter,
        revision_id=letter.current_revision_id or 0,
        source=Source.INVITATION,
        display_name=earlier.display_name,
        email=earlier.email,
        kind=earlier.kind,
        affiliation=earlier.affiliation,
        city=earlier.city,
        country=earlier.country,
        website=earlier.website,
        contact_name=earlier.contact_name,
        contact_title=earlier.contact_title,
        phone=earlier.phone,
        consent_listed=earlier.consent_listed,
        consent_updates=earlier.consent_updates,
        consent_logo=earlier.consent_logo,
        attested=earlier.attested,
        prospect=prospect,
    )
    ReissueOptIn.objects.filter(pk=opt_in.pk).update(
        opted_in_at=timezone.now(), signature=signature
    )
    return signature
