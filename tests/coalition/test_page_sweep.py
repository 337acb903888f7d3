"""Strangers' text on the site's own pages and in the PDF stays text.

A signer, a prospect and an organiser put markup into every field they can set;
every page that shows those fields is parsed, and nothing of what they typed may
become an element or an attribute. The same text must still be there, as text.
"""

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from letters.models import Letter
from letters.pdf import SignerEntry
from signers.models import Signature
from tests.factories import LetterFactory, ProspectFactory, RevisionFactory, UserFactory
from tests.letters.helpers import pdf_text
from tests.signers.helpers import sign

pytestmark = pytest.mark.django_db

MARKUP = '<img src=x onerror=alert(1)><script>alert(2)</script>"><b data-x=1>'


URL_ATTRIBUTES = {"href", "src", "action", "formaction", "srcset", "poster"}


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> Elements:
    parser = Elements()
    parser.feed(html)
    return parser


def assert_inert(html: str, *, expect_text: bool = True) -> None:
    page = parse(html)
    for tag, attrs in page.elements:
        assert not (tag == "img" and attrs.get("src") == "x"), attrs
        assert not (tag == "b" and "data-x" in attrs), attrs
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        if tag == "script":
            assert (attrs.get("src") or "").startswith("/static/"), attrs
        # Text inside an attribute value is inert (escaped); a URL is not.
        for name in URL_ATTRIBUTES & attrs.keys():
            assert "alert(" not in (attrs[name] or ""), (tag, attrs)
    if expect_text:
        assert "<img src=x onerror=alert(1)>" in "".join(page.text)


@pytest.fixture
def world(client):
    owner = UserFactory()
    letter = LetterFactory(
        title=f"Title {MARKUP}",
        status=Letter.Status.PUBLISHED,
        open_joining=True,
        signer_kinds=Letter.SignerKinds.BOTH,
        owner=owner,
    )
    letter.current_revision = RevisionFactory(
        letter=letter,
        number=1,
        addressee=f"To {MARKUP}",
        points=[f"Point {MARKUP}"],
        body=f"Body {MARKUP}\n\n[link](javascript:alert(3))",
    )
    letter.save()
    signature = sign(
        letter,
        display_name=f"Org {MARKUP}",
        email="org@example.org",
        city=f"City {MARKUP}",
        country=f"Country {MARKUP}",
        contact_name=f"Contact {MARKUP}",
        comment=f"Comment {MARKUP}",
    )
    sign(
        letter,
        kind=Signature.Kind.INDIVIDUAL,
        display_name=f"Person {MARKUP}",
        email="person@example.org",
        affiliation=f"Affiliation {MARKUP}",
    )
    ProspectFactory(
        letter=letter,
        organisation=f"Prospect {MARKUP}",
        contact_name=f"Prospect contact {MARKUP}",
        notes=f"Notes {MARKUP}",
        email="prospect@example.org",
    )
    client.force_login(owner)
    return letter, signature


@pytest.mark.parametrize(
    "name",
    [
        "signers:public",
        "signers:embed",
        "signers:join",
        "letters:detail",
        "letters:revisions",
        "letters:activity",
        "signers:letter-signatures",
        "signers:outreach",
    ],
)
def test_pages_show_strangers_markup_as_text(client, world, name):
    letter, _signature = world

    response = client.get(reverse(name, args=[letter.slug]))

    assert response.status_code == 200
    assert_inert(response.content.decode())


def test_the_signature_detail_shows_private_fields_as_text(client, world):
    letter, signature = world

    response = client.get(
        reverse("signers:signature-detail", args=[letter.slug, signature.pk])
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert_inert(html)
    assert "Comment &lt;img" in html


def test_the_pdf_prints_strangers_markup_as_text(client, world):
    letter, _signature = world

    response = client.get(reverse("signers:pdf-download", args=[letter.slug]))

    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(b"".join(response.streaming_content))
    # Printed literally: the renderer made neither an image nor a script of it.
    # The list is set in pre-broken lines (a name's second line is laid in
    # another layer, so it is read after the column's first lines): each line
    # of the name is in the text as it was set.
    lines = SignerEntry(name=_signature.display_name, affiliation="", place="").lines
    assert lines[0][0].startswith("Org <img src=x")
    for line, _bold in lines:
        assert line in text
