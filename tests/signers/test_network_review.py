import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from signers.models import Prospect
from signers.network.review import coalition_review
from tests.factories import PartnerFactory, ProspectFactory, UserFactory
from tests.letters.public_fixtures import published_letter
from tests.signers.network_fixtures import coalition_with_member, partner_signs

pytestmark = pytest.mark.django_db

Status = Prospect.Status


def ask(partner, letter, status, invited_days_ago, signed_after_days=None):
    invited_at = timezone.now() - timedelta(days=invited_days_ago)
    prospect = ProspectFactory(
        letter=letter, partner=partner, status=status, invited_at=invited_at
    )
    if signed_after_days is not None:
        partner_signs(
            partner,
            letter,
            prospect=prospect,
            confirmed_at=invited_at + timedelta(days=signed_after_days),
        )
    return prospect


@pytest.fixture
def coalition():
    coalition, _ = coalition_with_member()
    return coalition


def three_letters(coalition):
    return [
        published_letter(coalition=coalition, title=f"Letter {n}") for n in range(3)
    ]


def test_response_rate_and_median_time_to_sign_per_partner_and_letter(coalition):
    holder = UserFactory(display_name="Robin Holder")
    alder = PartnerFactory(coalition=coalition, name="Alder Trust", holder=holder)
    birch = PartnerFactory(coalition=coalition, name="Birch Network", holder=holder)
    first, second = three_letters(coalition)[:2]
    ask(alder, first, Status.SIGNED, 10, signed_after_days=2)
    ask(alder, second, Status.SIGNED, 9, signed_after_days=4)
    ask(birch, first, Status.DECLINED, 10)
    ask(birch, second, Status.INVITED, 9)

    review = coalition_review(coalition=coalition)

    by_partner = {p.name: p for p in review.partners}
    assert by_partner["Alder Trust"].response_rate == 1
    assert by_partner["Alder Trust"].median_days_to_sign == pytest.approx(3)
    assert by_partner["Birch Network"].response_rate == 0.5
    assert by_partner["Birch Network"].median_days_to_sign is None
    by_letter = {letter.title: letter for letter in review.letters}
    assert by_letter[first.title].asks == 2
    assert by_letter[first.title].answered == 2
    assert by_letter[first.title].signed == 1
    assert by_letter[first.title].median_days_to_sign == pytest.approx(2)
    assert by_letter[second.title].response_rate == 0.5


def test_silent_partners_did_not_answer_any_of_their_last_three_asks(coalition):
    quiet = PartnerFactory(coalition=coalition, name="Quiet One")
    woke = PartnerFactory(coalition=coalition, name="Answered Lately")
    twice = PartnerFactory(coalition=coalition, name="Asked Twice")
    older = published_letter(coalition=coalition)
    letters = three_letters(coalition)
    ask(quiet, older, Status.SIGNED, 40, signed_after_days=1)
    ask(woke, older, Status.INVITED, 40)
    for n, letter in enumerate(letters):
        ask(
            quiet,
            letter,
            (Status.INVITED, Status.OPENED, Status.NO_RESPONSE)[n],
            30 - n,
        )
        ask(woke, letter, Status.DECLINED if n == 2 else Status.INVITED, 30 - n)
    for letter in letters[:2]:
        ask(twice, letter, Status.INVITED, 20)

    silent = [p.name for p in coalition_review(coalition=coalition).silent]

    assert silent == ["Quiet One"]


def test_partners_no_one_holds(coalition):
    PartnerFactory(coalition=coalition, name="Held", holder=UserFactory())
    PartnerFactory(coalition=coalition, name="Nobody's")

    assert [p.name for p in coalition_review(coalition=coalition).unheld] == [
        "Nobody's"
    ]


def test_another_coalitions_asks_do_not_count(coalition):
    other, _ = coalition_with_member()
    partner = PartnerFactory(coalition=coalition)
    ask(partner, published_letter(coalition=other), Status.SIGNED, 5, 1)

    review = coalition_review(coalition=coalition)

    assert review.partners[0].asks == 0
    assert review.letters == []


def make_coalition_of(coalition, size):
    letters = three_letters(coalition)
    for _ in range(size):
        partner = PartnerFactory(coalition=coalition, holder=None)
        for m, letter in enumerate(letters):
            ask(partner, letter, Status.SIGNED, 10 + m, signed_after_days=m)


@pytest.mark.parametrize("size", [1, 12])
def test_the_review_takes_the_same_queries_whatever_the_size(
    client, size, django_assert_max_num_queries
):
    coalition, member = coalition_with_member()
    make_coalition_of(coalition, size)
    client.force_login(member)

    with django_assert_max_num_queries(4):
        coalition_review(coalition=coalition)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("network:review", args=[coalition.slug]))

    assert response.status_code == 200
    assert response.content.decode().count("100%") == size + 3


def test_review_page_shows_the_figures_and_escapes_names(client):
    coalition, member = coalition_with_member()
    partner = PartnerFactory(coalition=coalition, name="<b>Bold</b> Allies")
    ask(partner, published_letter(coalition=coalition), Status.SIGNED, 3, 1.5)
    client.force_login(member)

    html = client.get(reverse("network:review", args=[coalition.slug])).content.decode()

    assert "&lt;b&gt;Bold&lt;/b&gt; Allies" in html
    assert "<b>Bold" not in html
    assert "Median time to sign (days)" in html
    assert re.search(r"<td[^>]*>1\.5</td>", html)
    assert "Partners no one holds" in html
