"""Reads for signatures: who may sign, the organisers' lists, counts by revision."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, QuerySet
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from coalition.models import User
from letters.markdown import paragraphs
from letters.models import Letter, Revision
from letters.selectors import membership_for
from signers.models import (
    ChangeRequest,
    Signature,
)
from signers.selectors.public import signature_counts_public

# How a signature arrives, for the question "is the letter taking signatures?".
VIA_INVITATION = "invitation"
VIA_OPEN_JOIN = "open_join"
VIA_IMPORT = "import"


def signing_closed_reason(
    *, letter: Letter, via: str, now: datetime | None = None
) -> str | None:
    """Why ``letter`` takes no signatures ``via`` this route now, or None.

    Invitations work while the letter circulates or is published; the open form
    only on published letters that are open; nothing after the hard deadline or
    once closed. Organisers' imports only need a revision to sign.
    """
    now = now or timezone.now()
    if letter.current_revision_id is None:
        return _("This letter is not open for signatures yet.")
    if via == VIA_IMPORT:
        return None
    if letter.status == Letter.Status.CLOSED:
        return _("Signing has closed for this letter.")
    if letter.hard_deadline and now >= letter.hard_deadline:
        with timezone.override(letter.time_zone):
            when = formats.date_format(
                timezone.localtime(letter.hard_deadline), "j F Y, H:i"
            )
        return _("Signing closed on %(when)s (%(zone)s time).") % {
            "when": when,
            "zone": letter.time_zone,
        }
    if via == VIA_OPEN_JOIN:
        if letter.status != Letter.Status.PUBLISHED or not letter.open_joining:
            return _("This letter does not take signatures from its public page.")
        return None
    if letter.status not in (Letter.Status.CIRCULATING, Letter.Status.PUBLISHED):
        return _("This letter is not open for signatures yet.")
    return None


def signature_count_public(*, letter: Letter) -> int:
    """Confirmed signatures: what the public page says. Signers waiting to
    confirm, to be approved or to re-confirm a material change do not count."""
    return signature_counts_public(letter=letter).signers


def signature_live_for_prospect(*, prospect_id: int) -> Signature | None:
    return (
        Signature.objects.filter(
            prospect_id=prospect_id, status__in=Signature.LIVE_STATUSES
        )
        .order_by("-id")
        .first()
    )


def signature_list_for_organisers(
    *, letter: Letter, status: str = "", revision_number: int | None = None
) -> QuerySet[Signature]:
    signatures = Signature.objects.filter(letter=letter).select_related("revision")
    if status:
        signatures = signatures.filter(status=status)
    if revision_number:
        signatures = signatures.filter(revision__number=revision_number)
    return signatures.order_by("kind", "sort_name", "id")


def signature_for_organisers(*, letter: Letter, pk: int) -> Signature:
    """Raises Signature.DoesNotExist for a signature of another letter."""
    return Signature.objects.select_related("revision", "prospect").get(
        letter=letter, pk=pk
    )


@dataclass(frozen=True)
class RevisionSigners:
    revision: Revision
    confirmed: int
    awaiting_reconfirmation: int


def signature_counts_by_revision(*, letter: Letter) -> list[RevisionSigners]:
    """Per revision: how many stand confirmed on it, and how many signed it but
    have not yet re-confirmed a later, material revision."""
    revisions = Revision.objects.filter(letter=letter).annotate(
        n_confirmed=Count(
            "signatures", filter=Q(signatures__status=Signature.Status.CONFIRMED)
        ),
        n_waiting=Count(
            "signatures",
            filter=Q(signatures__status=Signature.Status.NEEDS_RECONFIRMATION),
        ),
    )
    return [
        RevisionSigners(r, r.n_confirmed, r.n_waiting)
        for r in revisions.order_by("-number")
    ]


def signature_approval_queue(*, letter: Letter) -> QuerySet[Signature]:
    """Open joins waiting for approval, and new names waiting for approval."""
    return (
        Signature.objects.filter(letter=letter)
        .filter(
            Q(status=Signature.Status.PENDING_APPROVAL)
            | (~Q(requested_display_name="") & Q(status__in=Signature.LIVE_STATUSES))
        )
        .select_related("revision")
        .order_by("created_at", "id")
    )


def change_request_list(*, letter: Letter) -> QuerySet[ChangeRequest]:
    """Open change requests, grouped by where in the text they point."""
    return (
        ChangeRequest.objects.filter(letter=letter, resolved_at__isnull=True)
        .select_related("revision", "signature", "prospect")
        .order_by("anchor", "created_at", "id")
    )


def revision_anchors(*, revision: Revision) -> list[tuple[str, str]]:
    """Where a change request can point: the whole letter, a point, a paragraph."""
    anchors = [("general", _("The letter as a whole"))]
    for i, point in enumerate(revision.points, start=1):
        anchors.append(
            (f"point-{i}", _("Point %(n)d: %(start)s") % {"n": i, "start": point[:60]})
        )
    for i, para in enumerate(paragraphs(revision.body), start=1):
        anchors.append(
            (
                f"paragraph-{i}",
                _("Paragraph %(n)d: %(start)s…") % {"n": i, "start": para[:60]},
            )
        )
    return anchors


def organiser_can_act(*, letter: Letter, user: User) -> bool:
    """Owners and editors act on signatures; viewers only look."""
    membership = membership_for(letter=letter, user=user)
    return membership is not None and membership.can_edit


def organiser_role(*, letter: Letter, user: User) -> str | None:
    """The user's role on the letter (team or coalition), or None for outsiders."""
    membership = membership_for(letter=letter, user=user)
    return membership.role if membership is not None else None


def letter_organisers(*, letter: Letter) -> QuerySet[User]:
    return User.objects.filter(memberships__letter=letter).order_by("email")


def signature_counts(*, letter: Letter) -> dict[str, int]:
    S = Signature.Status
    return Signature.objects.filter(letter=letter).aggregate(
        confirmed=Count("pk", filter=Q(status=S.CONFIRMED)),
        pending=Count("pk", filter=Q(status__in=[S.PENDING, S.PENDING_APPROVAL])),
        needs_reconfirmation=Count("pk", filter=Q(status=S.NEEDS_RECONFIRMATION)),
    )
