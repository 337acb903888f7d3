from typing import Any

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from coalition.models import User
from letters.models import Letter, Revision, text_hash
from letters.services import letter_create
from signers.models import Signature

DEMO_EMAIL = "organiser@example.org"
DEMO_PASSWORD = "coalition-demo"  # noqa: S105 - printed on purpose, demo only
DEMO_SLUG = "clean-air-for-every-school"

PUBLIC_DEMO_SLUG = "safe-routes-to-school"
PUBLIC_DEMO_POINTS = [
    "Every child can walk or cycle to school safely.",
    "School streets close to through traffic at the start and end of the day.",
    "Every school gets a crossing patrol or a signalled crossing.",
]
PUBLIC_DEMO_BODY = """\
We, the undersigned, ask the Transport Committee to make the journey to school
safe for every child in the city by the start of the next school year.

Two thirds of parents say traffic is the reason their children do not walk to
school. Where school streets have been tried, traffic outside the gates fell by
half and more children walked and cycled.

We ask the Committee to fund the measures above in this year's budget.
"""
# (name, sort name as the signing service stores it, city, country). Sort names
# fold case, accents and punctuation, drop a leading article and zero-pad
# numbers, so "The Cycling Collective" files under C and "Écoles Ouvertes" under E.
PUBLIC_DEMO_ORGANISATIONS = [
    ("The Cycling Collective", "cycling collective", "Leeds", "United Kingdom"),
    ("Écoles Ouvertes", "ecoles ouvertes", "Lyon", "France"),
    (
        "Parents for Safe Streets",
        "parents for safe streets",
        "Bristol",
        "United Kingdom",
    ),
    ("Living Streets Network", "living streets network", "London", "United Kingdom"),
    ("Die Radler", "radler", "Berlin", "Germany"),
    ("La Bicicleta Feliz", "bicicleta feliz", "Madrid", "Spain"),
    (
        "20's Plenty Coalition",
        "00000020s plenty coalition",
        "Manchester",
        "United Kingdom",
    ),
    ("Greenfield Primary PTA", "greenfield primary pta", "Bristol", "United Kingdom"),
    ("Walk to School Alliance", "walk to school alliance", "Cardiff", "United Kingdom"),
    ("Asthma Action", "asthma action", "London", "United Kingdom"),
    ("Kidical Mass", "kidical mass", "Cologne", "Germany"),
    ("Hill Street Residents", "hill street residents", "Glasgow", "United Kingdom"),
    ("Open Playgrounds", "open playgrounds", "Dublin", "Ireland"),
    ("Clean Air Parents", "clean air parents", "Birmingham", "United Kingdom"),
    ("Öko-Schulweg e.V.", "oko schulweg ev", "Vienna", "Austria"),
    ("North End Cycle Hub", "north end cycle hub", "Newcastle", "United Kingdom"),
    ("Safe Crossings Trust", "safe crossings trust", "York", "United Kingdom"),
    (
        "Riverside Community Centre",
        "riverside community centre",
        "Bristol",
        "United Kingdom",
    ),
    ("Youth Climate Forum", "youth climate forum", "Edinburgh", "United Kingdom"),
    ("Mothers on Bikes", "mothers on bikes", "Amsterdam", "Netherlands"),
    ("Bus Users Group", "bus users group", "Sheffield", "United Kingdom"),
    ("Quiet Lanes Campaign", "quiet lanes campaign", "Norwich", "United Kingdom"),
    ("Zebra Crossing Club", "zebra crossing club", "Brighton", "United Kingdom"),
    ("Ünited Pedestrians", "united pedestrians", "Zürich", "Switzerland"),
]
# (name, sort name, affiliation, city, country); the last one is not listed.
PUBLIC_DEMO_INDIVIDUALS = [
    (
        "Dr Amara Okafor",
        "dr amara okafor",
        "Paediatrician",
        "Bristol",
        "United Kingdom",
    ),
    ("José Álvarez", "jose alvarez", "Road safety engineer", "Madrid", "Spain"),
    ("Mei Chen", "mei chen", "Head teacher", "Leeds", "United Kingdom"),
    ("Tom Barker", "tom barker", "", "York", "United Kingdom"),
    ("Ingrid Solberg", "ingrid solberg", "Urban planner", "Oslo", "Norway"),
    ("Priya Natarajan", "priya natarajan", "", "London", "United Kingdom"),
    ("Lukas Weber", "lukas weber", "Cycling instructor", "Berlin", "Germany"),
    ("Sam Ellis", "sam ellis", "", "Cardiff", "United Kingdom"),
]

DEMO_BODY = """\
We, the undersigned organisations, call on the City Council to act on air quality
around schools before the next school year.

Children breathe faster than adults and spend the school day where traffic is
heaviest. Monitoring at twelve schools last winter found nitrogen dioxide above
the legal limit at nine of them.

We ask the Council to adopt the measures below in its next budget.
"""


class Command(BaseCommand):
    help = "Create the demo organiser and a sample letter (safe to run again)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--quiet", action="store_true", help="Print nothing.")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        user, created = User.objects.get_or_create(
            email=DEMO_EMAIL, defaults={"display_name": "Demo Organiser"}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        EmailAddress.objects.update_or_create(
            user=user,
            email=DEMO_EMAIL,
            defaults={"verified": True, "primary": True},
        )
        if not Letter.objects.filter(slug=DEMO_SLUG).exists():
            letter_create(
                owner=user,
                title="Clean air for every school",
                slug=DEMO_SLUG,
                addressee="To the Members of the City Council",
                body=DEMO_BODY,
            )
        if not Letter.objects.filter(slug=PUBLIC_DEMO_SLUG).exists():
            _create_public_demo_letter(user)
        if not options["quiet"]:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo organiser: {DEMO_EMAIL} / password: {DEMO_PASSWORD}"
                )
            )
            self.stdout.write(f"Published demo letter: /letters/{PUBLIC_DEMO_SLUG}/")


def _create_public_demo_letter(user: User) -> None:
    """A published, open letter with signers, as the signing work would leave it.

    Made directly with the ORM until publishing and signing have services to
    call; the sort names are the ones those services store.
    """
    letter = letter_create(
        owner=user,
        title="Safe routes to every school",
        slug=PUBLIC_DEMO_SLUG,
        addressee="To the Members of the Transport Committee",
        body=PUBLIC_DEMO_BODY,
    )
    revision = Revision.objects.create(
        letter=letter,
        number=1,
        title=letter.title,
        addressee=letter.addressee,
        points=PUBLIC_DEMO_POINTS,
        body=PUBLIC_DEMO_BODY,
        author=user,
        sha256=text_hash(
            addressee=letter.addressee, points=PUBLIC_DEMO_POINTS, body=PUBLIC_DEMO_BODY
        ),
    )
    now = timezone.now()
    signatures = [
        Signature(
            kind=Signature.Kind.ORGANISATION,
            display_name=name,
            sort_name=sort_name,
            city=city,
            country=country,
        )
        for name, sort_name, city, country in PUBLIC_DEMO_ORGANISATIONS
    ] + [
        Signature(
            kind=Signature.Kind.INDIVIDUAL,
            display_name=name,
            sort_name=sort_name,
            affiliation=affiliation,
            city=city,
            country=country,
        )
        for name, sort_name, affiliation, city, country in PUBLIC_DEMO_INDIVIDUALS
    ]
    for number, signature in enumerate(signatures):
        signature.letter = letter
        signature.revision = revision
        signature.status = Signature.Status.CONFIRMED
        signature.source = Signature.Source.INVITATION
        signature.normalised_name = signature.sort_name
        signature.email = f"signer{number}@{PUBLIC_DEMO_SLUG}.example.org"
        signature.attested = True
        signature.confirmed_at = now
    signatures[-1].consent_listed = False
    Signature.objects.bulk_create(signatures)
    Letter.objects.filter(pk=letter.pk).update(
        status=Letter.Status.PUBLISHED,
        signer_kinds=Letter.SignerKinds.BOTH,
        open_joining=True,
        current_revision=revision,
        last_material_revision_number=1,
        signers_version=1,
        points=PUBLIC_DEMO_POINTS,
        published_at=now,
    )
