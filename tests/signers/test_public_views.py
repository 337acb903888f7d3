import gzip
import re
from datetime import UTC, datetime

import brotli
import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from coalition import compression
from coalition.tokens import make_token
from letters.models import Letter
from letters.public_pages import GENERATION_KEY, public_pages_changed
from signers.models import Signature
from signers.services.signatures import signature_withdraw
from signers.views import public
from tests.factories import (
    LetterFactory,
    ProspectFactory,
    RevisionFactory,
    UserFactory,
)
from tests.letters.public_fixtures import (
    PAGE_QUERIES,
    bump_signers_version,
    published_letter,
    sign,
    sign_many,
)

pytestmark = pytest.mark.django_db


def page_url(letter):
    return reverse("signers:public", kwargs={"slug": letter.slug})


def html_of(client, letter):
    response = client.get(page_url(letter))
    assert response.status_code == 200
    return response.content.decode()


def test_public_page_shows_the_revision_text_and_counts_confirmed_signers(client):
    letter = published_letter(
        signer_kinds=Letter.SignerKinds.BOTH,
        revision={
            "title": "Clean air now",
            "addressee": "To the Mayor",
            "points": ["Stop idling", "Plant trees"],
            "body": "We *insist*.",
        },
    )
    sign(letter, "Air Alliance")
    sign(letter, "Ada Lovelace", kind=Signature.Kind.INDIVIDUAL, affiliation="Maths")
    sign(letter, "Quiet Group", consent_listed=False)
    sign(letter, "Waiting Group", status=Signature.Status.PENDING)

    html = html_of(client, letter)

    assert "<h1" in html and "Clean air now" in html
    assert "To the Mayor" in html
    assert "<li>Stop idling</li>" in html and "<li>Plant trees</li>" in html
    assert "<em>insist</em>" in html
    assert "3 signers" in html
    assert "and 1 more who asked not to be named" in html
    assert "Quiet Group" not in html
    assert "Waiting Group" not in html
    assert html.index("Air Alliance") < html.index("Ada Lovelace")
    assert "Affiliations are for identification only" in html
    assert letter.current_revision.sha256 in html


def test_organisations_only_letter_does_not_list_individuals(client):
    letter = published_letter(signer_kinds=Letter.SignerKinds.ORGANISATIONS)
    sign(letter, "Air Alliance")
    sign(letter, "Ada Lovelace", kind=Signature.Kind.INDIVIDUAL)

    html = html_of(client, letter)

    assert "Ada Lovelace" not in html
    assert "1 signer" in html


def test_only_public_fields_appear_on_the_page(client):
    letter = published_letter()
    signature = sign(
        letter,
        "Harbour Trust",
        city="Portsmouth",
        country="United Kingdom",
        website="https://harbour.example.org/",
        contact_name="Secret Contact Person",
        contact_title="Director of Secrets",
        email="private-contact@harbour.example.org",
        phone="+44 7000 123456",
        comment="Please do not publish this comment",
        confirmed_at=timezone.now(),
    )

    html = html_of(client, letter)

    assert "Harbour Trust" in html
    assert "Portsmouth, United Kingdom" in html
    assert 'href="https://harbour.example.org/"' in html
    assert f'id="s-{signature.pk}"' in html
    for private in (
        "Secret Contact Person",
        "Director of Secrets",
        "private-contact@harbour.example.org",
        "+44 7000 123456",
        "Please do not publish",
        signature.created_at.strftime("%Y-%m-%d"),
    ):
        assert private not in html.split('<section id="signers"')[1]
    assert "private-contact" not in html


@pytest.mark.parametrize(
    "status",
    [
        Signature.Status.PENDING,
        Signature.Status.PENDING_APPROVAL,
        Signature.Status.NEEDS_RECONFIRMATION,
        Signature.Status.WITHDRAWN,
        Signature.Status.REJECTED,
    ],
)
def test_signatures_that_are_not_confirmed_are_neither_listed_nor_counted(
    client, status
):
    letter = published_letter()
    sign(letter, "Listed Group")
    sign(letter, "Unsettled Group", status=status)

    html = html_of(client, letter)

    assert "Unsettled Group" not in html
    assert "1 signer" in html


@pytest.mark.parametrize("status", [Letter.Status.DRAFT, Letter.Status.CIRCULATING])
def test_unpublished_letter_is_not_found_by_visitors_or_other_users(client, status):
    letter = published_letter(status=status)
    sign(letter, "Early Signer")
    assert client.get(page_url(letter)).status_code == 404
    client.force_login(UserFactory())
    assert client.get(page_url(letter)).status_code == 404
    for name in ("signers:pdf-download", "signers:signers-csv", "signers:embed"):
        assert client.get(reverse(name, args=[letter.slug])).status_code == 404


def test_organiser_previews_an_unpublished_letter_with_a_banner(client):
    organiser = UserFactory()
    letter = published_letter(status=Letter.Status.CIRCULATING, owner=organiser)
    sign(letter, "Early Signer")
    client.force_login(organiser)

    response = client.get(page_url(letter))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Preview for organisers" in html
    assert "Early Signer" in html
    assert "no-store" in response.headers["Cache-Control"]


def test_organiser_previews_a_draft_without_a_revision_from_the_working_copy(client):
    organiser = UserFactory()
    letter = LetterFactory(owner=organiser, body="Working copy of the body.")
    client.force_login(organiser)

    html = html_of(client, letter)

    assert "Working copy of the body." in html
    assert "Preview for organisers" in html


def test_open_published_letter_links_to_the_join_form(client):
    letter = published_letter(open_joining=True)
    html = html_of(client, letter)
    join = reverse("signers:join", kwargs={"slug": letter.slug})
    assert f'href="{join}"' in html
    assert "Add your organisation" in html


def test_individuals_only_open_letter_asks_for_a_name(client):
    letter = published_letter(
        open_joining=True, signer_kinds=Letter.SignerKinds.INDIVIDUALS
    )
    assert "Add your name" in html_of(client, letter)


@pytest.mark.parametrize(
    ("status", "open_joining"),
    [(Letter.Status.PUBLISHED, False), (Letter.Status.CLOSED, True)],
)
def test_no_join_link_unless_published_and_open(client, status, open_joining):
    letter = published_letter(status=status, open_joining=open_joining)
    html = html_of(client, letter)
    assert reverse("signers:join", kwargs={"slug": letter.slug}) not in html


def test_closed_letter_shows_a_closed_banner(client):
    letter = published_letter(
        status=Letter.Status.CLOSED,
        closed_at=datetime(2025, 3, 14, 12, tzinfo=UTC),
    )
    html = html_of(client, letter)
    assert "Signing closed on 14 March 2025" in html


def test_share_metadata_describes_the_letter(client, settings):
    settings.SITE_URL = "https://coalition.example.org"
    letter = published_letter()
    sign(letter, "Air Alliance")

    html = html_of(client, letter)

    title = re.escape(letter.current_revision.title)
    assert re.search(rf"<title>{title} · Coalition</title>", html)
    assert re.search(rf'<meta property="og:title" content="{title}">', html)
    assert (
        f'<meta property="og:url" content="https://coalition.example.org'
        f'/letters/{letter.slug}/">' in html
    )
    assert '<meta name="twitter:card" content="summary">' in html
    assert "1 signer" in re.search(r'og:description" content="([^"]*)"', html)[1]


def test_long_lists_get_a_to_z_jump_links_to_their_first_letters(client):
    letter = published_letter()
    for name in ("Alpha", "Bravo", "Charlie"):
        for n in range(15):
            sign(letter, f"{name} {n:02d}")

    html = html_of(client, letter)

    assert '<a href="#az-org-a">A</a>' in html
    assert '<a href="#az-org-c">C</a>' in html
    assert 'href="#az-org-d"' not in html
    assert html.index('id="az-org-b"') < html.index("Bravo 00")


def test_short_lists_have_no_jump_links(client):
    letter = published_letter()
    sign(letter, "Alpha")
    assert 'href="#az-org-a"' not in html_of(client, letter)


def test_page_costs_the_same_queries_at_10_and_2000_signers(
    client, django_assert_num_queries
):
    small, large = published_letter(), published_letter()
    sign_many(small, 10)
    sign_many(large, 2000)

    for letter in (small, large):
        with django_assert_num_queries(PAGE_QUERIES):
            response = client.get(page_url(letter))
        assert response.status_code == 200
    assert "Org 01999" in response.content.decode()


def test_a_cached_page_costs_no_query(client, django_assert_num_queries):
    letter = published_letter()
    sign_many(letter, 10)
    first = client.get(page_url(letter), headers={"accept-encoding": "br"})
    with django_assert_num_queries(0):
        again = client.get(page_url(letter), headers={"accept-encoding": "br"})
    assert again.status_code == 200
    assert again.content == first.content
    assert brotli.decompress(again.content) == client.get(page_url(letter)).content
    assert again["ETag"] == first["ETag"]
    with django_assert_num_queries(0):
        revalidated = client.get(
            page_url(letter),
            headers={"accept-encoding": "br", "if-none-match": first["ETag"]},
        )
    assert revalidated.status_code == 304


def test_a_cached_page_is_read_again_after_any_change_to_the_letter(client):
    letter = published_letter()
    sign(letter, "First Group")
    html_of(client, letter)
    signature = sign(letter, "Second Group")
    bump_signers_version(letter)
    assert "Second Group" in html_of(client, letter)

    signature_withdraw(signature_id=signature.pk)
    assert "Second Group" not in html_of(client, letter)

    Letter.objects.filter(pk=letter.pk).update(status=Letter.Status.DRAFT)
    public_pages_changed()
    assert client.get(page_url(letter)).status_code == 404


def test_a_pointer_from_another_generation_is_not_used(client):
    letter = published_letter()
    sign(letter, "First Group")
    html_of(client, letter)
    cache.delete(GENERATION_KEY)  # evicted: a new generation is made
    Letter.objects.filter(pk=letter.pk).update(status=Letter.Status.DRAFT)
    assert client.get(page_url(letter)).status_code == 404


def test_page_is_served_from_the_cache_until_the_signer_list_changes(client):
    letter = published_letter()
    sign(letter, "First Group")
    html_of(client, letter)

    sign(letter, "Second Group")  # not yet announced by a version bump
    assert "Second Group" not in html_of(client, letter)

    bump_signers_version(letter)
    assert "Second Group" in html_of(client, letter)


def test_while_another_request_renders_a_change_the_previous_page_is_served(client):
    letter = published_letter()
    sign(letter, "First Group")
    html_of(client, letter)
    sign(letter, "Second Group")
    bump_signers_version(letter)
    rendering = f"{public._state_key(letter, 'page')}:rendering"
    cache.add(rendering, True)  # as another worker does while it renders

    assert "Second Group" not in html_of(client, letter)

    cache.delete(rendering)
    assert "Second Group" in html_of(client, letter)


def test_while_another_request_renders_a_withdrawal_the_old_page_is_not_served(
    client,
):
    letter = published_letter()
    sign(letter, "Staying Group")
    leaving = sign(letter, "Leaving Group")
    assert "Leaving Group" in html_of(client, letter)

    signature_withdraw(signature_id=leaving.pk)
    letter.refresh_from_db()
    rendering = f"{public._state_key(letter, 'page')}:rendering"
    cache.add(rendering, True)  # as another worker does while it renders

    html = html_of(client, letter)
    assert "Leaving Group" not in html
    assert "Staying Group" in html


def test_withdrawal_removes_the_signer_from_the_cached_page(client):
    letter = published_letter()
    sign(letter, "Staying Group")
    leaving = sign(letter, "Leaving Group")
    assert "Leaving Group" in html_of(client, letter)

    Signature.objects.filter(pk=leaving.pk).update(
        status=Signature.Status.WITHDRAWN, withdrawn_at=timezone.now()
    )
    bump_signers_version(letter)

    html = html_of(client, letter)
    assert "Leaving Group" not in html
    assert "Staying Group" in html


def test_material_revision_shows_the_new_text_and_unlists_earlier_signers(client):
    letter = published_letter()
    sign(letter, "Earlier Group")
    assert "Earlier Group" in html_of(client, letter)

    new = RevisionFactory(
        letter=letter, number=2, body="A stronger demand.", kind="material"
    )
    letter.signatures.update(status=Signature.Status.NEEDS_RECONFIRMATION)
    Letter.objects.filter(pk=letter.pk).update(
        current_revision=new, last_material_revision_number=2
    )
    bump_signers_version(letter)

    html = html_of(client, letter)
    assert "A stronger demand." in html
    assert "Earlier Group" not in html
    assert new.sha256 in html


def test_page_answers_304_to_a_browser_that_has_it(client):
    letter = published_letter()
    sign(letter, "Air Alliance")
    first = client.get(page_url(letter))
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]

    assert client.get(page_url(letter), HTTP_IF_NONE_MATCH=etag).status_code == 304
    again = client.get(page_url(letter), HTTP_IF_MODIFIED_SINCE=modified)
    assert again.status_code == 304

    sign(letter, "Brand New Group")
    bump_signers_version(letter)
    changed = client.get(page_url(letter), HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert "Brand New Group" in changed.content.decode()


def test_cached_page_sets_no_cookie_and_is_the_same_for_a_signed_in_visitor(client):
    letter = published_letter()
    sign(letter, "Air Alliance")

    anonymous = client.get(page_url(letter))
    assert not anonymous.cookies
    assert "Cookie" not in anonymous.headers.get("Vary", "")
    assert "public" in anonymous.headers["Cache-Control"]

    user = UserFactory(email="someone-signed-in@example.org")
    client.force_login(user)
    signed_in = client.get(page_url(letter))
    assert signed_in.content == anonymous.content
    assert "csrftoken" not in signed_in.cookies
    assert "someone-signed-in" not in signed_in.content.decode()


def test_public_page_cannot_be_framed_but_the_embed_can(client):
    letter = published_letter()
    assert client.get(page_url(letter)).headers["X-Frame-Options"] == "DENY"
    embed = client.get(reverse("signers:embed", kwargs={"slug": letter.slug}))
    assert embed.status_code == 200
    assert "X-Frame-Options" not in embed.headers


def test_embed_shows_the_count_and_links_to_the_letter(client):
    letter = published_letter(open_joining=True)
    sign(letter, "Air Alliance")
    sign(letter, "Bike Bus")
    sign(letter, "Hidden Group", consent_listed=False)

    response = client.get(reverse("signers:embed", kwargs={"slug": letter.slug}))

    html = response.content.decode()
    assert "<strong>3</strong> signers" in html
    assert f'href="http://testserver/letters/{letter.slug}/"' in html
    assert "Read and sign" in html
    assert not response.cookies


def test_embed_count_follows_the_signer_list(client):
    letter = published_letter()
    sign(letter, "Air Alliance")
    url = reverse("signers:embed", kwargs={"slug": letter.slug})
    assert "<strong>1</strong>" in client.get(url).content.decode()

    sign(letter, "Bike Bus")
    bump_signers_version(letter)
    assert "<strong>2</strong>" in client.get(url).content.decode()


def test_seed_demo_publishes_an_open_letter_with_signers(client):
    call_command("seed_demo", "--quiet")
    call_command("seed_demo", "--quiet")

    letter = Letter.objects.get(slug="safe-routes-to-school")
    html = html_of(client, letter)
    assert "Safe routes to every school" in html
    assert "Add your organisation" in html
    assert "The Cycling Collective" in html and "Dr Amara Okafor" in html
    assert letter.signatures.count() == 32
    assert "and 1 more who asked not to be named" in html


# --- Compression -------------------------------------------------------------


def test_page_is_sent_compressed_to_a_browser_that_accepts_it(client):
    letter = published_letter()
    sign_many(letter, 300)
    plain = client.get(page_url(letter), HTTP_ACCEPT_ENCODING="identity")

    brotli_sent = client.get(page_url(letter), HTTP_ACCEPT_ENCODING="gzip, br")
    gzip_sent = client.get(page_url(letter), HTTP_ACCEPT_ENCODING="gzip, deflate")

    assert "Content-Encoding" not in plain.headers
    assert brotli_sent.headers["Content-Encoding"] == "br"
    assert brotli.decompress(brotli_sent.content) == plain.content
    assert gzip_sent.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(gzip_sent.content) == plain.content
    assert len(brotli_sent.content) * 10 < len(plain.content)
    for response in (plain, brotli_sent, gzip_sent):
        assert "Accept-Encoding" in response.headers["Vary"]
        assert int(response.headers["Content-Length"]) == len(response.content)


def test_page_is_sent_uncompressed_to_a_browser_that_does_not_accept_it(client):
    letter = published_letter()
    sign(letter, "Air Alliance")

    for accepted in ("", "gzip;q=0, br;q=0", "compress"):
        response = client.get(page_url(letter), HTTP_ACCEPT_ENCODING=accepted)
        assert "Content-Encoding" not in response.headers
        assert "Air Alliance" in response.content.decode()


def test_compressed_page_answers_304_to_a_browser_that_has_it(client):
    letter = published_letter()
    sign(letter, "Air Alliance")
    first = client.get(page_url(letter), HTTP_ACCEPT_ENCODING="gzip")
    plain = client.get(page_url(letter))
    etag = first.headers["ETag"]

    again = client.get(
        page_url(letter), HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=etag
    )

    assert etag != plain.headers["ETag"]
    assert again.status_code == 304
    assert again.headers["ETag"] == etag
    assert "Accept-Encoding" in again.headers["Vary"]
    assert "Content-Encoding" not in again.headers
    sign(letter, "Brand New Group")
    bump_signers_version(letter)
    changed = client.get(
        page_url(letter), HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=etag
    )
    assert changed.status_code == 200
    assert "Brand New Group" in gzip.decompress(changed.content).decode()


def test_warm_page_is_served_from_stored_compressed_bytes(client, monkeypatch):
    letter = published_letter()
    sign_many(letter, 50)
    calls = []
    real_compress = compression.compress
    monkeypatch.setattr(
        compression,
        "compress",
        lambda data, coding: calls.append(coding) or real_compress(data, coding),
    )

    for _ in range(3):
        client.get(page_url(letter), HTTP_ACCEPT_ENCODING="br")
    for _ in range(3):
        client.get(page_url(letter), HTTP_ACCEPT_ENCODING="gzip")

    assert calls == ["br", "gzip"]


def test_pages_with_a_csrf_token_or_a_token_in_the_url_are_not_compressed(client):
    letter = published_letter(open_joining=True)
    prospect = ProspectFactory(letter=letter)
    invitation = reverse("signers:invitation", args=[make_token("invite", prospect.pk)])

    for url in (reverse("signers:join", args=[letter.slug]), invitation):
        response = client.get(url, HTTP_ACCEPT_ENCODING="gzip, br")
        assert response.status_code == 200
        assert "csrfmiddlewaretoken" in response.content.decode()
        assert "Content-Encoding" not in response.headers


# What the template wrote per signer before the list was built in Python.
TEMPLATE_ROW = Template(
    '<li id="s-{{ s.id }}" data-signer>{% if s.website %}<a class="signer__name" '
    'href="{{ s.website }}" rel="nofollow ugc noopener">{{ s.display_name }}</a>'
    '{% else %}<span class="signer__name">{{ s.display_name }}</span>{% endif %}'
    '{% if s.affiliation %}<span class="signer__affiliation">, {{ s.affiliation }}'
    '</span>{% endif %}{% if s.city or s.country %} <span class="signer__place">'
    "{{ s.city }}{% if s.city and s.country %}, {% endif %}{{ s.country }}</span>"
    "{% endif %}</li>"
)


def test_the_list_built_in_python_is_the_escaped_markup_of_each_signer(client):
    hostile = "<script>alert('x')</script> & \"Co\""
    letter = published_letter(signer_kinds=Letter.SignerKinds.BOTH)
    signers = [
        sign(letter, hostile, website='https://example.org/?a=1&b="2"'),
        sign(letter, "Plain", city=hostile),
        sign(letter, "Country only", country="<b>Nowhere</b>", city=""),
        sign(
            letter,
            "Person",
            kind=Signature.Kind.INDIVIDUAL,
            affiliation=hostile,
            city="Leeds",
            country="United Kingdom",
        ),
    ]
    html = html_of(client, letter)

    assert "<script>alert" not in html
    for signature in signers:
        signature.refresh_from_db()
        expected = TEMPLATE_ROW.render(Context({"s": signature}))
        assert expected in html
