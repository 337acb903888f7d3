import factory
from allauth.account.models import EmailAddress

from coalition.models import User
from letters.models import Letter, Membership

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


class LetterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Letter
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Open letter number {n}")
    slug = factory.Sequence(lambda n: f"open-letter-{n}")
    addressee = "To the Members of the City Council"
    body = "We ask the Council to act."

    @factory.post_generation
    def owner(obj, create, extracted, **kwargs):
        if create and extracted:
            Membership.objects.create(
                letter=obj, user=extracted, role=Membership.Role.OWNER
            )
