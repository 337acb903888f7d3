"""Realistic demo signers for `seed_demo --signers N`, through the real service."""

import random
from typing import Final

from django.db import transaction
from django.db.models import Q

from coalition.models import User
from letters.models import Letter, Revision, text_hash
from signers.models import Signature
from signers.names import name_keys
from signers.services.signing import signature_create

ARTICLES: Final = ["", "", "", "The ", "La ", "Les ", "Die ", "El ", "De "]
PLACES: Final = [
    "Riverside", "Northgate", "Östra", "Saint-Étienne", "Hillcrest", "Zürich",
    "Łódź", "São Bento", "Ashford", "Kraków", "Mühlbach", "Valle Verde",
]  # fmt: skip
KINDS: Final = [
    "Tenants' Union", "Parents' Association", "Cycling Club", "Food Bank",
    "Residents' Forum", "Youth Network", "Climate Action Group", "Health Collective",
    "Asthma Support Circle", "School Governors", "Allotment Society", "Choir",
]  # fmt: skip
COUNTRIES: Final = ["United Kingdom", "France", "Germany", "Spain", "Poland"]


def demo_signer(i: int) -> tuple[str, str, str]:
    """Name, city and country of demo signer ``i``, the same on every run."""
    rng = random.Random(i)  # noqa: S311 - demo data, not security
    place = rng.choice(PLACES)
    name = f"{rng.choice(ARTICLES)}{place} {rng.choice(KINDS)}"
    return name, place, rng.choice(COUNTRIES)


@transaction.atomic
def seed_signers(*, letter: Letter, author: User, count: int) -> int:
    """Make sure ``letter`` has ``count`` demo signers; returns how many were
    added. Safe to run again: demo signers are known by their address."""
    if letter.current_revision is None:
        revision = Revision.objects.create(
            letter=letter,
            number=1,
            title=letter.title,
            addressee=letter.addressee,
            points=letter.points,
            body=letter.body,
            author=author,
            sha256=text_hash(
                addressee=letter.addressee, points=letter.points, body=letter.body
            ),
        )
        letter.current_revision = revision
        letter.save(update_fields=["current_revision"])
    existing = set(
        Signature.objects.filter(
            letter=letter, email__endswith="@demo-signer.example.org"
        ).values_list("email", flat=True)
    )
    added = 0
    i = 0
    while len(existing) + added < count:
        email = f"signer{i}@demo-signer.example.org"
        i += 1
        if email in existing:
            continue
        name, city, country = demo_signer(i)
        keys = name_keys(name)
        if Signature.objects.filter(
            Q(normalised_name=keys.normalised) | Q(skeleton_name=keys.skeleton),
            letter=letter,
        ).exists():
            name = f"{name} {i}"
        signature_create(
            letter=letter,
            revision_id=letter.current_revision_id or 0,
            source=Signature.Source.IMPORT,
            display_name=name,
            email=email,
            city=city,
            country=country,
            contact_name=f"Contact {i}",
            attested=True,
        )
        added += 1
    return added
