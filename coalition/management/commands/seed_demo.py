from datetime import timedelta
from typing import Any

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from coalition.models import User
from letters.models import Letter
from letters.services import letter_create
from signers.services import prospect_create

DEMO_EMAIL = "organiser@example.org"
DEMO_PASSWORD = "coalition-demo"  # noqa: S105 - printed on purpose, demo only
DEMO_SLUG = "clean-air-for-every-school"

DEMO_BODY = """\
We, the undersigned organisations, call on the City Council to act on air quality
around schools before the next school year.

Children breathe faster than adults and spend the school day where traffic is
heaviest. Monitoring at twelve schools last winter found nitrogen dioxide above
the legal limit at nine of them.

We ask the Council to adopt the measures below in its next budget.
"""


# One prospect in every outreach status: (organisation, contact, email, status).
DEMO_PROSPECTS = [
    ("Parents for Clean Air", "Amina Yusuf", "amina@parents.example.org", "identified"),
    ("Cycling Campaign", "Tom Berger", "tom@cycling.example.org", "invited"),
    ("Asthma Support Network", "Lena Okafor", "lena@asthma.example.org", "opened"),
    ("Teachers' Union Local 12", "Raj Patel", "raj@teachers.example.org", "signed"),
    ("Chamber of Commerce", "Greta Holm", "greta@chamber.example.org", "declined"),
    ("City Hospital Trust", "Omar Haddad", "omar@hospital.example.org", "needs_time"),
    ("Youth Climate Club", "Mia Santos", "mia@youth.example.org", "no_response"),
    ("Motorists' Association", "Bill Carter", "bill@motorists.example.org",
     "do_not_contact"),
]  # fmt: skip


def seed_prospects(*, letter: Letter, owner: User) -> None:
    """Add the demo prospects that are missing; leaves existing ones alone."""
    existing = set(letter.prospects.values_list("email", flat=True))
    follow_up = timezone.localdate() + timedelta(days=2)
    for organisation, contact, email, status in DEMO_PROSPECTS:
        if email in existing:
            continue
        prospect_create(
            letter=letter,
            organisation=organisation,
            contact_name=contact,
            email=email,
            status=status,
            owner=owner if status != "identified" else None,
            is_large=organisation.startswith("City"),
            next_follow_up=follow_up if status == "needs_time" else None,
        )


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
        letter = Letter.objects.filter(slug=DEMO_SLUG).first()
        if letter is None:
            letter = letter_create(
                owner=user,
                title="Clean air for every school",
                slug=DEMO_SLUG,
                addressee="To the Members of the City Council",
                body=DEMO_BODY,
            )
        seed_prospects(letter=letter, owner=user)
        if not options["quiet"]:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo organiser: {DEMO_EMAIL} / password: {DEMO_PASSWORD}"
                )
            )
