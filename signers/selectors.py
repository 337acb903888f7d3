"""Reads about signatures: signing state, organiser views and the public listing."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from django.db import connection, models
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import Collate
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from coalition.models import User
from letters.markdown import paragraphs
from letters.models import AuditEvent, Letter, Membership, Revision
from signers.links import absolute
from signers.models import ChangeRequest, Prospect, Signature, SignatureEmail

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
    return Membership.objects.filter(
        letter=letter,
        user=user,
        role__in=[Membership.Role.OWNER, Membership.Role.EDITOR],
    ).exists()


# --- The public listing -----------------------------------------------------

# What a visitor may see of a signature, and nothing else.
PUBLIC_FIELDS = (
    "id",
    "kind",
    "display_name",
    "sort_name",
    "affiliation",
    "city",
    "country",
    "website",
)


def _allowed_kinds(letter: Letter) -> list[str]:
    kinds: list[str] = []
    if letter.allows_organisations:
        kinds.append(Signature.Kind.ORGANISATION)
    if letter.allows_individuals:
        kinds.append(Signature.Kind.INDIVIDUAL)
    return kinds


def _by_code_point(field: str) -> Collate:
    # Sort names are already folded (case, accents, articles); comparing them by
    # code point gives the same, stable order on every database and locale.
    return Collate(F(field), "C" if connection.vendor == "postgresql" else "BINARY")


def signature_list_public(*, letter: Letter) -> QuerySet[Signature]:
    """Publicly listed signatures (confirmed, and consenting to be listed) of the
    kinds the letter allows: organisations first, then individuals, each A-Z by
    sort name, with public fields only.
    """
    return (
        Signature.objects.filter(
            letter=letter,
            status=Signature.Status.CONFIRMED,
            consent_listed=True,
            kind__in=_allowed_kinds(letter),
        )
        .only(*PUBLIC_FIELDS)
        .order_by(
            # "individual" sorts before "organisation": descending puts them last.
            F("kind").desc(),
            _by_code_point("sort_name"),
            "id",
        )
    )


@dataclass(frozen=True)
class PublicCounts:
    signers: int
    unlisted: int


def signature_counts_public(*, letter: Letter) -> PublicCounts:
    """How many signed (confirmed), and how many of those asked not to be named."""
    totals = Signature.objects.filter(
        letter=letter,
        status=Signature.Status.CONFIRMED,
        kind__in=_allowed_kinds(letter),
    ).aggregate(
        signers=Count("id"),
        unlisted=Count("id", filter=Q(consent_listed=False)),
    )
    return PublicCounts(signers=totals["signers"], unlisted=totals["unlisted"])


def signature_list_for_export(*, letter: Letter) -> QuerySet[Signature]:
    """Every signature of the letter, whatever its status, for the organisers'
    export: all fields and the revision each signer signed."""
    return (
        Signature.objects.filter(letter=letter)
        .select_related("revision")
        .order_by(F("kind").desc(), _by_code_point("sort_name"), "id")
    )


@dataclass(frozen=True)
class SignerSection:
    kind: str
    signatures: list[Signature]


def signature_sections_public(*, letter: Letter) -> list[SignerSection]:
    """The public list split by kind, organisations first; one query."""
    by_kind: dict[str, list[Signature]] = {}
    for signature in signature_list_public(letter=letter):
        by_kind.setdefault(signature.kind, []).append(signature)
    return [
        SignerSection(kind=kind, signatures=by_kind[kind])
        for kind in (Signature.Kind.ORGANISATION, Signature.Kind.INDIVIDUAL)
        if kind in by_kind
    ]


# --- Personal data ------------------------------------------------------------

# Links to other rows, given in their own sections of the export (or, for the
# organiser who holds the relationship and the signer who suggested a prospect,
# other people's data).
_NOT_EXPORTED: Final = frozenset({"letter", "revision", "prospect", "owner"})


def _row(
    obj: models.Model, *, leave_out: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Every stored field of ``obj``: a field added later is exported too."""
    return {
        f.attname: f.value_from_object(obj)
        for f in obj._meta.concrete_fields
        if f.name not in _NOT_EXPORTED | leave_out
    }


def signature_personal_data(*, signature: Signature) -> dict[str, Any]:
    """Everything the site holds about one signer, for the signer or for an
    organiser answering their request: the signature with its private fields,
    statuses and times; the revision signed and its hash; the prospect record
    the organisers kept (linked, or on the letter with the same email); change
    requests and referrals the signer made; the emails sent to them; and the
    letter's log of what happened to the signature. Serialisable by
    ``DjangoJSONEncoder``. After erasure it shows what erasure left.
    """
    signature = Signature.objects.select_related("letter", "revision", "prospect").get(
        pk=signature.pk
    )
    letter, revision = signature.letter, signature.revision
    prospect = (
        signature.prospect
        or Prospect.objects.filter(letter=letter, email=signature.email).first()
    )
    asked = Q(signature=signature) | (Q(prospect=prospect) if prospect else Q())
    change_requests = ChangeRequest.objects.filter(asked).select_related("revision")
    emails = SignatureEmail.objects.filter(signature=signature).select_related(
        "revision"
    )
    history = AuditEvent.objects.filter(
        letter=letter, detail__signature=signature.pk
    ).order_by("created_at", "id")
    return {
        "exported_at": timezone.now(),
        "letter": {
            "title": letter.title,
            "address": absolute(reverse("letters:public", args=[letter.slug])),
        },
        "signature": _row(signature),
        "revision_signed": {
            "number": revision.number,
            "sha256": revision.sha256,
            "published_at": revision.created_at,
        },
        "prospect": _row(prospect, leave_out=frozenset({"referred_by"}))
        if prospect
        else None,
        "change_requests": [
            {
                **_row(r, leave_out=frozenset({"signature"})),
                "revision": r.revision.number,
            }
            for r in change_requests
        ],
        "referrals": [
            {
                "organisation": p.organisation,
                "contact_name": p.contact_name,
                "email": p.email,
                "note": p.notes,
                "created_at": p.created_at,
            }
            for p in Prospect.objects.filter(referred_by=signature).order_by("pk")
        ],
        "emails": [
            {
                **_row(e, leave_out=frozenset({"signature"})),
                "revision": e.revision.number,
            }
            for e in emails
        ],
        "history": [
            {"action": e.action, "at": e.created_at, "detail": e.detail}
            for e in history
        ],
    }
