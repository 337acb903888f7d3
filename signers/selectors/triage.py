"""Reads for the change-request triage page, the organisers' signing notices'
settings and the letter's latest activity."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from coalition.models import User
from letters.hooks import Activity
from letters.markdown import paragraphs
from letters.models import Letter, Revision
from letters.permissions import letter_people
from signers.models import ChangeRequest, Prospect, Signature, SigningNoticeOptOut


def requester_name(request: ChangeRequest) -> str:
    """Who asked, as the organisers know them: the signature's name, or the
    prospect's organisation."""
    if request.signature is not None:
        return request.signature.display_name
    if request.prospect is not None:
        return request.prospect.organisation
    return ""


def requester_email(request: ChangeRequest) -> str:
    """Where a reply goes; "" when nobody can be written to any more (the
    signer's personal data was erased, or nobody is linked)."""
    if request.signature is not None:
        return "" if request.signature.erased_at else request.signature.email
    if request.prospect is not None and not request.prospect.email.endswith(".invalid"):
        return request.prospect.email
    return ""


def anchored_part(revision: Revision, anchor: str) -> tuple[str, str]:
    """What a change request points at, in ``revision``: a label ("Point 2")
    and the text itself ("" for the letter as a whole or a part that is gone)."""
    kind, _sep, number = anchor.partition("-")
    index = int(number) - 1 if number.isdigit() else -1
    if kind == "point":
        points = revision.points or []
        text = points[index] if 0 <= index < len(points) else ""
        return _("Point %(n)s") % {"n": number}, str(text)
    if kind == "paragraph":
        found = paragraphs(revision.body)
        text = found[index] if 0 <= index < len(found) else ""
        return _("Paragraph %(n)s") % {"n": number}, text
    return _("The letter as a whole"), ""


@dataclass(frozen=True)
class TriageRow:
    request: ChangeRequest
    part: str
    part_text: str
    name: str
    person: str
    # The signature that answers for whoever asked, if any.
    signature: Signature | None


def _signatures_of_prospects(prospect_ids: set[int]) -> dict[int, Signature]:
    """Each prospect's newest signature (live ones first)."""
    found: dict[int, Signature] = {}
    rows = Signature.objects.filter(prospect_id__in=prospect_ids).order_by("-id")
    for signature in rows:
        assert signature.prospect_id is not None
        current = found.get(signature.prospect_id)
        live = signature.status in Signature.LIVE_STATUSES
        if current is None or (live and current.status not in Signature.LIVE_STATUSES):
            found[signature.prospect_id] = signature
    return found


def _triage_row(request: ChangeRequest, by_prospect: dict[int, Signature]) -> TriageRow:
    part, text = anchored_part(request.revision, request.anchor)
    signature = request.signature or by_prospect.get(request.prospect_id or 0)
    asker = request.signature or request.prospect
    person = asker.contact_name if asker is not None else ""
    return TriageRow(request, part, text, requester_name(request), person, signature)


def change_request_triage(*, letter: Letter, status: str = "") -> list[TriageRow]:
    """The letter's change requests, open ones first, then newest first."""
    requests = ChangeRequest.objects.filter(letter=letter).select_related(
        "revision", "accepted_revision", "signature", "prospect"
    )
    if status:
        requests = requests.filter(status=status)
    found = list(requests.order_by("-created_at", "-id"))
    found.sort(key=lambda r: r.status != ChangeRequest.Status.OPEN)
    by_prospect = _signatures_of_prospects(
        {r.prospect_id for r in found if r.prospect_id is not None}
    )
    return [_triage_row(r, by_prospect) for r in found]


def change_request_counts(*, letter: Letter) -> list[tuple[str, str, int]]:
    """Each status: its value, its label and how many requests have it."""
    counts = dict(
        ChangeRequest.objects.filter(letter=letter)
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return [
        (value, str(label), counts.get(value, 0))
        for value, label in ChangeRequest.Status.choices
    ]


def change_request_for_organisers(*, letter: Letter, pk: int) -> TriageRow:
    """Raises ChangeRequest.DoesNotExist for another letter's request."""
    request = ChangeRequest.objects.select_related(
        "revision",
        "accepted_revision",
        "signature",
        "prospect",
        "resolved_by",
        "replied_by",
    ).get(letter=letter, pk=pk)
    by_prospect = _signatures_of_prospects(
        {request.prospect_id} if request.prospect_id is not None else set()
    )
    return _triage_row(request, by_prospect)


def revisions_that_may_take(request: ChangeRequest) -> QuerySet[Revision]:
    """The published revisions after the one the request was made on."""
    return Revision.objects.filter(
        letter_id=request.letter_id, number__gt=request.revision.number
    ).order_by("-number")


# --- Signing notices: who has turned them off --------------------------------------


@dataclass(frozen=True)
class NoticeSetting:
    letter: Letter
    role: str
    notified: bool


def signing_notice_settings(*, user: User) -> list[NoticeSetting]:
    """Every letter the user has a place on (its team, or its coalition), with
    the role they hold there and whether they are emailed when someone signs."""
    off = set(
        SigningNoticeOptOut.objects.filter(user=user).values_list(
            "letter_id", flat=True
        )
    )
    letters = list(Letter.objects.for_user(user).order_by("title", "pk"))
    people = letter_people(letter.pk for letter in letters)
    return [
        NoticeSetting(letter, held.get_role_display(), letter.pk not in off)
        for letter in letters
        if (held := people[letter.pk].get(user.pk)) is not None
    ]


# --- The letter's latest activity ----------------------------------------------------


def _workspace(name: str, letter: Letter, **kwargs: object) -> str:
    return reverse(name, kwargs={"slug": letter.slug, **kwargs})


def latest_activity(*, letter: Letter, limit: int = 8) -> list[Activity]:
    """The newest signatures, withdrawals, declined invitations and change
    requests, newest first; names are the signers' own text, shown as text."""
    items: list[tuple[datetime, Activity]] = []
    signatures = Signature.objects.filter(letter=letter)
    for s in signatures.filter(
        confirmed_at__isnull=False,
        status__in=[*Signature.SIGNED_STATUSES, Signature.Status.WITHDRAWN],
    ).order_by("-confirmed_at")[:limit]:
        assert s.confirmed_at is not None
        url = _workspace("signers:signature-detail", letter, pk=s.pk)
        text = _("%(name)s signed") % {"name": s.display_name}
        items.append((s.confirmed_at, Activity(s.confirmed_at, text, url)))
    for s in signatures.filter(withdrawn_at__isnull=False).order_by("-withdrawn_at")[
        :limit
    ]:
        assert s.withdrawn_at is not None
        url = _workspace("signers:signature-detail", letter, pk=s.pk)
        text = _("%(name)s withdrew their signature") % {"name": s.display_name}
        items.append((s.withdrawn_at, Activity(s.withdrawn_at, text, url)))
    declined = Prospect.objects.filter(
        letter=letter, status=Prospect.Status.DECLINED
    ).exclude(signatures__withdrawn_at__isnull=False)
    for p in declined.order_by("-updated_at")[:limit]:
        url = _workspace("signers:prospect-edit", letter, pk=p.pk)
        text = _("%(name)s declined the invitation") % {"name": p.organisation}
        items.append((p.updated_at, Activity(p.updated_at, text, url)))
    requests = ChangeRequest.objects.filter(letter=letter).select_related(
        "signature", "prospect"
    )
    for r in requests.order_by("-created_at")[:limit]:
        url = _workspace("signers:change-request", letter, pk=r.pk)
        name = requester_name(r) or _("Someone")
        text = _("%(name)s asked for a change") % {"name": name}
        items.append((r.created_at, Activity(r.created_at, text, url)))
    items.sort(key=lambda item: item[0], reverse=True)
    return [activity for _when, activity in items[:limit]]
