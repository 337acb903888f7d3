"""The dashboard: each letter's stage, figures, next deadline and what needs
doing, each need linking to the page that deals with it."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from coalition.outbox.models import OutboxMessage
from coalition.outbox.services import outbox_enqueue
from letters.models import Letter
from signers.models import ChangeRequest, EmailKind, Prospect, Signature
from tests.factories import (
    LetterFactory,
    ProspectFactory,
    RevisionFactory,
    SignatureFactory,
    UserFactory,
    circulating_letter,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def owner():
    return UserFactory()


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def dashboard(client) -> str:
    response = client.get(reverse("letters:dashboard"))
    assert response.status_code == 200
    return response.content.decode()


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def needs_of(html: str) -> dict[str, str]:
    """The "what needs you now" links: their text -> their address."""
    block = re.search(r'<ul class="dashboard__needs">(.*?)</ul>', html, re.S)
    if block is None:
        return {}
    return {
        label: url.replace("&amp;", "&")
        for url, label in re.findall(r'<a href="([^"]+)">([^<]+)</a>', block[1])
    }


def test_each_letter_shows_its_stage_and_figures(owner_client, owner):
    letter = circulating_letter(owner=owner)
    for status in ("invited", "opened", "needs_time", "declined", "signed"):
        ProspectFactory(letter=letter, status=status)
    ProspectFactory(letter=letter)  # identified: not invited yet
    SignatureFactory.create_batch(3, letter=letter)
    SignatureFactory(letter=letter, status=Signature.Status.PENDING)

    page = text(dashboard(owner_client))

    assert "Circulating" in page and "Revision 1" in page
    assert "5 invited" in page
    assert "3 signed" in page
    assert "1 declined" in page
    assert "3 waiting" in page


@time_machine.travel(NOW, tick=False)
def test_the_next_deadline_in_the_letters_zone_and_how_far_off(owner_client, owner):
    circulating_letter(
        owner=owner,
        time_zone="America/New_York",
        hard_deadline=NOW + timedelta(days=3),
    )

    page = text(dashboard(owner_client))

    assert "Signing closes: 4 May 2024, 05:00 EDT" in page
    assert "(in 3 days)" in page


@time_machine.travel(NOW, tick=False)
def test_what_needs_the_organiser_links_to_the_page_that_deals_with_it(
    owner_client, owner
):
    letter = circulating_letter(owner=owner, hard_deadline=NOW - timedelta(hours=1))
    SignatureFactory(letter=letter, status=Signature.Status.PENDING_APPROVAL)
    SignatureFactory.create_batch(
        2, letter=letter, status=Signature.Status.PENDING_APPROVAL
    )
    ChangeRequest.objects.create(
        letter=letter, revision=letter.current_revision, text="Say 2030."
    )
    ChangeRequest.objects.create(
        letter=letter,
        revision=letter.current_revision,
        text="Done already.",
        resolved_at=timezone.now(),
    )
    prospect = ProspectFactory(letter=letter, status=Prospect.Status.INVITED)
    outbox_enqueue(
        kind=EmailKind.INVITATION,
        key="dashboard:failed",
        to=prospect.email,
        letter_id=letter.pk,
        prospect_id=prospect.pk,
    )
    OutboxMessage.objects.update(status=OutboxMessage.Status.FAILED)
    signers = reverse("signers:letter-signatures", args=[letter.slug])
    outreach = reverse("signers:outreach", args=[letter.slug])

    needs = needs_of(dashboard(owner_client))

    assert needs == {
        "1 email could not be delivered": f"{outreach}#failed-title",
        "3 signatures wait for your approval": f"{signers}#queue-heading",
        "1 change request waits for an answer": reverse(
            "signers:change-requests", args=[letter.slug]
        ),
        "Signing has closed but the letter is still open: close it": (
            reverse("letters:detail", args=[letter.slug]) + "#status-heading"
        ),
    }
    # Each link leads to a page that shows what it names.
    for url in needs.values():
        assert owner_client.get(url).status_code == 200


def test_a_letter_without_a_revision_or_with_unpublished_changes(owner_client, owner):
    draft = LetterFactory(owner=owner, title="Draft only")
    changed = circulating_letter(owner=owner, title="Changed since")
    Letter.objects.filter(pk=changed.pk).update(body="A new body, not published.")
    closed = LetterFactory(owner=owner, status=Letter.Status.CLOSED)
    closed.current_revision = RevisionFactory(letter=closed, number=1)
    closed.save()

    html = dashboard(owner_client)
    cards = {
        title: needs_of(card)
        for card in html.split('<li class="card dashboard__letter">')[1:]
        for title in re.findall(r'<h2 class="card__title"><a [^>]+>([^<]+)<', card)
    }

    publish = "letters:revision-publish"
    assert cards["Draft only"] == {
        "No revision yet: publish the first text": reverse(publish, args=[draft.slug])
    }
    assert cards["Changed since"] == {
        "The draft has changes that are not published": reverse(
            publish, args=[changed.slug]
        )
    }
    assert cards[closed.title] == {}
    assert "Nothing needs you now." in html


def test_the_dashboard_costs_the_same_for_one_letter_or_ten(
    owner_client, owner, django_assert_max_num_queries
):
    def busy_letter():
        letter = circulating_letter(owner=owner)
        ProspectFactory(letter=letter, status=Prospect.Status.DECLINED)
        SignatureFactory(letter=letter, status=Signature.Status.PENDING_APPROVAL)
        ChangeRequest.objects.create(
            letter=letter, revision=letter.current_revision, text="Change."
        )
        return letter

    busy_letter()
    with django_assert_max_num_queries(50) as one:
        dashboard(owner_client)
    for _ in range(9):
        busy_letter()
    with django_assert_max_num_queries(len(one)):
        page = dashboard(owner_client)

    assert page.count('class="card dashboard__letter"') == 10
