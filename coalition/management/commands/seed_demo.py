from typing import Any

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction

from coalition.models import User
from letters.models import Letter, Membership
from letters.services import letter_create, letter_update_draft, revision_publish

DEMO_EMAIL = "organiser@example.org"
DEMO_EDITOR_EMAIL = "editor@example.org"
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
DEMO_POINTS = [
    "Every child deserves clean air at school.",
    "Traffic near school gates must be cut at drop-off and pick-up times.",
    "Air quality around schools must be measured and published.",
]
DEMO_BODY_2 = DEMO_BODY.replace("next budget", "budget for the coming year")


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
        user = self._user(DEMO_EMAIL, "Demo Organiser")
        letter = Letter.objects.filter(slug=DEMO_SLUG).first()
        if letter is None:
            letter = letter_create(
                owner=user,
                title="Clean air for every school",
                slug=DEMO_SLUG,
                addressee="To the Members of the City Council",
                body=DEMO_BODY,
                points=DEMO_POINTS,
            )
        editor = self._user(DEMO_EDITOR_EMAIL, "Demo Editor")
        Membership.objects.get_or_create(
            letter=letter, user=editor, defaults={"role": Membership.Role.EDITOR}
        )
        self._revisions(letter, owner=user, editor=editor)
        if options["signers"]:
            from signers.demo import seed_signers

            letter = Letter.objects.get(slug=DEMO_SLUG)
            seed_signers(letter=letter, author=user, count=options["signers"])
        if not options["quiet"]:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo organiser: {DEMO_EMAIL} / password: {DEMO_PASSWORD}"
                    f" (co-organiser: {DEMO_EDITOR_EMAIL}, same password)"
                )
            )

    def _user(self, email: str, name: str) -> User:
        user, created = User.objects.get_or_create(
            email=email, defaults={"display_name": name}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        return user

    def _revisions(self, letter: Letter, *, owner: User, editor: User) -> None:
        """Revision 1 by the owner, then an editorial revision 2 by the editor."""
        count = letter.revisions.count()
        if count == 0:
            if not letter.points:
                letter.points = DEMO_POINTS
                letter.save(update_fields=["points"])
            revision_publish(
                letter=letter, author=owner, change_note="First text for partners."
            )
        if count <= 1:
            letter_update_draft(
                letter=letter,
                actor=editor,
                title=letter.title,
                addressee=letter.addressee,
                points=letter.points,
                body=DEMO_BODY_2,
            )
            revision_publish(
                letter=letter,
                author=editor,
                change_note="Ask for the coming year's budget, not the next one.",
            )
