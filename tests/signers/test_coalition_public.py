import pytest
from django.urls import reverse

from letters.models import Letter
from signers.models import Signature
from tests.factories import (
    AgreementFactory,
    PartnerContactFactory,
    PartnerFactory,
    UserFactory,
)
from tests.letters.public_fixtures import published_letter
from tests.signers.network_fixtures import coalition_with_member, partner_signs

pytestmark = pytest.mark.django_db


def public_coalition(**kwargs):
    coalition, _ = coalition_with_member(is_public=True, **kwargs)
    return coalition


def url(coalition):
    return reverse("network:public", args=[coalition.slug])


def test_a_coalition_that_did_not_opt_in_has_no_public_page(client):
    coalition, _ = coalition_with_member(is_public=False)
    published_letter(coalition=coalition)

    assert client.get(url(coalition)).status_code == 404
    assert client.get("/coalitions/no-such-coalition/").status_code == 404


def test_public_page_lists_published_and_closed_letters_only(client):
    coalition = public_coalition()
    published_letter(coalition=coalition, title="Published letter")
    published_letter(
        coalition=coalition, title="Closed letter", status=Letter.Status.CLOSED
    )
    published_letter(
        coalition=coalition, title="Draft letter", status=Letter.Status.DRAFT
    )
    published_letter(
        coalition=coalition, title="Circulating", status=Letter.Status.CIRCULATING
    )
    published_letter(title="Another coalition's letter")

    html = client.get(url(coalition)).content.decode()

    assert "Published letter" in html and "Closed letter" in html
    assert "Draft letter" not in html
    assert "Circulating" not in html
    assert "Another coalition" not in html


def test_partners_are_named_only_with_their_consent_and_the_signatures(client):
    coalition = public_coalition()
    letter = published_letter(coalition=coalition)
    agreed = PartnerFactory(
        coalition=coalition, name="Agreed Alliance", listed_publicly=True
    )
    private = PartnerFactory(coalition=coalition, name="Private Partner")
    unlisted = PartnerFactory(
        coalition=coalition, name="Unlisted Signer", listed_publicly=True
    )
    withdrawn = PartnerFactory(
        coalition=coalition, name="Withdrawn Works", listed_publicly=True
    )
    partner_signs(agreed, letter)
    partner_signs(private, letter)
    partner_signs(unlisted, letter, consent_listed=False)
    partner_signs(withdrawn, letter, status=Signature.Status.WITHDRAWN)

    html = client.get(url(coalition)).content.decode()

    assert "Agreed Alliance" in html
    for name in ("Private Partner", "Unlisted Signer", "Withdrawn Works"):
        assert name not in html


def test_contacts_notes_agreements_and_holders_never_appear(client):
    coalition = public_coalition()
    letter = published_letter(coalition=coalition)
    holder = UserFactory(display_name="Holder Hidden", email="holder@org.example.org")
    partner = PartnerFactory(
        coalition=coalition,
        name="Open Partner",
        listed_publicly=True,
        holder=holder,
        relationships="secret relationship notes",
        stakeholders="secret stakeholders",
        shared_interests="secret interests",
        deal_breakers="secret deal-breakers",
    )
    PartnerContactFactory(
        partner=partner, name="Contact Person", email="contact@partner.example.org"
    )
    AgreementFactory(partner=partner, title="Secret memorandum")
    partner_signs(partner, letter, email="signer-private@partner.example.org")

    html = client.get(url(coalition)).content.decode()

    assert "Open Partner" in html
    for hidden in (
        "Holder Hidden", "holder@", "secret", "Contact Person", "contact@",
        "Secret memorandum", "signer-private@",
    ):  # fmt: skip
        assert hidden not in html


def test_names_are_escaped(client):
    coalition = public_coalition(name="<i>Coalition</i>")
    letter = published_letter(coalition=coalition, title="<script>x</script>")
    partner = PartnerFactory(
        coalition=coalition, name="<img src=x>", listed_publicly=True
    )
    partner_signs(partner, letter)

    html = client.get(url(coalition)).content.decode()

    assert "<img src=x>" not in html and "&lt;img src=x&gt;" in html
    assert "<script>x" not in html
    assert "<i>Coalition" not in html


def test_public_page_takes_the_same_queries_whatever_the_size(
    client, django_assert_max_num_queries
):
    coalition = public_coalition()
    for n in range(4):
        letter = published_letter(coalition=coalition)
        for _ in range(n * 3):
            partner = PartnerFactory(coalition=coalition, listed_publicly=True)
            partner_signs(partner, letter)

    with django_assert_max_num_queries(4):
        response = client.get(url(coalition))

    assert response.status_code == 200


def test_members_find_the_public_page_from_the_coalition_tabs(client):
    coalition, member = coalition_with_member(is_public=True)
    hidden, other = coalition_with_member(is_public=False)
    client.force_login(member)
    tabs = reverse("network:map", args=[coalition.slug])

    assert f'href="{url(coalition)}"' in client.get(tabs).content.decode()
    client.force_login(other)
    hidden_tabs = client.get(reverse("network:map", args=[hidden.slug]))
    assert f'href="{url(hidden)}"' not in hidden_tabs.content.decode()
