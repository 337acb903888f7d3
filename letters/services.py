from django.db import transaction
from django.utils.text import slugify

from coalition.models import User
from letters.models import Letter, Membership


@transaction.atomic
def letter_create(
    *, owner: User, title: str, slug: str = "", addressee: str = "", body: str = ""
) -> Letter:
    """Create a draft letter with ``owner`` as its first owner."""
    letter = Letter.objects.create(
        title=title,
        slug=slug or slugify(title)[:80],
        addressee=addressee,
        body=body,
    )
    Membership.objects.create(letter=letter, user=owner, role=Membership.Role.OWNER)
    return letter
