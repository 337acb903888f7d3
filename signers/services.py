"""Writes for signatures, prospects' answers, referrals and change requests.

Every state change is a conditional UPDATE on the status it starts from, so a
second click (or a mail scanner, or a race) finds the work done and the service
returns False instead of acting twice. Emails are rows in ``SignatureEmail``
queued on commit; nothing here talks to an SMTP server inside a transaction.
"""

from datetime import timedelta
from typing import Any, Final

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from coalition.emails import send_message
from coalition.models import User
from letters.models import AuditEvent, Letter, Revision
from signers import names
from signers.emails import signature_email_message
from signers.importing import ImportRow, SignatureImportError
from signers.models import ChangeRequest, Prospect, Signature, SignatureEmail
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


def _bump_signers_version(letter_id: int) -> None:
    """Who is publicly listed changed: the public page and PDF caches key on this."""
    Letter.objects.filter(pk=letter_id).update(signers_version=F("signers_version") + 1)


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


def _duplicate_error(*, letter: Letter, email: str, normalised: str) -> ValidationError:
    existing = (
        Signature.objects.filter(letter=letter, status__in=Signature.LIVE_STATUSES)
        .filter(Q(email=email) | Q(normalised_name=normalised))
        .first()
    )
    if existing is not None and existing.status == Status.PENDING:
        message = _(
            "%(name)s has already signed this letter and we sent a link to confirm "
            "it. Please look for our email (and in the spam folder): one click on "
            "its button is all that is left to do."
        )
    elif existing is not None and existing.email == email:
        message = _(
            "This email address has already signed this letter, as %(name)s. "
            "Thank you! There is nothing more to do; the receipt we emailed has a "
            "link to correct the details."
        )
    else:
        message = _(
            "%(name)s has already signed this letter. Thank you! There is nothing "
            "more to do. If you think this is a mistake, reply to any email from "
            "the organisers."
        )
    name = existing.display_name if existing else _("Your organisation")
    return ValidationError(message % {"name": name}, code="duplicate")


def _on_confirmed(signature: Signature) -> None:
    """A signature has just become publicly listed and counted."""
    _bump_signers_version(signature.letter_id)
    if signature.prospect_id is not None:
        Prospect.objects.filter(pk=signature.prospect_id).exclude(
            status=Prospect.Status.SIGNED
        ).update(status=Prospect.Status.SIGNED, updated_at=timezone.now())


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
    """
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
    email = email.strip().lower()
    display_name = " ".join(display_name.split())
    if source == Source.INVITATION and prospect and prospect.referred_by_id:
        source = Source.REFERRAL
    proven = source == Source.IMPORT or (
        prospect is not None and prospect.email.lower() == email
    )
    now = timezone.now()
    normalised = names.normalise_name(display_name)
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
                normalised_name=normalised,
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
            letter=letter, email=email, normalised=normalised
        ) from exc
    if signature.status == Status.CONFIRMED:
        _on_confirmed(signature)
        if source != Source.IMPORT:
            _queue_email(signature, SignatureEmail.Kind.RECEIPT)
    else:
        _queue_email(signature, SignatureEmail.Kind.CONFIRM_REQUEST)
    return signature


@transaction.atomic
def signature_import(*, letter: Letter, rows: list[ImportRow]) -> int:
    """Import existing signers, confirmed on the current revision with source
    import and no email sent. All rows or none: raises SignatureImportError
    with every line's problems (including organisations that already signed)
    and saves nothing. Returns the number of signatures created."""
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
    the organisers. Returns False if it was not pending any more.
    """
    signature = Signature.objects.select_related("letter").get(pk=signature_id)
    letter = signature.letter
    if signature.status != Status.PENDING:
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
    now = timezone.now()
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
    signature = Signature.objects.select_for_update().get(pk=signature_id)
    was_listed = signature.status == Status.CONFIRMED
    now = timezone.now()
    updated = Signature.objects.filter(
        pk=signature_id, status__in=Signature.LIVE_STATUSES
    ).update(status=Status.WITHDRAWN, withdrawn_at=now, updated_at=now)
    if not updated:
        return False
    if was_listed:
        _bump_signers_version(signature.letter_id)
    _audit(signature, "signature.withdrawn", previous_status=signature.status)
    _queue_email(signature, SignatureEmail.Kind.WITHDRAWN)
    return True


@transaction.atomic
def signature_reconfirm(*, signature_id: int, revision_id: int) -> bool:
    """Re-confirm on ``revision_id`` (the current text) after a material change:
    listed and counted again, with a receipt for the new text."""
    signature = Signature.objects.select_related("letter").get(pk=signature_id)
    if revision_id != signature.letter.current_revision_id:
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
    signer is asked to re-confirm on the new text instead."""
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
    locked = Signature.objects.select_for_update().get(pk=signature.pk)
    now = timezone.now()
    updated = Signature.objects.filter(
        pk=signature.pk, status__in=Signature.LIVE_STATUSES
    ).update(status=Status.REJECTED, rejection_reason=reason, updated_at=now)
    if not updated:
        return False
    if locked.status == Status.CONFIRMED:
        _bump_signers_version(locked.letter_id)
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
    signature = Signature.objects.select_for_update().get(pk=signature_id)
    if signature.status not in Signature.LIVE_STATUSES or signature.erased_at:
        raise ValidationError(
            _("This signature is no longer on the letter, so it cannot be changed."),
            code="not_live",
        )
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
    display_name = " ".join(display_name.split())
    requested = "" if display_name == signature.display_name else display_name
    if requested != signature.requested_display_name:
        signature.requested_display_name = requested
        changed.append("requested_display_name")
    if changed:
        signature.save(update_fields=[*changed, "updated_at"])
        _audit(signature, "signature.details_changed", fields=changed)
    if signature.status == Status.CONFIRMED and set(changed) & set(PUBLIC_DETAILS):
        _bump_signers_version(signature.letter_id)
    return bool(signature.requested_display_name)


@transaction.atomic
def signature_decide_name_change(
    *, signature: Signature, actor: User, approve: bool
) -> bool:
    """Apply (or drop) the name a signer asked for. Raises ValidationError if
    the new name is that of another organisation on the letter."""
    locked = Signature.objects.select_for_update().get(pk=signature.pk)
    new_name = locked.requested_display_name
    if not new_name:
        return False
    if approve:
        locked.display_name = new_name
        locked.sort_name = names.sort_name(new_name)
        locked.normalised_name = names.normalise_name(new_name)
    locked.requested_display_name = ""
    try:
        with transaction.atomic():
            locked.save(
                update_fields=[
                    "display_name",
                    "sort_name",
                    "normalised_name",
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
            affiliation="",
            city="",
            website="",
            consent_listed=False,
        )
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
    if signature.status == Status.CONFIRMED:
        _bump_signers_version(signature.letter_id)
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
    them. Raises ValidationError if the address is already on the list."""
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
    """'We would sign if…': a request anchored to a point or a paragraph."""
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
    """The invitation page was viewed. Moves invited (or not yet answered)
    prospects to opened; never moves one that has answered."""
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
    optional change that would make them sign. False if already answered."""
    prospect = Prospect.objects.select_related("letter").get(pk=prospect_id)
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
            updated_at=timezone.now(),
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
            _bump_signers_version(letter_id)
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
        .update(claimed_at=now)
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
