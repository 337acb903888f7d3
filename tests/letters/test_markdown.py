from html.parser import HTMLParser
from unittest import mock

import pytest
from django.urls import reverse
from markdown_it import MarkdownIt

from coalition.tokens import make_token
from letters.markdown import paragraphs, render_markdown
from letters.models import Letter
from signers.emails import receipt_message
from signers.exports import letter_pdf_context
from tests.factories import ProspectFactory
from tests.signers.conftest import make_letter
from tests.signers.helpers import sign

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<a href="#" onclick="alert(1)">x</a>',
    "<iframe src='https://example.org'></iframe>",
    "<svg onload=alert(1)>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    "![x](http://127.0.0.1:9/track.png)",
    "<style>body{display:none}</style>",
    "[x](vbscript:msgbox(1))",
    '<a href="javascript&colon;alert(1)">x</a>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
]


class Elements(HTMLParser):
    """Every element and attribute the browser would build from the HTML."""

    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend((k, v or "") for k, v in attrs)


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_markdown_never_lets_script_or_fetches_through(payload):
    parsed = Elements()
    parsed.feed(render_markdown(payload))

    assert set(parsed.tags) <= {"p", "a", "br"}, parsed.tags
    for name, value in parsed.attrs:
        assert name in {"href", "rel", "title"}, (payload, name)
        if name == "href":
            assert value.split(":", 1)[0].lower() in {"http", "https", "mailto"}


def test_markdown_keeps_ordinary_formatting_and_safe_links():
    html = render_markdown(
        "# Heading\n\nWe **urge** the *Council*.\n\n- one\n- two\n\n"
        "[Our site](https://example.org/about)"
    )

    assert "<h2>Heading</h2>" in html  # the page's h1 is the letter title
    assert "<strong>urge</strong>" in html and "<em>Council</em>" in html
    assert "<li>one</li>" in html
    assert 'href="https://example.org/about"' in html
    assert 'rel="noopener noreferrer nofollow"' in html


def test_paragraphs_split_on_blank_lines():
    assert paragraphs("One\nstill one.\r\n\r\nTwo\n\n\n\nThree") == [
        "One\nstill one.",
        "Two",
        "Three",
    ]


@pytest.mark.django_db
def test_a_revision_is_rendered_once_for_its_pages_emails_and_pdf(client):
    letter = make_letter(status=Letter.Status.PUBLISHED, open_joining=True)
    prospect = ProspectFactory(letter=letter)
    signature = sign(letter, display_name="Friends", email="f@example.org")
    invitation = reverse("signers:invitation", args=[make_token("invite", prospect.pk)])
    pages = [
        invitation,
        invitation,
        reverse("signers:decline", args=[make_token("decline", prospect.pk)]),
        reverse("signers:join", args=[letter.slug]),
        reverse("signers:public", args=[letter.slug]),
    ]

    with mock.patch.object(
        MarkdownIt, "render", autospec=True, side_effect=MarkdownIt.render
    ) as renders:
        for path in pages:
            assert client.get(path).status_code == 200
        receipt_message(signature=signature, revision=letter.current_revision)
        letter_pdf_context(letter=letter, revision=letter.current_revision)

    assert renders.call_count == 1
    assert (
        "We ask the Council to act."
        in receipt_message(
            signature=signature, revision=letter.current_revision
        ).alternatives[0][0]
    )


@pytest.mark.django_db
def test_a_revision_shown_again_by_the_same_process_costs_no_cache_round_trip(
    monkeypatch,
):
    from django.core.cache import cache

    from letters import markdown
    from tests.factories import RevisionFactory

    revision = RevisionFactory(body="# Heading\n\nWe ask **you**.")
    monkeypatch.setattr(markdown, "_recent_revisions", {})
    reads = []
    real_get = cache.get
    monkeypatch.setattr(cache, "get", lambda *a, **k: reads.append(a) or real_get(*a))

    first = markdown.render_revision_body(revision)
    again = markdown.render_revision_body(type(revision).objects.get(pk=revision.pk))

    assert first == again == render_markdown(revision.body)
    assert len(reads) == 1
