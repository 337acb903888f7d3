"""Re-issue: a letter's text sent again as a new letter, with its signers' opt-in."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from coalition.models import User
from coalition.outbox.services import outbox_enqueue_many
from letters.audit import Action, audit_record
from letters.models import Letter, Membership
from letters.permissions import require_letter_role
from letters.services.letters import letter_create, letter_update_settings
from letters.services.lifecycle import letter_start_circulating
from letters.services.revisions import revision_publish
from signers.models import (
    EmailKind,
    Prospect,
    Reissue,
    ReissueOptIn,
    Signature,
)
from signers.planning.reminders import new_delivery, not_suppressed
from signers.services.common import (
    Source,
    Status,
    live_signature,
    lock_letter,
)
from signers.services.logos import signature_create_with_logo, stored_logo

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
    require_letter_role(actor, letter, Membership.Role.OWNER)
    revision = letter.current_revision
    if letter.status != Letter.Status.CLOSED or revision is None:
        raise ValidationError(_("Only a closed letter can be re-issued."))
    new = letter_create(
        owner=actor,
        title=title,
        slug=slug,
        addressee=addressee,
        body=revision.body,
        points=revision.points,
        time_zone=letter.time_zone,
    )
    letter_update_settings(
        letter=new,
        actor=actor,
        reply_to=letter.reply_to,
        signer_kinds=letter.signer_kinds,
        signing_fields=letter.signing_fields,
    )
    revision_publish(
        letter=new,
        author=actor,
        change_note=_("Re-issued from “%(title)s”, revision %(number)d.")
        % {"title": letter.title, "number": revision.number},
    )
    letter_start_circulating(letter=new, actor=actor)
    reissue = Reissue.objects.create(source=letter, letter=new, created_by=actor)
    earlier = not_suppressed(
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
        new_delivery(
            letter=new,
            kind=EmailKind.REISSUE_OPT_IN,
            basis=f"reissue{reissue.pk}",
            due_at=now,
            signature=opt_in.earlier,
            group=f"reissue:{reissue.pk}",
        )
        for opt_in in reissue.opt_ins.select_related("earlier")
    ]
    outbox_enqueue_many(rows)
    audit_record(
        letter, actor, Action.LETTER_REISSUED, new_letter=new.pk, asked=len(rows)
    )
    audit_record(new, actor, Action.LETTER_REISSUED_FROM, source=letter.pk)
    return new


@transaction.atomic
def reissue_opt_in_accept(*, opt_in_id: int) -> Signature | None:
    """The earlier signer pressed "Add us": sign the new letter's current
    revision with the details and consents they gave before, confirmed (the
    link proves the address) and with a receipt. None if already done; raises
    ValidationError (and records nothing) if the new letter takes no
    signatures now, they have signed it some other way, or the earlier
    signature has been withdrawn, rejected or erased since."""
    lock_letter(reissued_from__opt_ins__pk=opt_in_id)
    opt_in = (
        ReissueOptIn.objects.select_for_update()
        .select_related("reissue__letter", "earlier")
        .get(pk=opt_in_id)
    )
    if opt_in.opted_in_at is not None:
        return None
    letter, earlier = opt_in.reissue.letter, opt_in.earlier
    live_signature(earlier.pk)
    prospect, _created = Prospect.objects.get_or_create(
        letter=letter,
        email=earlier.email.lower(),
        defaults={
            "organisation": earlier.display_name,
            "contact_name": earlier.contact_name,
            "notes": _("Signed the earlier letter; opted in to this one."),
        },
    )
    signature = signature_create_with_logo(
        logo=stored_logo(earlier),
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
