import pytest

from letters.models import Letter
from tests.factories import LetterFactory, ProspectFactory, RevisionFactory, UserFactory


def make_letter(**kwargs):
    """A letter with revision 1 as its current text, circulating by default."""
    kwargs.setdefault("status", Letter.Status.CIRCULATING)
    letter = LetterFactory(**kwargs)
    letter.current_revision = RevisionFactory(letter=letter, number=1)
    letter.save()
    return letter


@pytest.fixture
def organiser():
    return UserFactory()


@pytest.fixture
def letter(organiser):
    return make_letter(owner=organiser)


@pytest.fixture
def open_letter(organiser):
    return make_letter(
        owner=organiser, status=Letter.Status.PUBLISHED, open_joining=True
    )


@pytest.fixture
def prospect(letter):
    return ProspectFactory(letter=letter, organisation="Friends of the Park")
