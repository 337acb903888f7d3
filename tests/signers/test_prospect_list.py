"""The prospect list: sorting by column and the actions on ticked prospects."""

import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from coalition.outbox.models import OutboxMessage
from letters.models import AuditEvent, Membership
from signers.models import Prospect
from signers.services.outreach import prospects_set_owner, prospects_set_status
from tests.factories import ProspectFactory, UserFactory, circulating_letter

pytestmark = pytest.mark.django_db
P = Prospect.Status


def url(name, letter):
    return reverse(f"signers:{name}", kwargs={"slug": letter.slug})


@pytest.fixture
def owner(organiser):
    """The letter's owner (``letter`` and ``organiser`` come from conftest)."""
    return organiser


@pytest.fixture
def team(client, owner):
    client.force_login(owner)
    return client


def names_in_order(html):
    table = html[html.index('<table class="prospects">') :]
    return re.findall(r"<td[^>]*><strong>([^<]+)</strong>", table)


def listed(client, letter, **params):
    response = client.get(url("outreach", letter), params)
    assert response.status_code == 200
    return response.content.decode()


# --- Sorting ---------------------------------------------------------------------


@pytest.fixture
def three(letter, owner):
    other = UserFactory(display_name="Zed Holder")
    Membership.objects.create(letter=letter, user=other, role=Membership.Role.EDITOR)
    owner.display_name = "Amy Holder"
    owner.save()
    return [
        ProspectFactory(
            letter=letter,
            organisation="Bravo",
            contact_name="Carol",
            status=P.DECLINED,
            owner=other,
            invited_at=datetime(2026, 3, 1, tzinfo=UTC),
        ),
        ProspectFactory(
            letter=letter,
            organisation="alpha",
            contact_name="Bea",
            status=P.INVITED,
            owner=None,
            invited_at=None,
        ),
        ProspectFactory(
            letter=letter,
            organisation="Charlie",
            contact_name="Abe",
            status=P.IDENTIFIED,
            owner=owner,
            invited_at=datetime(2026, 1, 1, tzinfo=UTC),
        ),
    ]


@pytest.mark.parametrize(
    "sort,direction,expected",
    [
        ("", "", ["alpha", "Bravo", "Charlie"]),
        ("organisation", "desc", ["Charlie", "Bravo", "alpha"]),
        ("contact", "asc", ["Charlie", "alpha", "Bravo"]),
        ("status", "asc", ["Charlie", "alpha", "Bravo"]),
        ("holder", "asc", ["Charlie", "Bravo", "alpha"]),
        ("holder", "desc", ["Bravo", "Charlie", "alpha"]),
        ("invited", "asc", ["Charlie", "Bravo", "alpha"]),
        ("invited", "desc", ["Bravo", "Charlie", "alpha"]),
        ("password", "asc", ["alpha", "Bravo", "Charlie"]),
    ],
)
def test_the_list_sorts_by_a_known_column_empty_values_last(
    team, letter, three, sort, direction, expected
):
    html = listed(team, letter, sort=sort, dir=direction)
    assert names_in_order(html) == expected


def test_ties_keep_a_stable_order_by_organisation(team, letter):
    for name in ("Delta", "alpha", "Charlie"):
        ProspectFactory(letter=letter, organisation=name, status=P.IDENTIFIED)

    html = listed(team, letter, sort="status", dir="desc")

    assert names_in_order(html) == ["alpha", "Charlie", "Delta"]


def test_headings_are_links_that_keep_the_filters_and_say_the_order(
    team, letter, three
):
    html = listed(team, letter, q="a", sort="holder", dir="asc")

    heading = re.search(r'<th scope="col" aria-sort="ascending">(.*?)</th>', html)
    assert heading and "Held by" in heading.group(1)
    assert "sort=holder&amp;dir=desc" in heading.group(1)
    assert 'href="?q=a&amp;sort=contact&amp;dir=asc"' in html
    assert html.count("aria-sort=") == 1


# --- Bulk actions ----------------------------------------------------------------


def test_set_the_holder_of_the_ticked_prospects(team, letter, three, owner):
    bravo, alpha, charlie = three

    response = team.post(
        url("prospects-bulk", letter),
        {
            "action": "owner",
            "owner": owner.pk,
            "selected": [bravo.pk, alpha.pk],
            "back": "sort=holder&dir=desc",
        },
    )

    assert response.status_code == 302
    assert response.url.endswith("?sort=holder&dir=desc")
    assert set(Prospect.objects.filter(owner=owner).values_list("pk", flat=True)) == {
        bravo.pk,
        alpha.pk,
        charlie.pk,
    }
    event = AuditEvent.objects.get(action="prospects.owner_set")
    assert event.detail["count"] == 2


def test_the_select_all_box_works_without_scripts(team, letter, three):
    ids = [p.pk for p in three]

    team.post(
        url("prospects-bulk", letter),
        {"action": "status", "status": P.NEEDS_TIME, "all_shown": "1", "shown": ids},
    )

    assert set(Prospect.objects.values_list("status", flat=True)) == {P.NEEDS_TIME}


def test_a_prospect_of_another_letter_is_ignored(team, letter, owner):
    mine = ProspectFactory(letter=letter, status=P.IDENTIFIED)
    theirs = ProspectFactory(letter=circulating_letter(), status=P.IDENTIFIED)

    team.post(
        url("prospects-bulk", letter),
        {"action": "status", "status": P.DECLINED, "selected": [mine.pk, theirs.pk]},
    )
    team.post(
        url("prospects-bulk", letter),
        {"action": "owner", "owner": owner.pk, "selected": [theirs.pk]},
    )

    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.status == P.DECLINED
    assert (theirs.status, theirs.owner_id) == (P.IDENTIFIED, None)


def test_the_holder_must_be_on_the_letters_team(team, letter):
    prospect = ProspectFactory(letter=letter)
    stranger = UserFactory()

    team.post(
        url("prospects-bulk", letter),
        {"action": "owner", "owner": stranger.pk, "selected": [prospect.pk]},
    )
    with pytest.raises(Exception, match="team"):
        prospects_set_owner(
            letter=letter, actor=stranger, prospect_ids=[prospect.pk], owner=stranger
        )

    prospect.refresh_from_db()
    assert prospect.owner_id is None


def test_signed_is_never_set_by_hand_and_a_signed_prospect_keeps_it(
    team, letter, owner
):
    signed = ProspectFactory(letter=letter, status=P.SIGNED)
    waiting = ProspectFactory(letter=letter, status=P.IDENTIFIED)

    response = team.post(
        url("prospects-bulk", letter),
        {"action": "status", "status": P.SIGNED, "selected": [waiting.pk]},
        follow=True,
    )
    assert "Select a valid choice" in response.content.decode()
    with pytest.raises(Exception, match="by hand"):
        prospects_set_status(
            letter=letter, actor=owner, prospect_ids=[waiting.pk], status=P.SIGNED
        )
    count = prospects_set_status(
        letter=letter,
        actor=owner,
        prospect_ids=[signed.pk, waiting.pk],
        status=P.INVITED,
    )

    signed.refresh_from_db()
    waiting.refresh_from_db()
    assert count == 1
    assert signed.status == P.SIGNED
    assert waiting.status == P.INVITED
    assert waiting.invited_at is not None  # their reminders start, as by hand
    event = AuditEvent.objects.get(action="prospects.status_set")
    assert event.detail == {"count": 1, "status": "invited", "label": "Invited"}


def test_viewers_cannot_act_in_bulk(client, letter):
    viewer = UserFactory()
    Membership.objects.create(letter=letter, user=viewer, role=Membership.Role.VIEWER)
    prospect = ProspectFactory(letter=letter, status=P.IDENTIFIED)
    client.force_login(viewer)

    response = client.post(
        url("prospects-bulk", letter),
        {"action": "status", "status": P.DECLINED, "selected": [prospect.pk]},
    )

    assert response.status_code in (403, 404)
    prospect.refresh_from_db()
    assert prospect.status == P.IDENTIFIED
    assert "prospects-bulk" not in listed(client, letter)
    assert "data-select-all" not in listed(client, letter)


def test_the_page_offers_the_bulk_actions_and_the_select_all_script(
    team, letter, three
):
    html = listed(team, letter)

    assert 'name="all_shown"' in html
    assert html.count('name="shown"') == 3
    assert "js/prospects.js" in html
    assert f'formaction="{url("prospects-bulk", letter)}"' in html
    options = re.search(
        r'<select name="status" id="bulk-status">(.*?)</select>', html, re.S
    )
    assert options and 'value="signed"' not in options.group(1)


def test_invite_the_ticked_or_all_shown_passes_those_ids(team, letter):
    a = ProspectFactory(letter=letter, status=P.IDENTIFIED)
    b = ProspectFactory(letter=letter, status=P.IDENTIFIED)
    c = ProspectFactory(letter=letter, status=P.IDENTIFIED)

    team.post(
        url("outreach-invite", letter),
        {"all_shown": "1", "shown": [a.pk, b.pk], "selected": [c.pk]},
    )

    invited = OutboxMessage.objects.values_list("prospect_id", flat=True)
    assert set(invited) == {a.pk, b.pk}
