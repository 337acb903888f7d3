"""Organisers told that someone signed: batched by quarter hour, once, with an
opt-out; and the letter's latest activity on its overview."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse

from coalition.models import CoalitionMember
from coalition.outbox.models import OutboxMessage
from letters.models import Membership
from signers.models import EmailKind, Prospect, Signature, SigningNoticeOptOut
from signers.planning.signing_notices import due_deliveries, window_start
from signers.selectors.triage import latest_activity
from signers.services.notices import signing_notices_set
from signers.services.responses import change_request_create, prospect_decline
from signers.services.sending import outreach_plan_due
from signers.services.signatures import signature_withdraw
from tests.factories import ProspectFactory, UserFactory
from tests.signers.helpers import deliveries_dispatch, sign

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
HOSTILE = '<script>alert("x")</script>'


def at(minutes):
    return time_machine.travel(T0 + timedelta(minutes=minutes), tick=False)


@pytest.fixture
def holder(letter):
    user = UserFactory(email="holder@team.example.org")
    Membership.objects.create(letter=letter, user=user, role=Membership.Role.EDITOR)
    return user


def invited_by(letter, holder, n):
    return ProspectFactory(
        letter=letter, owner=holder, email=f"chair{n}@org{n}.example.org"
    )


def sign_as(letter, n, *, prospect=None, name=None):
    email = prospect.email if prospect else f"chair{n}@org{n}.example.org"
    return sign(
        letter,
        display_name=name or f"Organisation {n}",
        email=email,
        prospect=prospect or ProspectFactory(letter=letter, email=email),
    )


def notices(**lookup):
    return OutboxMessage.objects.filter(kind=EmailKind.SIGNING_NOTICE, **lookup)


def notice_mail():
    return [m for m in mail.outbox if "new signature" in m.subject]


def test_windows_are_quarters_of_an_hour():
    assert window_start(T0 + timedelta(minutes=29, seconds=59)) == T0 + timedelta(
        minutes=15
    )


def test_two_signatures_within_15_minutes_make_one_email_to_the_holder(letter, holder):
    with at(1):
        sign_as(letter, 1, prospect=invited_by(letter, holder, 1))
    with at(9):
        sign_as(letter, 2, prospect=invited_by(letter, holder, 2))
    with at(14):
        assert due_deliveries(now=T0 + timedelta(minutes=14)) == []

    deliveries_dispatch(now=T0 + timedelta(minutes=18))

    (message,) = notice_mail()
    assert message.to == [holder.email]
    assert "Organisation 1" in message.body and "Organisation 2" in message.body
    assert "2 new signatures" in message.subject
    assert reverse("signers:notice-settings") in message.body


def test_without_a_holder_the_letters_owners_are_told(letter, organiser, holder):
    with at(3):
        sign_as(letter, 1)

    deliveries_dispatch(now=T0 + timedelta(minutes=20))

    (message,) = notice_mail()
    assert message.to == [organiser.email]


def in_coalition(letter, email, role):
    user = UserFactory(email=email)
    CoalitionMember.objects.create(coalition=letter.coalition, user=user, role=role)
    return user


def test_owners_through_the_coalition_are_told_and_holders_through_it_too(
    letter, organiser
):
    # Owners of the letter's coalition own its letters without being on the team.
    boss = in_coalition(letter, "boss@coalition.example.org", "owner")
    in_coalition(letter, "staff@coalition.example.org", "organiser")
    holder = in_coalition(letter, "holder@coalition.example.org", "viewer")
    with at(1):
        sign_as(letter, 1)
        sign_as(letter, 2, prospect=invited_by(letter, holder, 2))

    deliveries_dispatch(now=T0 + timedelta(minutes=20))

    told = {m.to[0]: m.body for m in notice_mail()}
    assert set(told) == {organiser.email, boss.email, holder.email}
    assert "Organisation 1" in told[boss.email]
    assert "Organisation 2" not in told[boss.email]
    assert "Organisation 2" in told[holder.email]

    # Once out of the coalition, nothing more is sent to them.
    CoalitionMember.objects.filter(user=boss).delete()
    with at(30):
        sign_as(letter, 3)
    deliveries_dispatch(now=T0 + timedelta(minutes=50))
    assert [m.to for m in notice_mail()[3:]] == [[organiser.email]]


def test_the_planner_twice_plans_each_notice_once(letter, holder):
    with at(1):
        sign_as(letter, 1, prospect=invited_by(letter, holder, 1))

    outreach_plan_due(now=T0 + timedelta(minutes=18))
    outreach_plan_due(now=T0 + timedelta(minutes=19))
    with at(20):
        sign_as(letter, 2, prospect=invited_by(letter, holder, 2))
    outreach_plan_due(now=T0 + timedelta(minutes=25))
    deliveries_dispatch(now=T0 + timedelta(minutes=40))
    deliveries_dispatch(now=T0 + timedelta(minutes=41))

    assert notices().count() == 2
    assert [len(m.body.split("Organisation ")) - 1 for m in notice_mail()] == [1, 1]


def test_an_opted_out_user_gets_nothing(letter, organiser, holder):
    signing_notices_set(user=holder, letter_id=letter.pk, notify=False)
    with at(1):
        sign_as(letter, 1, prospect=invited_by(letter, holder, 1))

    deliveries_dispatch(now=T0 + timedelta(minutes=18))

    assert notice_mail() == []


def test_opting_out_after_planning_cancels_the_notice(letter, holder):
    with at(1):
        sign_as(letter, 1, prospect=invited_by(letter, holder, 1))
    outreach_plan_due(now=T0 + timedelta(minutes=18))
    signing_notices_set(user=holder, letter_id=letter.pk, notify=False)

    deliveries_dispatch(now=T0 + timedelta(minutes=18))

    assert notice_mail() == []
    assert notices(status=OutboxMessage.Status.CANCELLED).count() == 1


def test_imports_and_unconfirmed_sign_ups_are_not_reported(open_letter):
    with at(1):
        sign(open_letter, source=Signature.Source.OPEN_JOIN, email="a@b.example.org")
        sign(open_letter, source=Signature.Source.IMPORT, email="c@d.example.org")

    assert due_deliveries(now=T0 + timedelta(minutes=18)) == []


def test_names_stay_text_in_the_notice(letter, holder):
    with at(1):
        sign_as(
            letter, 1, prospect=invited_by(letter, holder, 1), name=f"Org {HOSTILE}"
        )

    deliveries_dispatch(now=T0 + timedelta(minutes=18))

    (message,) = notice_mail()
    html = message.alternatives[0][0]
    assert HOSTILE in message.body
    assert HOSTILE not in html and "&lt;script&gt;" in html


# --- The settings page -----------------------------------------------------------


def test_the_settings_page_turns_notices_off_and_on_for_a_letter_of_ones_own(
    letter, holder
):
    client = Client()
    client.force_login(holder)
    url = reverse("signers:notice-settings")

    assert letter.title in client.get(url).content.decode()
    assert not SigningNoticeOptOut.objects.exists()  # GET changes nothing
    client.post(url, {"letter": letter.pk, "notify": "off"})
    assert SigningNoticeOptOut.objects.filter(user=holder, letter=letter).exists()
    client.post(url, {"letter": letter.pk, "notify": "on"})
    assert not SigningNoticeOptOut.objects.exists()

    # A member of the letter's coalition, not on its team, has it there too.
    member = in_coalition(letter, "member@coalition.example.org", "organiser")
    client.force_login(member)
    assert letter.title in client.get(url).content.decode()
    client.post(url, {"letter": letter.pk, "notify": "off"})
    assert SigningNoticeOptOut.objects.filter(user=member, letter=letter).exists()
    SigningNoticeOptOut.objects.all().delete()

    stranger = Client()
    stranger.force_login(UserFactory())
    response = stranger.post(url, {"letter": letter.pk, "notify": "off"})
    assert response.status_code == 404
    assert not SigningNoticeOptOut.objects.exists()


# --- Latest activity on the overview ---------------------------------------------


def test_the_overview_lists_the_latest_activity_newest_first(letter, organiser):
    with at(1):
        first = sign_as(letter, 1, name=f"Signer {HOSTILE}")
    with at(2):
        prospect = ProspectFactory(
            letter=letter, organisation="Declining Org", status=Prospect.Status.INVITED
        )
        prospect_decline(prospect_id=prospect.pk, reason="No")
    with at(3):
        change_request_create(
            revision=letter.current_revision,
            anchor="point-1",
            text="Please",
            signature=first,
        )
    with at(4):
        signature_withdraw(signature_id=first.pk)
    client = Client()
    client.force_login(organiser)

    page = client.get(reverse("letters:detail", args=[letter.slug])).content.decode()

    assert HOSTILE not in page
    assert "Signer &lt;script&gt;" in page
    texts = [item.text for item in latest_activity(letter=letter)]
    assert texts == [
        f"Signer {HOSTILE} withdrew their signature",
        f"Signer {HOSTILE} asked for a change",
        "Declining Org declined the invitation",
        f"Signer {HOSTILE} signed",
    ]
    assert page.index("withdrew their signature") < page.index("asked for a change")
