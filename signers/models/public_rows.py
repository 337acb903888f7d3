"""A signature's row of the public signer list, as markup the database keeps.

The public page's list is read as one string per A-Z group, aggregated in the
database from each listed signature's stored row (``signer_listing_public``
in ``signers/selectors/public.py``), so a cold page does no work per name. The
row is a
generated column: the database rewrites it with every write to the fields it
shows, whatever makes the write (a service, the admin, an import, an
``update()``), so it cannot fall out of step.

It shows what a row shows and nothing about whether it is listed: who is
listed (confirmed, consenting, of an allowed kind, on the current text) stays
the query's filter. Every value is a stranger's text, escaped as Python's
``html.escape`` does (``& < > " '``), so the stored row is byte for byte what
``signers.views.public._signer_item`` writes, without the ``<li>`` that opens
it (the query adds it, with the id) and with the logos' address left for the
page to add after :data:`LOGO_SOURCE` (the site's URLs are not the
database's). A change to the markup here is a change to every stored row: it
comes with a migration (``makemigrations`` sees it), and with the same change
to ``_signer_item`` (tests/signers/test_public_rows.py holds the two equal).
"""

from django.db.models import Case, F, Func, Q, TextField, Value, When
from django.db.models.expressions import Combinable
from django.db.models.functions import Concat, Length, Replace, Substr

# Escaped text never holds "<" or '"', so this occurs only where a logo is.
LOGO_SOURCE = '<img class="signer__logo" src="'

# The logo of a listed signature is shown only when its organisation agreed.
# Kind values written out, as the migrations record them.
SHOWN_LOGO = Q(consent_logo=True, kind="organisation") & ~Q(logo="")


def _text(*parts: Combinable) -> Concat:
    return Concat(*parts, output_field=TextField())


def _escaped(value: str | Combinable) -> Combinable:
    text: Combinable = F(value) if isinstance(value, str) else value
    for character, entity in (
        ("&", "&amp;"),
        ("<", "&lt;"),
        (">", "&gt;"),
        ('"', "&quot;"),
        ("'", "&#x27;"),
    ):
        text = Replace(text, Value(character), Value(entity))
    return text


def _escaped_logo_name() -> Combinable:
    """The stored logo's name after its last "/", escaped: what is left of
    ``logo`` once RTRIM has taken every character that is not a "/" off its
    end is its folder."""
    folder = Func(F("logo"), Replace(F("logo"), Value("/")), function="RTRIM")
    return _escaped(Substr(F("logo"), Length(folder) + 1))


def _place() -> Case:
    opening = Value(' <span class="signer__place">')
    return Case(
        When(
            ~Q(city="") & ~Q(country=""),
            then=_text(
                opening,
                _escaped("city"),
                Value(", "),
                _escaped("country"),
                Value("</span>"),
            ),
        ),
        When(~Q(city=""), then=_text(opening, _escaped("city"), Value("</span>"))),
        When(
            ~Q(country=""), then=_text(opening, _escaped("country"), Value("</span>"))
        ),
        default=Value(""),
        output_field=TextField(),
    )


PUBLIC_ROW = _text(
    Case(
        When(
            SHOWN_LOGO,
            then=_text(
                Value(LOGO_SOURCE),
                _escaped_logo_name(),
                Value('" alt="" loading="lazy"> '),
            ),
        ),
        default=Value(""),
        output_field=TextField(),
    ),
    Case(
        When(
            ~Q(website=""),
            then=_text(
                Value('<a class="signer__name" href="'),
                _escaped("website"),
                Value('" rel="nofollow ugc noopener">'),
                _escaped("display_name"),
                Value("</a>"),
            ),
        ),
        default=_text(
            Value('<span class="signer__name">'),
            _escaped("display_name"),
            Value("</span>"),
        ),
        output_field=TextField(),
    ),
    Case(
        When(
            ~Q(affiliation=""),
            then=_text(
                Value('<span class="signer__affiliation">, '),
                _escaped("affiliation"),
                Value("</span>"),
            ),
        ),
        default=Value(""),
        output_field=TextField(),
    ),
    _place(),
    Value("</li>\n"),
)
