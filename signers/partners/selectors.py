"""Reads of a coalition's partner directory."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from coalition.models import Coalition, User
from coalition.outbox.models import OutboxMessage
from letters.models import Letter
from signers import names
from signers.models import (
    CallInvitation,
    ChangeRequest,
    EmailKind,
    Partner,
    PartnerContact,
    PartnerMatch,
    PartnerName,
    Prospect,
    Signature,
    Tag,
    Update,
)

SORTS: Final = {
    "name": ("sort_name", "id"),
    "reach": ("-reach_or_zero", "sort_name", "id"),
    "updated": ("-updated_at", "-id"),
    "letters": ("-letters_signed", "sort_name", "id"),
}


@dataclass(frozen=True)
class PartnerFilters:
    q: str = ""
    kind: str = ""
    tag: int | None = None
    influence: str = ""
    holder: int | None = None  # 0: no one holds it
    sort: str = "name"


def partner_list(*, coalition: Coalition, filters: PartnerFilters) -> QuerySet[Partner]:
    """The coalition's partners, filtered and sorted, with their holder, tags and
    ``letters_signed`` (letters with a confirmed signature linked to them)."""
    partners = (
        Partner.objects.filter(coalition=coalition)
        .select_related("holder")
        .prefetch_related("tags")
        .annotate(
            letters_signed=Count(
                "signatures__letter",
                filter=Q(signatures__status=Signature.Status.CONFIRMED),
                distinct=True,
            ),
        )
    )
    if filters.q.strip():
        key = names.normalise_name(filters.q)
        other = PartnerName.objects.filter(
            partner=OuterRef("pk"), normalised_name__contains=key
        )
        partners = partners.filter(
            Q(normalised_name__contains=key)
            | Q(name__icontains=filters.q.strip())
            | Q(place__icontains=filters.q.strip())
            | Exists(other)
        )
    if filters.kind:
        partners = partners.filter(kind=filters.kind)
    if filters.tag:
        partners = partners.filter(tags=filters.tag)
    if filters.influence:
        partners = partners.filter(influence=filters.influence)
    if filters.holder == 0:
        partners = partners.filter(holder__isnull=True)
    elif filters.holder:
        partners = partners.filter(holder_id=filters.holder)
    if filters.sort == "reach":
        partners = partners.annotate(reach_or_zero=Coalesce("reach", 0))
    return partners.order_by(*SORTS.get(filters.sort, SORTS["name"]))


def partner_detail(*, coalition: Coalition, pk: int) -> Partner | None:
    return (
        Partner.objects.filter(coalition=coalition, pk=pk)
        .select_related("holder", "coalition")
        .prefetch_related(
            "tags",
            "other_names",
            "email_domains",
            "contacts",
            "agreements",
        )
        .first()
    )


def coalition_tags(*, coalition: Coalition) -> QuerySet[Tag]:
    return Tag.objects.filter(coalition=coalition).order_by("name", "id")


def coalition_holders(*, coalition: Coalition) -> QuerySet[User]:
    """Who may hold a relationship: the coalition's members."""
    return User.objects.filter(coalition_memberships__coalition=coalition).order_by(
        "display_name", "email"
    )


def partners_for_csv(*, coalition: Coalition) -> QuerySet[Partner]:
    return (
        Partner.objects.filter(coalition=coalition)
        .select_related("holder")
        .prefetch_related("tags", "other_names", "email_domains", "contacts")
        .order_by("sort_name", "id")
    )


def partner_csv_rows(*, coalition: Coalition) -> Iterator[list[object]]:
    """The directory as a spreadsheet (the view makes every cell safe)."""
    yield [
        _("Name"), _("Other names"), _("Kind"), _("Place"), _("Website"),
        _("Email domains"), _("Issue areas"), _("Members"), _("Staff"),
        _("Reach"), _("Influence"), _("Held by"), _("Contacts"),
        _("Shared interests"), _("Deal-breakers"),
    ]  # fmt: skip
    for p in partners_for_csv(coalition=coalition):
        contacts = [
            f"{c.name} <{c.email}>" if c.email else c.name
            for c in p.contacts.all()
            if c.consent_to_contact
        ]
        yield [
            p.name,
            "; ".join(n.name for n in p.other_names.all()),
            p.get_kind_display(),
            p.place,
            p.website,
            ", ".join(d.domain for d in p.email_domains.all()),
            ", ".join(t.name for t in p.tags.all()),
            p.members_count,
            p.staff_count,
            p.reach,
            p.get_influence_display(),
            p.holder.email if p.holder else "",
            "; ".join(contacts),
            p.shared_interests,
            p.deal_breakers,
        ]


# --- A partner's history across letters ---------------------------------------------


@dataclass
class LetterHistory:
    """What one partner did on one letter, from the rows linked to it."""

    letter: Letter
    prospects: list[Prospect] = field(default_factory=list)
    signatures: list[Signature] = field(default_factory=list)
    change_requests: list[ChangeRequest] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    calls: list[CallInvitation] = field(default_factory=list)

    @property
    def answer(self) -> str:
        """The signature's status if it signed, else the prospect's."""
        if self.signatures:
            return str(self.signatures[0].get_status_display())
        if self.prospects:
            return str(self.prospects[0].get_status_display())
        return ""


def partner_history(*, partner: Partner) -> list[LetterHistory]:
    """Every letter the partner was asked to sign or signed, newest first: its
    answer and when, through whom (the prospect's holder, its referrer), its
    change requests and decline reasons, updates it received, calls it was
    invited to and its answer. A fixed number of queries."""
    prospects = list(
        Prospect.objects.filter(partner=partner).select_related(
            "letter", "owner", "referred_by"
        )
    )
    signatures = list(
        Signature.objects.filter(partner=partner).select_related("letter", "revision")
    )
    by_letter: dict[int, LetterHistory] = {}

    def entry(letter: Letter) -> LetterHistory:
        return by_letter.setdefault(letter.pk, LetterHistory(letter=letter))

    for prospect in prospects:
        entry(prospect.letter).prospects.append(prospect)
    for signature in signatures:
        entry(signature.letter).signatures.append(signature)
    prospect_ids = [p.pk for p in prospects]
    signature_ids = [s.pk for s in signatures]
    for request in ChangeRequest.objects.filter(
        Q(prospect_id__in=prospect_ids) | Q(signature_id__in=signature_ids)
    ).select_related("letter", "revision"):
        entry(request.letter).change_requests.append(request)
    for update in _updates_received(prospect_ids, signature_ids):
        entry(update.letter).updates.append(update)
    for invitation in CallInvitation.objects.filter(
        signature_id__in=signature_ids
    ).select_related("call__letter"):
        entry(invitation.call.letter).calls.append(invitation)
    return sorted(
        by_letter.values(),
        key=lambda h: (h.letter.created_at, h.letter.pk),
        reverse=True,
    )


def _updates_received(
    prospect_ids: list[int], signature_ids: list[int]
) -> list[Update]:
    """Updates sent to the partner's rows (one per update, in the order sent)."""
    groups = OutboxMessage.objects.filter(
        Q(prospect_id__in=prospect_ids) | Q(signature_id__in=signature_ids),
        kind=EmailKind.UPDATE,
        status=OutboxMessage.Status.SENT,
    ).values_list("group", flat=True)
    # An update's emails share the group "update:<id>" (signers.planning.updates).
    update_ids = {
        int(group.partition(":")[2])
        for group in groups
        if group.startswith("update:") and group.partition(":")[2].isdigit()
    }
    return list(
        Update.objects.filter(pk__in=update_ids)
        .select_related("letter")
        .order_by("sent_at")
    )


def partner_matches_proposed(*, coalition: Coalition) -> QuerySet[PartnerMatch]:
    """Proposals waiting for an organiser's answer, newest first."""
    return (
        PartnerMatch.objects.filter(
            partner__coalition=coalition, status=PartnerMatch.Status.PROPOSED
        )
        .select_related("partner", "prospect__letter", "signature__letter")
        .order_by("-created_at", "-id")
    )


def partner_choices(*, coalition: Coalition) -> QuerySet[Partner]:
    return Partner.objects.filter(coalition=coalition).order_by("sort_name", "id")


# --- Starting the next letter from the directory ------------------------------------


@dataclass(frozen=True)
class SuggestionFilters:
    tag: int | None = None
    place: str = ""
    influence: str = ""
    # "signed", "declined", "no_answer" (asked, never answered), "never_asked"
    past: str = ""


def directory_suggestions(
    *, letter: Letter, filters: SuggestionFilters
) -> QuerySet[Partner]:
    """Partners of the letter's coalition not yet among its prospects or signers,
    filtered, with ``signed_before`` (other letters of the coalition they signed)
    and their contacts who agreed to be contacted; those who signed before come
    first (within an issue area: those who signed letters on it), then the
    largest reach."""
    confirmed = Q(signatures__status=Signature.Status.CONFIRMED) & ~Q(
        signatures__letter=letter
    )
    partners = (
        Partner.objects.filter(coalition_id=letter.coalition_id)
        .exclude(prospects__letter=letter)
        .exclude(signatures__letter=letter)
        .select_related("holder")
        .prefetch_related(
            "tags",
            Prefetch(
                "contacts",
                queryset=PartnerContact.objects.filter(consent_to_contact=True)
                .exclude(email="")
                .order_by("name", "id"),
                to_attr="reachable_contacts",
            ),
        )
        .annotate(
            signed_before=Count("signatures__letter", filter=confirmed, distinct=True),
            reach_or_zero=Coalesce("reach", 0),
        )
    )
    if filters.tag:
        partners = partners.filter(tags=filters.tag)
    if filters.place.strip():
        partners = partners.filter(place__icontains=filters.place.strip())
    if filters.influence:
        partners = partners.filter(influence=filters.influence)
    if filters.past == "signed":
        partners = partners.filter(signed_before__gt=0)
    elif filters.past == "declined":
        partners = partners.filter(prospects__status=Prospect.Status.DECLINED)
    elif filters.past == "no_answer":
        partners = partners.filter(
            prospects__status__in=[
                Prospect.Status.INVITED,
                Prospect.Status.OPENED,
                Prospect.Status.NO_RESPONSE,
            ],
            signed_before=0,
        )
    elif filters.past == "never_asked":
        partners = partners.filter(prospects__isnull=True, signatures__isnull=True)
    return partners.distinct().order_by(
        "-signed_before", "-reach_or_zero", "sort_name", "id"
    )
