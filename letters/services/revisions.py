"""Publishing a revision: the working draft frozen as an immutable, numbered text."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from coalition.models import User
from letters.hooks import signer_side
from letters.models import (
    Letter,
    Revision,
    text_hash,
)
from letters.services.common import audit, lock_letter
from letters.validators import clean_points, validate_lengths

# --- Revisions ----------------------------------------------------------------


def letter_has_live_signatures(*, letter: Letter) -> bool:
    return signer_side().has_live_signatures(letter=letter)


@transaction.atomic
def revision_publish(
    *, letter: Letter, author: User, change_note: str, kind: str | None = None
) -> Revision:
    """Freeze the working draft as revision N+1 and make it current.

    Locks the letter, so two publishes cannot both become N+1. Refuses
    (ValidationError) a closed letter, a draft with no change since revision N,
    points that are empty or more than three, and texts longer than
    ``TEXT_LIMITS`` (a draft saved before the limits). Revision 1 is INITIAL. From
    revision 2, when live signatures exist, ``kind`` must be EDITORIAL or
    MATERIAL (default EDITORIAL otherwise); MATERIAL moves
    ``last_material_revision_number``. Tells the signer side
    (``letters.hooks``) in the same transaction.
    Callers check that ``author`` may edit the letter.
    """
    lock_letter(letter)
    if letter.status == Letter.Status.CLOSED:
        raise ValidationError(
            _("This letter is closed; reopen it to publish a new revision."),
            code="closed",
        )
    points = clean_points(letter.points)
    validate_lengths(
        title=letter.title,
        addressee=letter.addressee,
        body=letter.body,
        change_note=change_note.strip(),
    )
    sha256 = text_hash(addressee=letter.addressee, points=points, body=letter.body)
    current = letter.current_revision
    if current and current.sha256 == sha256 and current.title == letter.title:
        raise ValidationError(
            _("Nothing has changed since revision %(number)d."),
            code="unchanged",
            params={"number": current.number},
        )
    last = Revision.objects.filter(letter=letter).aggregate(n=Max("number"))["n"]
    number = (last or 0) + 1
    if number == 1:
        kind = Revision.Kind.INITIAL
    elif kind is None and not letter_has_live_signatures(letter=letter):
        kind = Revision.Kind.EDITORIAL
    elif kind not in (Revision.Kind.EDITORIAL, Revision.Kind.MATERIAL):
        raise ValidationError(
            {
                "kind": _(
                    "People have signed: say whether this change is editorial "
                    "or material."
                )
            },
            code="kind_required",
        )
    revision = Revision.objects.create(
        letter=letter,
        number=number,
        title=letter.title,
        addressee=letter.addressee,
        points=points,
        body=letter.body,
        change_note=change_note.strip(),
        kind=kind,
        author=author,
        sha256=sha256,
    )
    letter.current_revision = revision
    if kind in (Revision.Kind.INITIAL, Revision.Kind.MATERIAL):
        letter.last_material_revision_number = number
    letter.save(
        update_fields=[
            "current_revision",
            "last_material_revision_number",
            "updated_at",
        ]
    )
    audit(
        letter,
        author,
        "revision.published",
        number=number,
        kind=kind,
        sha256=sha256,
        change_note=revision.change_note,
    )
    if number >= 2:
        signer_side().revision_published(revision=revision)
    return revision
