import factory
from allauth.account.models import EmailAddress

from coalition.models import Coalition, CoalitionMember, User
from letters.models import Letter, Membership, Revision, text_hash
from signers import names
from signers.models import (
    Agreement,
    Partner,
    PartnerContact,
    Prospect,
    Signature,
    Tag,
)

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"organiser{n}@example.org")
    display_name = factory.Faker("name")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def verified(obj, create, extracted, **kwargs):
        if create and extracted is not False:
            EmailAddress.objects.create(
                user=obj, email=obj.email, verified=True, primary=True
            )


class CoalitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Coalition

    name = factory.Sequence(lambda n: f"Coalition number {n}")
    slug = factory.Sequence(lambda n: f"coalition-{n}")


class CoalitionMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CoalitionMember

    coalition = factory.SubFactory(CoalitionFactory)
    user = factory.SubFactory(UserFactory)
    role = CoalitionMember.Role.ORGANISER


class LetterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Letter
        skip_postgeneration_save = True

    coalition = factory.SubFactory(CoalitionFactory)
    title = factory.Sequence(lambda n: f"Open letter number {n}")
    slug = factory.Sequence(lambda n: f"open-letter-{n}")
    addressee = "To the Members of the City Council"
    points = factory.LazyFunction(
        lambda: ["Clean air is a right.", "Act before the next school year."]
    )
    body = "We ask the Council to act."

    @factory.post_generation
    def owner(obj, create, extracted, **kwargs):
        if create and extracted:
            Membership.objects.create(
                letter=obj, user=extracted, role=Membership.Role.OWNER
            )


class RevisionFactory(factory.django.DjangoModelFactory):
    """A frozen revision. Prefer the letters service in tests of publishing."""

    class Meta:
        model = Revision

    letter = factory.SubFactory(LetterFactory)
    number = factory.Sequence(lambda n: n + 1)
    title = factory.LazyAttribute(lambda r: r.letter.title)
    addressee = factory.LazyAttribute(lambda r: r.letter.addressee)
    points = factory.LazyAttribute(lambda r: list(r.letter.points))
    body = factory.LazyAttribute(lambda r: r.letter.body)
    author = factory.SubFactory(UserFactory)
    sha256 = factory.LazyAttribute(
        lambda r: text_hash(addressee=r.addressee, points=r.points, body=r.body)
    )


class ProspectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Prospect

    letter = factory.SubFactory(LetterFactory)
    organisation = factory.Sequence(lambda n: f"Friends of Park {n}")
    contact_name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"contact{n}@partner.example.org")


class SignatureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Signature

    letter = factory.SubFactory(LetterFactory)
    revision = factory.LazyAttribute(
        lambda s: s.letter.current_revision or RevisionFactory(letter=s.letter)
    )
    kind = Signature.Kind.ORGANISATION
    status = Signature.Status.CONFIRMED
    source = Signature.Source.INVITATION
    display_name = factory.Sequence(lambda n: f"Neighbourhood Association {n}")
    sort_name = factory.LazyAttribute(lambda s: s.display_name.lower())
    normalised_name = factory.LazyAttribute(lambda s: s.display_name.lower())
    city = "Springfield"
    country = "United Kingdom"
    contact_name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"signer{n}@org.example.org")
    attested = True


def circulating_letter(**kwargs):
    """A letter out for signature: an owner, a first revision, circulating."""
    owner = kwargs.pop("owner", None) or UserFactory()
    letter = LetterFactory(owner=owner, status=Letter.Status.CIRCULATING, **kwargs)
    letter.current_revision = RevisionFactory(letter=letter, number=1, author=owner)
    letter.save()
    return letter


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag

    coalition = factory.SubFactory(CoalitionFactory)
    name = factory.Sequence(lambda n: f"issue {n}")


class PartnerFactory(factory.django.DjangoModelFactory):
    """A directory partner; its name keys computed as the services do."""

    class Meta:
        model = Partner

    coalition = factory.SubFactory(CoalitionFactory)
    name = factory.Sequence(lambda n: f"Partner Organisation {n}")
    sort_name = factory.LazyAttribute(lambda o: names.sort_name(o.name))
    normalised_name = factory.LazyAttribute(lambda o: names.normalise_name(o.name))
    skeleton_name = factory.LazyAttribute(lambda o: names.skeleton_name(o.name))
    kind = Partner.Kind.NGO


class PartnerContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PartnerContact

    partner = factory.SubFactory(PartnerFactory)
    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"contact{n}@partner.example.org")
    consent_to_contact = True


class AgreementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agreement

    partner = factory.SubFactory(PartnerFactory)
    title = factory.Sequence(lambda n: f"Memorandum {n}")
    text = "We work together on the campaign."
