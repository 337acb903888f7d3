"""Signing: a new signature on a letter's current revision, by every route in.

One request, as few round trips as keep every promise: the letter is locked
and read once; the row goes in (a unique constraint refuses a duplicate);
only a refused row looks at what is in its way (an unconfirmed signature past
its time, or one a proven address sets aside) and tries once more; the first
email is written with it (one statement on PostgreSQL); the partners the name
or domains might be are one query, once the address is proven.
"""

from typing import Any, Required, TypedDict, Unpack

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from letters.models import Letter
from signers import names
from signers.models import EmailKind, Prospect, Signature
from signers.partners import matching
from signers.selectors.signatures import (
    VIA_IMPORT,
    VIA_INVITATION,
    VIA_OPEN_JOIN,
    signing_closed_reason,
)
from signers.services.common import (
    Source,
    Status,
    duplicate_error,
    lock_letter,
    make_way,
    on_confirmed,
    text_changed_error,
)
from signers.services.signature_insert import model_from_row, signature_insert


class SigningFields(TypedDict, total=False):
    """What a signer gives: see :func:`signature_create`."""

    revision_id: Required[int]
    source: Required[str]
    display_name: Required[str]
    email: Required[str]
    kind: str
    affiliation: str
    city: str
    country: str
    website: str
    contact_name: str
    contact_title: str
    phone: str
    comment: str
    consent_listed: bool
    consent_updates: bool
    consent_logo: bool
    attested: bool
    prospect: Prospect | None


@transaction.atomic
def signature_create(*, letter: Letter, **fields: Unpack[SigningFields]) -> Signature:
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
    return signature_create_locked(letter=lock_letter(pk=letter.pk), **fields)


def letter_lock_to_join(*, slug: str) -> Letter:
    """The public letter at ``slug``, read under a lock held until the current
    transaction ends, for an open join: the one read of the letter in that
    request. Raises Letter.DoesNotExist.

    A shared lock on PostgreSQL (FOR SHARE): sign-ups, which only add rows
    and never write the letter, go on side by side, while publishing a
    revision (which locks the letter FOR UPDATE) waits for them to commit, or
    they for it; so the current revision read here stays current until this
    transaction ends. SQLite has no shared lock: there, ``Letter.locked``.
    """
    if connection.vendor != "postgresql":
        return Letter.objects.public().filter(slug=slug).locked().get()
    statuses = Letter.PUBLIC_STATUSES
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT * FROM {Letter._meta.db_table} WHERE slug = %s "  # noqa: S608 - the model's own table
            f"AND status IN ({', '.join(['%s'] * len(statuses))}) FOR SHARE",
            [slug, *statuses],
        )
        row = cursor.fetchone()
        names = [c.name for c in cursor.description]
    if row is None:
        raise Letter.DoesNotExist
    return model_from_row(Letter, names, row)


def signature_create_locked(
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
    """``signature_create`` on a letter read under its lock in the current
    transaction (``lock_letter``, or ``letter_lock_to_join`` for an open
    join, whose signature is pending and writes nothing to the letter)."""
    via = {Source.OPEN_JOIN: VIA_OPEN_JOIN, Source.IMPORT: VIA_IMPORT}.get(
        Source(source), VIA_INVITATION
    )
    reason = signing_closed_reason(letter=letter, via=via)
    if reason:
        raise ValidationError(reason, code="closed")
    if revision_id != letter.current_revision_id:
        raise text_changed_error()
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
    values: dict[str, Any] = {
        "letter": letter,
        "revision_id": revision_id,
        "kind": kind,
        "status": Status.CONFIRMED if proven else Status.PENDING,
        "source": source,
        "display_name": display_name,
        "sort_name": names.sort_name(display_name),
        "normalised_name": keys.normalised,
        "skeleton_name": keys.skeleton,
        "affiliation": affiliation,
        "city": city,
        "country": country,
        "website": website,
        "contact_name": contact_name,
        "contact_title": contact_title,
        "email": email,
        "phone": phone,
        "comment": comment,
        "consent_listed": consent_listed,
        "consent_updates": consent_updates,
        "consent_logo": consent_logo and kind == Signature.Kind.ORGANISATION,
        "attested": attested,
        "prospect": prospect,
        "confirmed_at": now if proven else None,
    }
    if proven:
        first_email = None if source == Source.IMPORT else EmailKind.RECEIPT
    else:
        first_email = EmailKind.CONFIRM_REQUEST
    signature = Signature(**values)
    inserted = signature_insert(signature, email_kind=first_email)
    # Refused: only then is anything in the way (an unconfirmed signature past
    # its time, which beat expires every few minutes anyway, or one a proven
    # address sets aside) moved, and the row tried once more.
    if not inserted and make_way(
        letter=letter, email=email, keys=keys, proven=proven, now=now
    ):
        inserted = signature_insert(signature, email_kind=first_email)
    if not inserted:
        raise duplicate_error(
            letter=letter, email=email, keys=keys, display_name=display_name
        )
    if signature.status == Status.CONFIRMED:
        on_confirmed(signature)
        # An unproven address is proposed once confirmed (signature_confirm):
        # a sign-up that never confirms proposes nothing.
        matching.propose_for_signature(signature)
    return signature
