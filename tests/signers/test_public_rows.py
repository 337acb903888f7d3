"""The rows of the public list stored with each signature: the page built from
them is the page the rows written in Python make, byte for byte, after every
kind of write, and who is listed is still decided by the query."""

import io
from types import SimpleNamespace

import pytest
from django.db import connection
from django.template.loader import render_to_string
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from letters.models import Letter, Revision
from letters.services.lifecycle import letter_close
from signers.importing import ImportRow
from signers.logos import logo_process
from signers.models import ReissueOptIn, Signature
from signers.models.public_rows import LOGO_SOURCE
from signers.selectors.public import (
    _SHOWN_LOGO,
    PUBLIC_FIELDS,
    signature_counts_public,
    signer_group_key,
)
from signers.services.logos import signature_logo_set
from signers.services.personal_data import signature_erase_personal_data
from signers.services.reissue import letter_reissue, reissue_opt_in_accept
from signers.services.signatures import (
    signature_approve,
    signature_confirm,
    signature_decide_name_change,
    signature_import,
    signature_reconfirm,
    signature_reject,
    signature_rename,
    signature_set_sort_name,
    signature_update_public_details,
    signature_withdraw,
    signatures_on_new_revision,
)
from signers.services.signing import signature_create
from signers.views import public
from tests.factories import RevisionFactory, UserFactory, circulating_letter
from tests.letters.public_fixtures import published_letter, sign, sign_many
from tests.signers.strategies import FUZZ, rolled_back

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the stored rows are read there"
    ),
]

HOSTILE = [
    '<script>alert("x")</script>',
    "Smith & Sons 'quoted' \"twice\"",
    "Ωmega Κοινότητα",
    "&amp; already escaped &lt;",
    "Trailing space ",
]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def a_logo():
    out = io.BytesIO()
    Image.new("RGB", (40, 20), "#3366cc").save(out, format="PNG")
    return logo_process(io.BytesIO(out.getvalue()), size=len(out.getvalue()))


def assert_rows_current(letter):
    """Every signature's stored row is the one Python writes from its fields
    now (listed or not), and the page's lists and counts are the same both
    ways."""
    rows = (
        Signature.objects.filter(letter=letter)
        .annotate(shown_logo=_SHOWN_LOGO)
        .values_list(*PUBLIC_FIELDS, "shown_logo", "public_row")
    )
    for *fields, stored in rows:
        written = public._signer_item(tuple(fields), "/logos/")
        source = LOGO_SOURCE + "/logos/"
        assert f'<li id="s-{fields[0]}" data-signer>' + stored.replace(
            LOGO_SOURCE, source
        ) == written.replace(f'src="{public._logo_prefix()}', 'src="/logos/')
    letter.refresh_from_db()
    lists, counts = public._signer_lists(letter)
    assert lists == public._signer_lists_from_rows(letter)
    assert counts == signature_counts_public(letter=letter)


def listed_names(letter):
    lists, _counts = public._signer_lists(letter)
    return "".join(signer_list.html for signer_list in lists)


def hostile_letter(**kwargs):
    letter = published_letter(signer_kinds=Letter.SignerKinds.BOTH, **kwargs)
    for i, name in enumerate(HOSTILE):
        sign(
            letter,
            name,
            affiliation=name if i % 2 else "",
            city=name if i % 3 else "",
            country="" if i % 2 else name,
            website=f'https://example.org/?q="{i}"&x=<y>' if i % 2 else "",
        )
    for first in ("1st", "#hash", "émile", "zulu", "ärzte", "~tilde", "Ωmega"):
        sign(letter, first.title(), sort_name=first.lower())
    sign(letter, "Individual Person", kind=Signature.Kind.INDIVIDUAL, city="Here")
    sign(letter, "Unlisted", consent_listed=False)
    for status in set(Signature.Status) - {Signature.Status.CONFIRMED}:
        sign(letter, f"Not confirmed {status}", status=status)
    return letter


def test_the_page_is_byte_for_byte_the_page_of_rows_written_in_python(
    client, monkeypatch
):
    letter = hostile_letter()
    logo_owner = sign(letter, "With A Logo", consent_logo=True)
    signature_logo_set(signature_id=logo_owner.pk, logo=a_logo(), actor=None)
    hidden = sign(letter, "Logo Without Consent")
    signature_logo_set(signature_id=hidden.pk, logo=a_logo(), actor=None)
    sign_many(letter, 45)
    letter.refresh_from_db()

    stored = render_to_string(
        "letters/letter_public.html", public._page_context(letter)
    )
    monkeypatch.setattr(public, "connection", SimpleNamespace(vendor="sqlite"))
    written = render_to_string(
        "letters/letter_public.html", public._page_context(letter)
    )

    assert stored == written
    assert '<script>alert("x")' not in stored
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in stored
    assert 'class="signer__logo"' in stored
    assert stored.count('class="signer__logo"') == 1
    for excluded in ("Not confirmed", "Unlisted"):
        assert excluded not in stored
    assert 'id="az-org-0"' in stored and 'id="az-org-other"' in stored
    assert_rows_current(letter)


def test_only_the_letters_allowed_kinds_are_listed_and_counted():
    letter = hostile_letter()
    Letter.objects.filter(pk=letter.pk).update(
        signer_kinds=Letter.SignerKinds.ORGANISATIONS
    )
    letter.refresh_from_db()

    assert "Individual Person" not in listed_names(letter)
    assert_rows_current(letter)


def test_signatures_on_an_earlier_text_are_not_listed_after_a_material_change():
    letter = hostile_letter()
    revision = RevisionFactory(letter=letter, number=2, kind=Revision.Kind.MATERIAL)
    Letter.objects.filter(pk=letter.pk).update(current_revision=revision)
    signatures_on_new_revision(revision=revision)

    assert listed_names(letter) == ""
    assert_rows_current(letter)


def test_the_listing_is_one_query_from_ten_to_a_thousand_signers(
    django_assert_num_queries,
):
    letter = published_letter()
    for size in (10, 1000):
        Signature.objects.filter(letter=letter).delete()
        sign_many(letter, size)
        with django_assert_num_queries(1):
            lists, counts = public._signer_lists(letter)
        assert counts.signers == size == sum(s.count for s in lists)


@FUZZ
@given(
    name=st.text(min_size=1, max_size=40),
    sort_name=st.text(max_size=6),
    affiliation=st.text(max_size=20),
    city=st.text(max_size=20),
    country=st.text(max_size=20),
    website=st.text(max_size=30),
)
def test_any_text_is_stored_escaped_as_python_escapes_it(
    name, sort_name, affiliation, city, country, website
):
    texts = (name, sort_name, affiliation, city, country, website)
    if any("\x00" in text for text in texts):
        return  # PostgreSQL stores no NUL characters
    with rolled_back():
        letter = published_letter()
        sign(
            letter,
            name,
            sort_name=sort_name,
            affiliation=affiliation,
            city=city,
            country=country,
            website=website,
        )
        assert_rows_current(letter)


@pytest.mark.parametrize(
    "sort_name", ["", "a", "z", "0", "`", "{", "é", "Z", "~", "ω", " a"]
)
def test_the_groups_are_the_ones_python_finds(sort_name):
    letter = published_letter()
    sign(letter, "Name", sort_name=sort_name)
    lists, _counts = public._signer_lists(letter)
    assert lists[0].groups[0][0] == signer_group_key(sort_name)


# --- Every write that changes what a row shows, or whether it is shown --------


def open_letter():
    letter = published_letter(signer_kinds=Letter.SignerKinds.BOTH)
    Letter.objects.filter(pk=letter.pk).update(open_joining=True)
    letter.refresh_from_db()
    return letter


def test_signing_and_confirming():
    letter = open_letter()
    signature = signature_create(
        letter=letter,
        revision_id=letter.current_revision_id,
        source=Signature.Source.OPEN_JOIN,
        display_name=HOSTILE[0],
        email="new@example.org",
        city=HOSTILE[1],
        website="https://example.org/?a=1&b=2",
        attested=True,
    )
    assert_rows_current(letter)
    assert "new@" not in listed_names(letter)
    assert signature.status == Signature.Status.PENDING
    assert listed_names(letter) == ""

    signature_confirm(signature_id=signature.pk, revision_id=letter.current_revision_id)
    assert "&lt;script&gt;" in listed_names(letter)
    assert_rows_current(letter)


def test_organisers_approving_and_rejecting_open_joins():
    letter = hostile_letter()
    waiting = sign(letter, "Waiting <Org>", status=Signature.Status.PENDING_APPROVAL)
    refused = sign(letter, "Refused Org", status=Signature.Status.PENDING_APPROVAL)
    assert "Waiting" not in listed_names(letter)

    signature_approve(signature=waiting, actor=UserFactory())
    signature_reject(signature=refused, actor=UserFactory(), reason="Spam")
    assert "Waiting &lt;Org&gt;" in listed_names(letter)
    assert "Refused Org" not in listed_names(letter)
    assert_rows_current(letter)


def test_reconfirming_on_the_new_text_after_a_material_change():
    letter = hostile_letter()
    signature = sign(letter, "Comes Back")
    revision = RevisionFactory(letter=letter, number=2, kind=Revision.Kind.MATERIAL)
    Letter.objects.filter(pk=letter.pk).update(current_revision=revision)
    signatures_on_new_revision(revision=revision)
    assert "Comes Back" not in listed_names(letter)

    signature_reconfirm(signature_id=signature.pk, revision_id=revision.pk)
    assert "Comes Back" in listed_names(letter)
    assert_rows_current(letter)


def test_withdrawing():
    letter = hostile_letter()
    signature = Signature.objects.get(letter=letter, display_name=HOSTILE[1])
    signature_withdraw(signature_id=signature.pk)
    assert "Smith &amp; Sons" not in listed_names(letter)
    assert_rows_current(letter)


@pytest.mark.parametrize("kind", list(Signature.Kind))
def test_erasing_personal_data(kind):
    letter = hostile_letter()
    signature = sign(letter, "To Be Erased", kind=kind, consent_logo=True)
    if kind == Signature.Kind.ORGANISATION:
        signature_logo_set(signature_id=signature.pk, logo=a_logo(), actor=None)
    signature_erase_personal_data(signature=signature, actor=UserFactory())
    assert 'class="signer__logo"' not in listed_names(letter)
    assert_rows_current(letter)


def test_the_signer_editing_their_public_details():
    letter = hostile_letter()
    signature = sign(letter, "Editor")
    signature_update_public_details(
        signature_id=signature.pk,
        display_name="Editor",
        affiliation=HOSTILE[0],
        city="",
        country=HOSTILE[2],
        website='https://example.org/"quoted"',
        consent_logo=True,
    )
    assert "https://example.org/&quot;quoted&quot;" in listed_names(letter)
    assert_rows_current(letter)
    signature_update_public_details(
        signature_id=signature.pk, display_name="Editor", consent_listed=False
    )
    assert "Editor" not in listed_names(letter)
    assert_rows_current(letter)


def test_organisers_approving_a_new_name_and_staff_renaming():
    letter = hostile_letter()
    signature = sign(letter, "Old Name")
    signature_update_public_details(signature_id=signature.pk, display_name="New <b>")
    signature_decide_name_change(signature=signature, actor=UserFactory(), approve=True)
    assert "New &lt;b&gt;" in listed_names(letter)
    assert_rows_current(letter)

    signature_rename(signature=signature, actor=UserFactory(), display_name="Renamed")
    assert "Renamed" in listed_names(letter)
    signature_set_sort_name(signature=signature, actor=UserFactory(), sort_name="0")
    assert_rows_current(letter)


def test_a_logo_given_and_taken_away():
    letter = hostile_letter()
    signature = sign(letter, "Logo Org", consent_logo=True)
    signature_logo_set(signature_id=signature.pk, logo=a_logo(), actor=None)
    assert 'class="signer__logo"' in listed_names(letter)
    assert_rows_current(letter)
    signature_logo_set(signature_id=signature.pk, logo=None, actor=None)
    assert 'class="signer__logo"' not in listed_names(letter)
    assert_rows_current(letter)


def test_a_reissued_letter_lists_the_signer_who_opted_in():
    owner = UserFactory()
    letter = circulating_letter(owner=owner)
    earlier = sign(letter, HOSTILE[1], consent_logo=True, website="https://e.org/")
    signature_logo_set(signature_id=earlier.pk, logo=a_logo(), actor=None)
    letter_close(letter=letter, actor=owner)
    new = letter_reissue(letter=letter, actor=owner, title="Again", addressee="To")
    Letter.objects.filter(pk=new.pk).update(status=Letter.Status.PUBLISHED)

    reissue_opt_in_accept(opt_in_id=ReissueOptIn.objects.get().pk)

    assert "Smith &amp; Sons" in listed_names(new)
    assert_rows_current(new)


def test_an_import():
    letter = hostile_letter()
    rows = [
        ImportRow(
            line=i,
            fields={
                "display_name": f"{name} imported",
                "email": f"import{i}@example.org",
                "city": name,
                "website": "https://example.org/?a=<b>",
                "attested": True,
            },
        )
        for i, name in enumerate(HOSTILE, 1)
    ]
    signature_import(letter=letter, rows=rows, actor=UserFactory())
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; imported" in (
        listed_names(letter)
    )
    assert_rows_current(letter)


def test_an_update_that_bypasses_the_services():
    letter = hostile_letter()
    Signature.objects.filter(letter=letter).update(city="<i>Everywhere</i>")
    assert "&lt;i&gt;Everywhere&lt;/i&gt;" in listed_names(letter)
    assert_rows_current(letter)
