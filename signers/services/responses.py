"""Writes for what signers and prospects answer: referrals, change requests,
opened and declined invitations."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from letters.models import Revision
from signers.models import (
    ChangeRequest,
    Prospect,
    Signature,
)
from signers.selectors.signatures import revision_anchors
from signers.services.common import live_signature


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
    live_signature(signature.pk)
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
        live_signature(signature.pk)
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
