"""Writes for signatures: signing, confirming, withdrawing, moderation, details.

Every state change is a conditional UPDATE on the status it starts from, so a
second click (or a mail scanner, or a race) finds the work done and the service
returns False instead of acting twice. Emails are rows in the outbox
(``coalition.outbox``), sent by its dispatcher once the transaction commits;
nothing here talks to an SMTP server.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Final

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from coalition.models import User
from coalition.outbox.models import OutboxMessage
from coalition.outbox.services import outbox_enqueue
from coalition.text import before_full_stop
from letters.audit import Action, audit_record
from letters.models import Letter, Revision
from signers import names
from signers.importing import IMPORT_PROGRESS_EVERY, ImportRow, SignatureImportError
from signers.models import (
    EmailKind,
    Signature,
)
from signers.partners import matching
from signers.selectors.signatures import (
    VIA_INVITATION,
    VIA_OPEN_JOIN,
    signing_closed_reason,
)
from signers.services.common import (
    Source,
    Status,
    bump_signers_version,
    live_signature,
    lock_letter,
    on_confirmed,
    on_withdrawn,
    text_changed_error,
)
from signers.services.sending import queue_signature_email, signature_email_key
from signers.services.signing import signature_create

# An address is sent its signature's status on request at most this often.
STATUS_EMAIL_INTERVAL: Final = timedelta(hours=1)


@transaction.atomic
def signature_import(
    *,
    letter: Letter,
    rows: list[ImportRow],
    actor: User | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Import signers (confirmed on the current revision, no email), all rows
    or none: else SignatureImportError with every line's problems (organisations
    that signed too). Returns the count; ``progress`` hears the rows done."""
    letter = lock_letter(pk=letter.pk)
    revision = letter.current_revision
    if revision is None:
        raise SignatureImportError(
            {1: [_("The letter has no published revision to sign yet.")]}
        )
    errors = {row.line: list(row.errors) for row in rows if row.errors}
    common: dict[str, Any] = {
        "letter": letter,
        "revision_id": revision.pk,
        "source": Source.IMPORT,
    }
    for done, row in enumerate(rows, 1):
        if not row.errors:
            try:
                signature_create(**common, **row.fields)
            except ValidationError as exc:
                errors.setdefault(row.line, []).extend(exc.messages)
        if progress is not None and done % IMPORT_PROGRESS_EVERY == 0:
            progress(done)
    if errors:
        raise SignatureImportError(errors)
    audit_record(letter, actor, Action.SIGNATURES_IMPORTED, count=len(rows))
    return len(rows)


@transaction.atomic
def signature_confirm(*, signature_id: int, revision_id: int) -> bool:
    """The signer clicked the button behind their confirmation link.

    Binds the signature to ``revision_id`` (the text the page showed, which must
    still be current). Open joins on a letter that needs approval wait for
    the organisers. Returns False if it was not pending any more. Locks the
    letter, then the signature.
    """
    letter = lock_letter(signatures__pk=signature_id)
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
        raise text_changed_error()
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
        on_confirmed(signature)
        queue_signature_email(signature, EmailKind.RECEIPT)
    # Proven now: the partners it might be are proposed (not at sign-up).
    matching.propose_for_signature(signature)
    return True


@transaction.atomic
def signature_withdraw(*, signature_id: int) -> bool:
    """Withdraw at once; the row stays, with status withdrawn. The signer gets
    a confirmation; organisers see it in the audit log. False if already off
    the letter."""
    lock_letter(signatures__pk=signature_id)
    signature = Signature.objects.select_for_update().get(pk=signature_id)
    was_listed = signature.status == Status.CONFIRMED
    now = timezone.now()
    updated = Signature.objects.filter(
        pk=signature_id, status__in=Signature.LIVE_STATUSES
    ).update(status=Status.WITHDRAWN, withdrawn_at=now, updated_at=now)
    if not updated:
        return False
    if was_listed:
        bump_signers_version(signature.letter_id, removed=True)
    on_withdrawn(signature)
    audit_record(
        signature, None, Action.SIGNATURE_WITHDRAWN, previous_status=signature.status
    )
    queue_signature_email(signature, EmailKind.WITHDRAWN)
    return True


@transaction.atomic
def signature_reconfirm(*, signature_id: int, revision_id: int) -> bool:
    """Re-confirm on ``revision_id`` (the current text) after a material change:
    listed and counted again, with a receipt for the new text. Locks the
    letter, then the signature."""
    letter = lock_letter(signatures__pk=signature_id)
    signature = Signature.objects.select_for_update().get(pk=signature_id)
    signature.letter = letter
    if revision_id != letter.current_revision_id:
        raise text_changed_error()
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
    on_confirmed(signature)
    queue_signature_email(signature, EmailKind.RECEIPT)
    return True


def _is_before_material_change(signature: Signature) -> bool:
    last = signature.letter.last_material_revision_number or 0
    return signature.revision.number < last


@transaction.atomic
def signature_approve(*, signature: Signature, actor: User) -> bool:
    """Approve an open join. If a material revision came out meanwhile, the
    signer is asked to re-confirm on the new text instead. Locks the letter,
    then the signature."""
    letter = lock_letter(pk=signature.letter_id)
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
    audit_record(signature, actor, Action.SIGNATURE_APPROVED)
    if stale:
        queue_signature_email(
            signature,
            EmailKind.RECONFIRM_REQUEST,
            revision=signature.letter.current_revision,
        )
    else:
        on_confirmed(signature)
        queue_signature_email(signature, EmailKind.APPROVED)
    return True


@transaction.atomic
def signature_reject(*, signature: Signature, actor: User, reason: str) -> bool:
    """Take a signature off the letter with a reason the signer is told
    (unless their address was never confirmed: no mail to unproven addresses)."""
    lock_letter(pk=signature.letter_id)
    locked = Signature.objects.select_for_update().get(pk=signature.pk)
    now = timezone.now()
    updated = Signature.objects.filter(
        pk=signature.pk, status__in=Signature.LIVE_STATUSES
    ).update(status=Status.REJECTED, rejection_reason=reason, updated_at=now)
    if not updated:
        return False
    if locked.status == Status.CONFIRMED:
        bump_signers_version(locked.letter_id, removed=True)
    audit_record(locked, actor, Action.SIGNATURE_REJECTED, reason=reason)
    if locked.status != Status.PENDING and not locked.erased_at:
        queue_signature_email(locked, EmailKind.REJECTED)
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
    lock_letter(signatures__pk=signature_id)
    signature = live_signature(signature_id)
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
        audit_record(signature, None, Action.SIGNATURE_DETAILS_CHANGED, fields=changed)
    if signature.status == Status.CONFIRMED and set(changed) & set(PUBLIC_DETAILS):
        unlisted = "consent_listed" in changed and not consent_listed
        logo_hidden = "consent_logo" in changed and not values["consent_logo"]
        bump_signers_version(signature.letter_id, removed=unlisted or logo_hidden)
    return bool(signature.requested_display_name)


def _save_name(locked: Signature, name: str) -> None:
    """Give the locked signature ``name``, with the sort name and duplicate
    keys that go with it, and drop any name its signer asked for. Raises
    ValidationError if another live signature of the letter has that name."""
    locked.display_name = name
    locked.sort_name = names.sort_name(name)
    locked.normalised_name, locked.skeleton_name = names.name_keys(name)
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
            % {"name": before_full_stop(name)},
            code="duplicate",
        ) from exc


@transaction.atomic
def signature_decide_name_change(
    *, signature: Signature, actor: User, approve: bool
) -> bool:
    """Apply (or drop) the name a signer asked for. Raises ValidationError if
    the new name is that of another organisation on the letter."""
    lock_letter(pk=signature.letter_id)
    locked = Signature.objects.select_for_update().get(pk=signature.pk)
    new_name = locked.requested_display_name
    if not new_name:
        return False
    if approve:
        _save_name(locked, new_name)
    else:
        locked.requested_display_name = ""
        locked.save(update_fields=["requested_display_name", "updated_at"])
    audit_record(
        locked,
        actor,
        Action.SIGNATURE_NAME_APPROVED if approve else Action.SIGNATURE_NAME_DECLINED,
        requested=new_name,
    )
    if approve and locked.status == Status.CONFIRMED:
        bump_signers_version(locked.letter_id)
    return True


@transaction.atomic
def signature_rename(*, signature: Signature, actor: User, display_name: str) -> bool:
    """Site staff rename a signer (abuse handling, support): the sort name and
    duplicate keys follow, the log says who did it, and no page or PDF with
    the old name is served again. Returns False if the name is unchanged.
    Raises ValidationError for an empty name or one another signer has."""
    lock_letter(pk=signature.letter_id)
    locked = Signature.objects.select_for_update().get(pk=signature.pk)
    name = names.clean_display_name(display_name)
    if not name:
        raise ValidationError(_("A signer needs a name."), code="required")
    previous = locked.display_name
    if name == previous:
        return False
    _save_name(locked, name)
    audit_record(locked, actor, Action.SIGNATURE_RENAMED, previous=previous)
    if locked.status == Status.CONFIRMED:
        bump_signers_version(locked.letter_id, removed=True)
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
    audit_record(signature, actor, Action.SIGNATURE_SORT_NAME_SET, sort_name=value)
    if signature.status == Status.CONFIRMED:
        bump_signers_version(signature.letter_id)


@transaction.atomic
def signatures_on_new_revision(*, revision: Revision) -> None:
    """Called through ``letters.hooks`` inside the transaction that publishes
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
            bump_signers_version(letter_id, removed=True)
        kind = EmailKind.RECONFIRM_REQUEST
    elif revision.kind == Revision.Kind.EDITORIAL:
        affected = list(earlier.filter(status=Status.CONFIRMED))
        kind = EmailKind.EDITORIAL_NOTICE
    else:
        return
    for signature in affected:
        if not signature.erased_at:
            queue_signature_email(signature, kind, revision=revision)


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
    earlier = OutboxMessage.objects.filter(
        signature=signature,
        kind=EmailKind.STATUS,
        params__revision=signature.revision_id,
    ).order_by("-created_at")
    last = earlier.first()
    # Asking again after the interval sends it again, as a new message.
    if last is not None and (
        last.status in (OutboxMessage.Status.QUEUED, OutboxMessage.Status.SENDING)
        or (last.sent_at is not None and last.sent_at >= now - STATUS_EMAIL_INTERVAL)
    ):
        return False
    key = signature_email_key(signature.pk, EmailKind.STATUS, signature.revision_id)
    outbox_enqueue(
        kind=EmailKind.STATUS,
        key=f"{key}:{earlier.count()}",
        to=signature.email,
        params={"revision": signature.revision_id},
        letter_id=signature.letter_id,
        signature_id=signature.pk,
    )
    return True
