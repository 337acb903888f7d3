"""Published letters and signatures for the public page, PDF and export tests.

Signatures are made as the signing service leaves them: a stored ``sort_name``
(lower-case, accents and leading articles removed) and ``signers_version``
bumped whenever the public list changes.
"""

from django.db import connection
from django.db.models import F
from django.utils import timezone

from letters.models import Letter
from letters.public_pages import public_pages_changed
from signers.models import Signature
from tests.factories import LetterFactory, RevisionFactory, SignatureFactory

# A cold public page: the letter, then its signer list with the counts (on
# PostgreSQL one query; elsewhere the list and the counts apart).
PAGE_QUERIES = 2 if connection.vendor == "postgresql" else 3


def published_letter(revision=None, **kwargs):
    """A published letter; ``revision`` sets fields of its (immutable) revision 1."""
    kwargs.setdefault("status", Letter.Status.PUBLISHED)
    kwargs.setdefault("published_at", timezone.now())
    letter = LetterFactory(**kwargs)
    letter.current_revision = RevisionFactory(
        letter=letter, number=1, **(revision or {})
    )
    letter.save()
    return letter


def sign(letter: Letter, name: str, sort_name: str | None = None, **kwargs):
    kwargs.setdefault("revision", letter.current_revision)
    kwargs.setdefault("normalised_name", name.lower())
    return SignatureFactory(
        letter=letter,
        display_name=name,
        sort_name=sort_name if sort_name is not None else name.lower(),
        **kwargs,
    )


def sign_many(letter: Letter, count: int, **kwargs):
    """``count`` confirmed organisations, named "Org 00000" onwards."""
    return Signature.objects.bulk_create(
        Signature(
            letter=letter,
            revision=letter.current_revision,
            kind=kwargs.get("kind", Signature.Kind.ORGANISATION),
            status=Signature.Status.CONFIRMED,
            source=Signature.Source.IMPORT,
            display_name=f"Org {i:05d}",
            sort_name=f"org {i:05d}",
            normalised_name=f"org {i:05d}",
            city="Springfield",
            country="United Kingdom",
            email=f"bulk{i}@signers.example.org",
            attested=True,
        )
        for i in range(count)
    )


def bump_signers_version(letter: Letter) -> None:
    """What the signing service does after any change to who is listed."""
    Letter.objects.filter(pk=letter.pk).update(signers_version=F("signers_version") + 1)
    public_pages_changed()
    letter.refresh_from_db()
