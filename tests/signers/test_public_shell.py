"""The public page around its signer section is rendered once per state of the
letter and kept: the page made from it is the page the whole template makes,
byte for byte, whatever the letter, its signers and their text."""

import pytest
from django.template import engines
from django.template.loader import render_to_string
from django.test.signals import template_rendered
from django.utils import timezone

from letters.models import Letter
from signers.models import Signature
from signers.views import public
from signers.views.public_shell import PHRASE_MARK, SECTION_MARK, signers_phrase
from tests.letters.public_fixtures import (
    bump_signers_version,
    published_letter,
    sign,
    sign_many,
)

pytestmark = pytest.mark.django_db

HOSTILE = "<script>alert(\"x\")</script> & 'quoted' signers-phrase- {{ n }} %(n)s"


def whole_page(letter: Letter) -> str:
    """The page as the template renders it in one piece (the preview's way)."""
    return render_to_string(public.PAGE_TEMPLATE, public._page_context(letter))


@pytest.fixture
def renders():
    rendered: list[str] = []

    def seen(sender, template, context, **kwargs):
        rendered.append(template.name)

    template_rendered.connect(seen, weak=False)
    yield rendered
    template_rendered.disconnect(seen)


@pytest.mark.parametrize("count", [0, 1, 2, 21, 1000, 1234567])
def test_the_count_reads_as_the_templates_plural_wrote_it(count):
    template = engines["django"].from_string(
        "{% load i18n %}{% blocktranslate count n=n %}{{ n }} signer"
        "{% plural %}{{ n }} signers{% endblocktranslate %}"
    )
    assert signers_phrase(count) == template.render({"n": count})


def test_the_page_from_the_shell_is_the_whole_page_in_every_state(client):
    letter = published_letter(
        revision={"title": HOSTILE, "addressee": HOSTILE},
        signer_kinds=Letter.SignerKinds.BOTH,
    )
    pages = []

    def check():
        letter.refresh_from_db()
        page = public._page_html(letter)
        assert page == whole_page(letter)
        assert PHRASE_MARK not in page and SECTION_MARK not in page
        pages.append(page)

    check()  # nobody yet: no count in the description
    sign(letter, "Unlisted", consent_listed=False)
    bump_signers_version(letter)
    check()  # counted, not listed
    sign(letter, HOSTILE, affiliation=HOSTILE, city=HOSTILE)
    sign(letter, "A Person", kind=Signature.Kind.INDIVIDUAL)
    sign_many(letter, 45)
    bump_signers_version(letter)
    check()  # both lists, jump links
    Letter.objects.filter(pk=letter.pk).update(
        signer_kinds=Letter.SignerKinds.ORGANISATIONS, open_joining=False
    )
    check()  # changed without a new updated_at: a shell of its own
    Letter.objects.filter(pk=letter.pk).update(
        status=Letter.Status.CLOSED, closed_at=timezone.now()
    )
    check()
    assert len(set(pages)) == len(pages)
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in pages[-1]
    assert '<script>alert("x")' not in pages[-1]


def test_a_view_after_a_new_signature_renders_only_the_signer_section(client, renders):
    letter = published_letter()
    sign_many(letter, 20)
    url = f"/letters/{letter.slug}/"
    client.get(url)
    sign(letter, "Newcomer")
    bump_signers_version(letter)
    renders.clear()

    response = client.get(url)

    assert response.status_code == 200
    assert renders == [public.SIGNERS_TEMPLATE]
    letter.refresh_from_db()
    assert response.content.decode() == whole_page(letter)
    assert "Newcomer" in response.content.decode()
