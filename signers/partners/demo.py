"""The demo coalition's directory: about 60 partners across 5 letters, so the
directory, the map and the suggestions are worth looking at on first run.

Made once (known by the coalition's slug and the letters' slugs), in bulk
where the rows need no service, and through the signing service otherwise.
"""

import random
from typing import Final

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from coalition.models import Coalition, CoalitionMember, User
from letters.models import Letter
from letters.services.letters import letter_create
from letters.services.lifecycle import letter_close, letter_publish
from letters.services.revisions import revision_publish
from signers import names
from signers.models import (
    Partner,
    PartnerContact,
    PartnerMatch,
    Prospect,
    Signature,
    Tag,
)
from signers.services.signing import signature_create

COALITION_SLUG: Final = "clean-air-coalition"
TAGS: Final = [
    "clean air", "transport", "schools", "health", "climate", "cycling",
    "housing", "children",
]  # fmt: skip
PREFIXES: Final = [
    "Riverside", "Northgate", "Hillcrest", "Ashford", "Valley", "Harbour",
    "Eastside", "Westfield", "Greenway", "Old Town", "Meadow", "Bridgend",
]  # fmt: skip
# (suffix, kind)
BODIES: Final = [
    ("Tenants' Union", "union"), ("Parents' Forum", "ngo"),
    ("Cycling Campaign", "ngo"), ("Mosque Committee", "faith"),
    ("Parish Council of Churches", "faith"), ("Traders' Association", "business"),
    ("Health Network", "network"), ("University Air Lab", "academic"),
    ("Public Health Team", "public_body"), ("Youth Club", "other"),
    ("Residents' Association", "ngo"), ("Teachers' Union Branch", "union"),
]  # fmt: skip
INFLUENCE: Final = ["local", "local", "regional", "national", "international"]
# Three more letters of the coalition: (slug, title, status, share of partners).
EARLIER: Final = [
    ("clean-buses-now", "Clean buses for the whole city", "closed", 0.45),
    ("trees-on-school-streets", "Trees on every school street", "published", 0.35),
    ("low-traffic-centre", "A low-traffic city centre", "closed", 0.3),
]
TEXT: Final = "We, the undersigned, ask the Council to act on this in the next budget."


def _partner_names(existing: list[str]) -> list[str]:
    """The public demo letter's organisations first, then generated ones, 60."""
    found = list(dict.fromkeys(existing))
    rng = random.Random(15)  # noqa: S311 - demo data, not security
    while len(found) < 60:
        name = f"{rng.choice(PREFIXES)} {rng.choice(BODIES)[0]}"
        if name not in found:
            found.append(name)
    return found[:60]


def _kind(name: str) -> str:
    for suffix, kind in BODIES:
        if name.endswith(suffix):
            return kind
    return "ngo"


def _domain(name: str) -> str:
    key = names.normalise_name(name).replace(" ", "-").replace("'", "")
    return f"{key[:40].strip('-')}.example.org"


@transaction.atomic
def seed_directory(*, coalition: Coalition, owner: User, editor: User) -> None:
    """The demo coalition's partners, tags, contacts and earlier letters, once."""
    if coalition.partners.exists():
        return
    holders: list[User | None] = [owner, editor, None]
    tags = Tag.objects.bulk_create(Tag(coalition=coalition, name=t) for t in TAGS)
    public = coalition.letters.filter(status=Letter.Status.PUBLISHED)
    signed = list(
        Signature.objects.filter(
            letter__in=public, kind=Signature.Kind.ORGANISATION
        ).values_list("display_name", flat=True)
    )
    rng = random.Random(60)  # noqa: S311 - demo data, not security
    partners = []
    for i, name in enumerate(_partner_names(signed)):
        keys = names.name_keys(name)
        partners.append(
            Partner(
                coalition=coalition,
                name=name,
                sort_name=names.sort_name(name),
                normalised_name=keys.normalised,
                skeleton_name=keys.skeleton,
                website=f"https://{_domain(name)}/",
                website_domain=_domain(name),
                place=rng.choice(PREFIXES),
                kind=_kind(name),
                members_count=rng.choice([None, 40, 250, 1200, 8000]),
                staff_count=rng.choice([None, 0, 2, 12, 60]),
                reach=int(rng.paretovariate(1.2) * 300),
                influence=INFLUENCE[i % len(INFLUENCE)],
                holder=holders[i % len(holders)],
                shared_interests="Safe, clean streets around schools.",
                deal_breakers="No party-political endorsements." if i % 7 == 0 else "",
                listed_publicly=i % 3 != 0,
            )
        )
    partners = Partner.objects.bulk_create(partners)
    Through = Partner.tags.through
    Through.objects.bulk_create(
        Through(partner_id=p.pk, tag_id=t.pk)
        for p in partners
        for t in rng.sample(tags, rng.randint(1, 3))
    )
    now = timezone.now()
    PartnerContact.objects.bulk_create(
        PartnerContact(
            partner=p,
            name=f"Contact {n + 1} at {p.name}"[:200],
            email=f"contact{n + 1}@{p.website_domain}",
            role=rng.choice(["Director", "Campaigns lead", "Chair", "Volunteer"]),
            consent_to_contact=(i + n) % 5 != 0,
            consent_at=now if (i + n) % 5 != 0 else None,
        )
        for i, p in enumerate(partners)
        for n in range(1 + i % 2)
    )
    for slug, title, status, share in EARLIER:
        _earlier_letter(coalition, owner, slug, title, status, partners, share, rng)
    _link(coalition, partners)


def _earlier_letter(
    coalition: Coalition,
    owner: User,
    slug: str,
    title: str,
    status: str,
    partners: list[Partner],
    share: float,
    rng: random.Random,
) -> None:
    if Letter.objects.filter(slug=slug).exists():
        return
    letter = letter_create(
        owner=owner,
        coalition=coalition,
        title=title,
        slug=slug,
        addressee="To the Members of the City Council",
        body=TEXT,
        points=[title + "."],
    )
    revision = revision_publish(letter=letter, author=owner, change_note="Agreed.")
    letter_publish(letter=letter, actor=owner)
    chosen = rng.sample(partners, int(len(partners) * share))
    for partner in chosen:
        signature_create(
            letter=letter,
            revision_id=revision.pk,
            source=Signature.Source.IMPORT,
            display_name=partner.name,
            city=partner.place,
            country="United Kingdom",
            email=f"contact1@{partner.website_domain}",
            attested=True,
        )
    for partner in rng.sample([p for p in partners if p not in chosen], 6):
        Prospect.objects.create(
            letter=letter,
            organisation=partner.name,
            email=f"contact1@{partner.website_domain}",
            status=rng.choice([Prospect.Status.DECLINED, Prospect.Status.NO_RESPONSE]),
            decline_reason="Not our priority this year.",
            owner=partner.holder,
        )
    if status == Letter.Status.CLOSED:
        letter_close(letter=letter, actor=owner)


def _link(coalition: Coalition, partners: list[Partner]) -> None:
    """Link the coalition's signatures and prospects to the partners of the same
    name, as an organiser confirming the proposals would."""
    by_key = {p.normalised_name: p for p in partners}
    for model, field in ((Signature, "display_name"), (Prospect, "organisation")):
        rows = model.objects.filter(letter__coalition=coalition, partner__isnull=True)
        for pk, name in rows.values_list("pk", field):
            partner = by_key.get(names.normalise_name(name))
            if partner is not None:
                model.objects.filter(pk=pk).update(partner=partner)
    # The proposals for the rows linked above are answered by the links.
    PartnerMatch.objects.filter(partner__coalition=coalition).filter(
        Q(prospect__partner__isnull=False) | Q(signature__partner__isnull=False)
    ).delete()


def demo_coalition(*, owner: User, editor: User) -> Coalition:
    coalition, _created = Coalition.objects.get_or_create(
        slug=COALITION_SLUG,
        defaults={
            "name": "Clean Air Coalition",
            "description": "Parents, schools, unions and health groups for clean air.",
        },
    )
    CoalitionMember.objects.get_or_create(
        coalition=coalition, user=owner, defaults={"role": CoalitionMember.Role.OWNER}
    )
    CoalitionMember.objects.get_or_create(
        coalition=coalition,
        user=editor,
        defaults={"role": CoalitionMember.Role.ORGANISER},
    )
    return coalition
