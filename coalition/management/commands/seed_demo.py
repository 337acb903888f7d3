from typing import Any

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction

from coalition.models import User
from letters.models import Letter
from letters.services import letter_create

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


class Command(BaseCommand):
    help = "Create the demo organiser and a sample letter (safe to run again)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--quiet", action="store_true", help="Print nothing.")
        parser.add_argument(
            "--signers",
            type=int,
            default=0,
            metavar="N",
            help="Give the demo letter N demo signers (through the signing service).",
        )

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
        if options["signers"]:
            from signers.demo import seed_signers

            letter = Letter.objects.get(slug=DEMO_SLUG)
            seed_signers(letter=letter, author=user, count=options["signers"])
        if not options["quiet"]:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo organiser: {DEMO_EMAIL} / password: {DEMO_PASSWORD}"
                )
            )
