from datetime import timedelta
from typing import Any

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from coalition.models import Coalition, User
from letters.models import Letter, Membership
from letters.services.letters import (
    letter_create,
    letter_update_draft,
    letter_update_settings,
)
from letters.services.lifecycle import letter_publish, letter_start_circulating
from letters.services.revisions import revision_publish
from signers.demo import seed_signers
from signers.models import Signature, Update
from signers.partners.demo import demo_coalition, seed_directory
from signers.services.communications import call_create, update_create, update_send
from signers.services.outreach import prospect_create
from signers.services.signing import signature_create

DEMO_EMAIL = "organiser@example.org"
DEMO_EDITOR_EMAIL = "editor@example.org"
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
# (name, city, country); sort names come from the signing service.
PUBLIC_DEMO_ORGANISATIONS = [
    ("The Cycling Collective", "Leeds", "United Kingdom"),
    ("Écoles Ouvertes", "Lyon", "France"),
    ("Parents for Safe Streets", "Bristol", "United Kingdom"),
    ("Living Streets Network", "London", "United Kingdom"),
    ("Die Radler", "Berlin", "Germany"),
    ("La Bicicleta Feliz", "Madrid", "Spain"),
    ("20's Plenty Coalition", "Manchester", "United Kingdom"),
    ("Greenfield Primary PTA", "Bristol", "United Kingdom"),
    ("Walk to School Alliance", "Cardiff", "United Kingdom"),
    ("Asthma Action", "London", "United Kingdom"),
    ("Kidical Mass", "Cologne", "Germany"),
    ("Hill Street Residents", "Glasgow", "United Kingdom"),
    ("Open Playgrounds", "Dublin", "Ireland"),
    ("Clean Air Parents", "Birmingham", "United Kingdom"),
    ("Öko-Schulweg e.V.", "Vienna", "Austria"),
    ("North End Cycle Hub", "Newcastle", "United Kingdom"),
    ("Safe Crossings Trust", "York", "United Kingdom"),
    ("Riverside Community Centre", "Bristol", "United Kingdom"),
    ("Youth Climate Forum", "Edinburgh", "United Kingdom"),
    ("Mothers on Bikes", "Amsterdam", "Netherlands"),
    ("Bus Users Group", "Sheffield", "United Kingdom"),
    ("Quiet Lanes Campaign", "Norwich", "United Kingdom"),
    ("Zebra Crossing Club", "Brighton", "United Kingdom"),
    ("Ünited Pedestrians", "Zürich", "Switzerland"),
]
# (name, affiliation, city, country); the last one asked not to be listed.
PUBLIC_DEMO_INDIVIDUALS = [
    ("Dr Amara Okafor", "Paediatrician", "Bristol", "United Kingdom"),
    ("José Álvarez", "Road safety engineer", "Madrid", "Spain"),
    ("Mei Chen", "Head teacher", "Leeds", "United Kingdom"),
    ("Tom Barker", "", "York", "United Kingdom"),
    ("Ingrid Solberg", "Urban planner", "Oslo", "Norway"),
    ("Priya Natarajan", "", "London", "United Kingdom"),
    ("Lukas Weber", "Cycling instructor", "Berlin", "Germany"),
    ("Sam Ellis", "", "Cardiff", "United Kingdom"),
]

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


DEMO_UPDATE_SUBJECT = "Thank you, and what happens next"
DEMO_UPDATE_BODY = """\
Thank you to everyone who has signed or is thinking about it.

We will deliver the letter to the **City Council** before its budget meeting.
Join the coalition call to plan the hand-over.
"""
DEMO_CALL_TITLE = "Coalition call: planning the hand-over"


def seed_communications(*, letter: Letter, owner: User) -> None:
    """A sent update and a call next week on the demo letter, once each."""
    if not letter.updates.filter(subject=DEMO_UPDATE_SUBJECT).exists():
        update = update_create(
            letter=letter,
            actor=owner,
            subject=DEMO_UPDATE_SUBJECT,
            body=DEMO_UPDATE_BODY,
            audience=Update.Audience.BOTH,
        )
        update_send(update=update, actor=owner)
    if not letter.calls.filter(title=DEMO_CALL_TITLE).exists():
        next_week = timezone.now() + timedelta(days=7)
        call_create(
            letter=letter,
            actor=owner,
            title=DEMO_CALL_TITLE,
            starts_at=next_week.replace(hour=17, minute=0, second=0, microsecond=0),
            duration_minutes=45,
            join_url="https://meet.example.org/clean-air-coalition",
            agenda="1. Where the signatures stand\n2. Who delivers the letter\n"
            "3. Press",
        )


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
        editor = self._user(DEMO_EDITOR_EMAIL, "Demo Editor")
        coalition = demo_coalition(owner=user, editor=editor)
        # Letters of a site seeded before coalitions join the demo coalition.
        Letter.objects.filter(slug__in=[DEMO_SLUG, PUBLIC_DEMO_SLUG]).exclude(
            coalition=coalition
        ).update(coalition=coalition)
        letter = Letter.objects.filter(slug=DEMO_SLUG).first()
        if letter is None:
            letter = letter_create(
                owner=user,
                coalition=coalition,
                title="Clean air for every school",
                slug=DEMO_SLUG,
                addressee="To the Members of the City Council",
                body=DEMO_BODY,
                points=DEMO_POINTS,
            )
        Membership.objects.get_or_create(
            letter=letter, user=editor, defaults={"role": Membership.Role.EDITOR}
        )
        self._revisions(letter, owner=user, editor=editor)
        if letter.status == Letter.Status.DRAFT:
            # Circulating, so the demo's prospects can be invited straight away.
            letter_start_circulating(letter=letter, actor=user)
        if options["signers"]:
            letter = Letter.objects.get(slug=DEMO_SLUG)
            seed_signers(letter=letter, author=user, count=options["signers"])
        if not Letter.objects.filter(slug=PUBLIC_DEMO_SLUG).exists():
            _create_public_demo_letter(user, coalition)
        seed_prospects(letter=letter, owner=user)
        seed_communications(letter=letter, owner=user)
        seed_directory(coalition=coalition, owner=user, editor=editor)
        if not options["quiet"]:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo organiser: {DEMO_EMAIL} / password: {DEMO_PASSWORD}"
                    f" (co-organiser: {DEMO_EDITOR_EMAIL}, same password)"
                )
            )
            self.stdout.write(f"Published demo letter: /letters/{PUBLIC_DEMO_SLUG}/")
            self.stdout.write(
                f"Demo coalition: /workspace/coalitions/{coalition.slug}/partners/"
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


def _create_public_demo_letter(owner: User, coalition: Coalition) -> None:
    """A published, open letter with a few dozen signers, made the way an
    organiser would: draft, first revision, publish, then import the signers."""
    letter = letter_create(
        owner=owner,
        coalition=coalition,
        title="Safe routes to every school",
        slug=PUBLIC_DEMO_SLUG,
        addressee="To the Members of the Transport Committee",
        body=PUBLIC_DEMO_BODY,
        points=PUBLIC_DEMO_POINTS,
    )
    letter_update_settings(
        letter=letter,
        actor=owner,
        signer_kinds=Letter.SignerKinds.BOTH,
        open_joining=True,
    )
    revision = revision_publish(
        letter=letter, author=owner, change_note="The text as agreed with partners."
    )
    letter_publish(letter=letter, actor=owner)
    people: list[dict[str, Any]] = [
        {"kind": Signature.Kind.ORGANISATION, "display_name": name, "city": city,
         "country": country, "attested": True}
        for name, city, country in PUBLIC_DEMO_ORGANISATIONS
    ] + [
        {"kind": Signature.Kind.INDIVIDUAL, "display_name": name,
         "affiliation": affiliation, "city": city, "country": country}
        for name, affiliation, city, country in PUBLIC_DEMO_INDIVIDUALS
    ]  # fmt: skip
    for number, fields in enumerate(people):
        signature_create(
            letter=letter,
            revision_id=revision.pk,
            source=Signature.Source.IMPORT,
            email=f"signer{number}@{PUBLIC_DEMO_SLUG}.example.org",
            consent_listed=number < len(people) - 1,
            **fields,
        )
