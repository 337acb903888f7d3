"""Reads behind the network map: the coalition's partners, letters and who
signed what, and the figures of ``graph.network_build``, cached.

Only the figures are cached (clusters and betweenness are what cost time), keyed
by a digest of who signed what: names, kinds and tags are read fresh on every
view, so an edit shows at once, and any new, withdrawn or re-linked signature
makes a new key. Everything is scoped to one coalition: a partner of another
coalition, or a letter of another coalition, never enters its graph.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from django.core.cache import cache

from coalition.models import Coalition
from letters.models import Letter
from signers.models import Partner, Signature
from signers.network.graph import (
    LetterPoint,
    Network,
    PartnerFigures,
    PartnerPoint,
    network_build,
)

# Bumped when what is cached changes shape.
CACHE_SCHEMA: Final = 1
CACHE_SECONDS: Final = 7 * 24 * 3600
PUBLIC_STATUSES: Final = (Letter.Status.PUBLISHED, Letter.Status.CLOSED)


@dataclass(frozen=True)
class Figures:
    """What ``network_build`` found, without the rows it was given."""

    figures: dict[int, PartnerFigures]
    letter_clusters: dict[int, int]
    clusters: int
    sampled: bool


def network_partners(*, coalition: Coalition) -> list[PartnerPoint]:
    tags: dict[int, list[str]] = {}
    through = Partner.tags.through.objects.filter(partner__coalition=coalition)
    for partner_id, name in through.values_list("partner_id", "tag__name").order_by(
        "tag__name"
    ):
        tags.setdefault(partner_id, []).append(name)
    rows = Partner.objects.filter(coalition=coalition).values_list(
        "id", "name", "kind", "reach"
    )
    return [
        PartnerPoint(id=pk, name=name, kind=kind, tags=tuple(tags.get(pk, ())), reach=r)
        for pk, name, kind, r in rows.order_by("id")
    ]


def network_letters(*, coalition: Coalition) -> list[LetterPoint]:
    rows = Letter.objects.filter(coalition=coalition, status__in=PUBLIC_STATUSES)
    return [
        LetterPoint(id=pk, title=title)
        for pk, title in rows.values_list("id", "title").order_by("id")
    ]


def network_memberships(
    *, letters: list[LetterPoint], partners: list[PartnerPoint]
) -> list[tuple[int, int]]:
    """(partner, letter) for each confirmed signature on one of ``letters`` (the
    coalition's published and closed ones) linked to one of ``partners`` (the
    coalition's). Read by letter, on the signatures' own index, with no join:
    the planner cannot pick a poor join order for a large coalition."""
    rows = Signature.objects.filter(
        letter_id__in=[letter.id for letter in letters],
        status=Signature.Status.CONFIRMED,
        partner__isnull=False,
    ).values_list("partner_id", "letter_id")
    ours = {p.id for p in partners}
    return sorted({(p, lt) for p, lt in rows if p in ours})


def _key(
    coalition: Coalition,
    partners: list[PartnerPoint],
    letters: list[LetterPoint],
    memberships: list[tuple[int, int]],
) -> str:
    digest = hashlib.sha256()
    for part in (
        [p.id for p in partners],
        [letter.id for letter in letters],
        memberships,
    ):
        digest.update(repr(part).encode())
    return f"network:v{CACHE_SCHEMA}:{coalition.pk}:{digest.hexdigest()}"


def coalition_network(*, coalition: Coalition) -> Network:
    """The coalition's network with every partner's figures (cached)."""
    partners = network_partners(coalition=coalition)
    letters = network_letters(coalition=coalition)
    memberships = network_memberships(letters=letters, partners=partners)
    key = _key(coalition, partners, letters, memberships)
    found = cache.get(key)
    if isinstance(found, Figures):
        return Network(
            partners=partners,
            letters=letters,
            memberships=memberships,
            figures=found.figures,
            letter_clusters=found.letter_clusters,
            clusters=found.clusters,
            sampled=found.sampled,
        )
    network = network_build(partners=partners, letters=letters, memberships=memberships)
    cache.set(
        key,
        Figures(
            figures=network.figures,
            letter_clusters=network.letter_clusters,
            clusters=network.clusters,
            sampled=network.sampled,
        ),
        CACHE_SECONDS,
    )
    return network


@dataclass(frozen=True)
class TableRow:
    partner: PartnerPoint
    figures: PartnerFigures
    kind_label: str


def network_table(
    network: Network,
    *,
    tag: str = "",
    kind: str = "",
    letter: int | None = None,
) -> list[TableRow]:
    """The map's partners as table rows, filtered as the map is, A to Z."""
    signed: set[int] | None = None
    if letter is not None:
        signed = {p for p, lt in network.memberships if lt == letter}
    labels = dict(Partner.Kind.choices)
    return sorted(
        (
            TableRow(p, network.figures[p.id], str(labels.get(p.kind, p.kind)))
            for p in network.partners
            if (not tag or tag in p.tags)
            and (not kind or p.kind == kind)
            and (signed is None or p.id in signed)
        ),
        key=lambda row: (row.partner.name.casefold(), row.partner.id),
    )


def network_map_payload(
    network: Network, *, partner_url: Callable[[int], str]
) -> dict[str, Any]:
    """What the map's script draws, as JSON: names are text, never markup."""
    return {
        "partners": [
            {
                "id": p.id,
                "name": p.name,
                "kind": p.kind,
                "tags": list(p.tags),
                "reach": p.reach,
                "cluster": network.figures[p.id].cluster,
                "bridge": network.figures[p.id].bridge,
                "url": partner_url(p.id),
            }
            for p in network.partners
        ],
        "letters": [
            {
                "id": letter.id,
                "title": letter.title,
                "cluster": network.letter_clusters.get(letter.id),
            }
            for letter in network.letters
        ],
        "memberships": network.memberships,
        "clusters": network.clusters,
    }


@dataclass(frozen=True)
class PublicLetter:
    letter: Letter
    # Names of the partners that agreed to be named and signed it publicly.
    partners: list[str]


def coalition_public_letters(*, coalition: Coalition) -> list[PublicLetter]:
    """The coalition's published and closed letters, newest first, each with the
    partners that signed it, named only when both agreed: the partner to be on
    the coalition's public page, and its signature to be on the letter's public
    list (confirmed, listed, of a kind the letter takes). Two queries."""
    letters = list(
        Letter.objects.filter(coalition=coalition, status__in=PUBLIC_STATUSES)
        .only("id", "title", "slug", "signer_kinds", "published_at", "status")
        .order_by("-published_at", "-id")
    )
    allowed = {
        letter.id: {
            kind
            for kind, ok in (
                (Signature.Kind.ORGANISATION, letter.allows_organisations),
                (Signature.Kind.INDIVIDUAL, letter.allows_individuals),
            )
            if ok
        }
        for letter in letters
    }
    rows = (
        Signature.objects.filter(
            letter__in=[letter.id for letter in letters],
            status=Signature.Status.CONFIRMED,
            consent_listed=True,
            partner__coalition=coalition,
            partner__listed_publicly=True,
        )
        .order_by("partner__sort_name", "partner_id")
        .values_list("letter_id", "kind", "partner_id", "partner__name")
    )
    named: dict[int, dict[int, str]] = {letter.id: {} for letter in letters}
    for letter_id, kind, partner_id, name in rows:
        if kind in allowed[letter_id]:
            named[letter_id].setdefault(partner_id, name)
    return [
        PublicLetter(letter=letter, partners=list(named[letter.id].values()))
        for letter in letters
    ]
