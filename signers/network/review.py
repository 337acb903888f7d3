"""The coalition's review page: how partners answer, and how each letter went.

An ask is an invitation: a prospect that was invited (``invited_at``). It is
answered once the prospect signed or declined; "needs time" and "no response"
are still waiting. Time to sign runs from the invitation to the confirmation of
the signature it brought. Four queries whatever the size of the coalition.
"""

import statistics
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from coalition.models import Coalition
from letters.models import Letter
from signers.models import Partner, Prospect, Signature

ANSWERED: Final = frozenset({Prospect.Status.SIGNED, Prospect.Status.DECLINED})
# A partner is "silent" when this many of its latest asks are all unanswered.
SILENT_AFTER: Final = 3


@dataclass
class Figures:
    asks: int = 0
    answered: int = 0
    signed: int = 0
    days_to_sign: list[float] = field(default_factory=list)

    @property
    def response_rate(self) -> float | None:
        return self.answered / self.asks if self.asks else None

    @property
    def median_days_to_sign(self) -> float | None:
        return statistics.median(self.days_to_sign) if self.days_to_sign else None


@dataclass
class PartnerReview(Figures):
    partner_id: int = 0
    name: str = ""
    holder: str = ""
    # Statuses of its asks, latest first.
    answers: list[bool] = field(default_factory=list)

    @property
    def silent(self) -> bool:
        latest = self.answers[:SILENT_AFTER]
        return len(latest) == SILENT_AFTER and not any(latest)


@dataclass
class LetterReview(Figures):
    letter_id: int = 0
    title: str = ""
    slug: str = ""
    status: str = ""


@dataclass(frozen=True)
class CoalitionReview:
    partners: list[PartnerReview]
    letters: list[LetterReview]

    @property
    def silent(self) -> list[PartnerReview]:
        return [p for p in self.partners if p.silent]

    @property
    def unheld(self) -> list[PartnerReview]:
        return [p for p in self.partners if not p.holder]


def _days(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds() / 86400)


def _signed_at(coalition: Coalition) -> dict[int, datetime]:
    """When each prospect's signature was confirmed (the first, if several)."""
    rows = Signature.objects.filter(
        letter__coalition=coalition,
        prospect__isnull=False,
        confirmed_at__isnull=False,
    ).values_list("prospect_id", "confirmed_at")
    found: dict[int, datetime] = {}
    for prospect_id, confirmed_at in rows:
        if prospect_id is None or confirmed_at is None:
            continue
        if prospect_id not in found or confirmed_at < found[prospect_id]:
            found[prospect_id] = confirmed_at
    return found


def _count(
    figures: Figures,
    *,
    answered: bool,
    signed_at: datetime | None,
    invited_at: datetime,
) -> None:
    figures.asks += 1
    figures.answered += answered
    if signed_at is not None:
        figures.signed += 1
        figures.days_to_sign.append(_days(invited_at, signed_at))


def coalition_review(*, coalition: Coalition) -> CoalitionReview:
    partners = {
        pk: PartnerReview(
            partner_id=pk,
            name=name,
            holder=holder_name or holder_email or "",
        )
        for pk, name, holder_name, holder_email in Partner.objects.filter(
            coalition=coalition
        )
        .order_by("sort_name", "id")
        .values_list("id", "name", "holder__display_name", "holder__email")
    }
    letters = {
        pk: LetterReview(letter_id=pk, title=title, slug=slug, status=status)
        for pk, title, slug, status in Letter.objects.filter(coalition=coalition)
        .order_by("-created_at", "-id")
        .values_list("id", "title", "slug", "status")
    }
    signed_at = _signed_at(coalition)
    asks = (
        Prospect.objects.filter(letter__coalition=coalition, invited_at__isnull=False)
        .order_by("-invited_at", "-id")
        .values_list("id", "partner_id", "letter_id", "status", "invited_at")
    )
    for prospect_id, partner_id, letter_id, status, invited_at in asks:
        if invited_at is None:
            continue
        answered = status in ANSWERED
        signed = signed_at.get(prospect_id)
        _count(
            letters[letter_id],
            answered=answered,
            signed_at=signed,
            invited_at=invited_at,
        )
        partner = partners.get(partner_id) if partner_id else None
        if partner is not None:
            _count(partner, answered=answered, signed_at=signed, invited_at=invited_at)
            partner.answers.append(answered)
    return CoalitionReview(
        partners=list(partners.values()), letters=list(letters.values())
    )
