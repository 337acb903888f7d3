import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from coalition.tokens import read_token
from signers.emails import call_invitation_message, invitation_message
from signers.models import Call, Delivery, Signature
from tests.factories import LetterFactory, ProspectFactory, RevisionFactory
from tests.signers.conftest import make_letter
from tests.signers.helpers import send_queued_emails, sign

pytestmark = pytest.mark.django_db


def test_invitation_is_personal_with_points_deadline_in_letter_zone_and_links():
    letter = LetterFactory(
        time_zone="America/New_York",
        reply_to="team@coalition.example.org",
        soft_deadline=datetime(2026, 12, 1, 17, 0, tzinfo=UTC),
    )
    letter.current_revision = RevisionFactory(letter=letter, points=["Fund the buses."])
    letter.save()
    prospect = ProspectFactory(letter=letter, contact_name="Rosa Parks")

    message = invitation_message(prospect=prospect)

    assert message.to == [prospect.email]
    assert message.reply_to == ["team@coalition.example.org"]
    assert prospect.organisation in message.subject
    assert "Dear Rosa Parks," in message.body
    assert "1. Fund the buses." in message.body
    assert "Tuesday 1 December 2026, 12:00 (America/New_York time)" in message.body
    sign = re.search(r"http://testserver/invite/([^/\s]+)/\n", message.body)
    decline = re.search(r"http://testserver/invite/([^/\s]+)/decline/", message.body)
    assert read_token("invite", sign.group(1)) == prospect.pk
    assert read_token("decline", decline.group(1)) == prospect.pk
    assert "Fund the buses." in message.alternatives[0][0]


def test_names_with_apostrophes_and_ampersands_arrive_as_typed():
    letter = LetterFactory(title='"Safe Streets" & Schools')
    prospect = ProspectFactory(letter=letter, organisation="Parents & Teachers' Forum")

    message = invitation_message(prospect=prospect)

    assert message.subject == (
        'Will Parents & Teachers\' Forum sign ""Safe Streets" & Schools"?'
    )
    assert "We are inviting Parents & Teachers' Forum to sign" in message.body
    html = message.alternatives[0][0]
    assert "Parents &amp; Teachers&#x27; Forum" in html  # escaped once, as HTML
    assert "&amp;amp;" not in html


def _sent(mailoutbox):
    send_queued_emails()
    return mailoutbox[-1]


def test_receipt_has_the_signed_text_its_hash_what_is_public_and_both_links(
    mailoutbox,
):
    letter = make_letter(reply_to="team@coalition.example.org")
    signature = sign(letter, website="https://friends.example.org", phone="0123")

    receipt = _sent(mailoutbox)

    revision = letter.current_revision
    assert receipt.to == [signature.email]
    assert receipt.reply_to == ["team@coalition.example.org"]
    assert letter.title in receipt.subject
    assert revision.sha256 in receipt.body
    assert "1. Clean air is a right." in receipt.body
    assert revision.body in receipt.body
    assert "Friends of the Park, Springfield, United Kingdom" in receipt.body
    assert "https://friends.example.org" in receipt.body
    assert "0123" not in receipt.body  # private fields are not "public"
    withdraw = re.search(r"http://testserver/s/withdraw/([^/\s]+)/", receipt.body)
    edit = re.search(r"http://testserver/s/edit/([^/\s]+)/", receipt.body)
    assert read_token("withdraw", withdraw.group(1)) == signature.pk
    assert read_token("edit", edit.group(1)) == signature.pk
    html = receipt.alternatives[0][0]
    assert revision.sha256 in html and withdraw.group(0) in html
    assert Signature.objects.get().status == "confirmed"


def test_unlisted_signers_are_told_they_are_counted_but_not_named(mailoutbox):

    sign(make_letter(), consent_listed=False)

    assert "not to be listed publicly" in _sent(mailoutbox).body


def test_open_join_email_carries_the_confirmation_link(mailoutbox):

    letter = make_letter(status="published", open_joining=True)
    signature = sign(letter, source=Signature.Source.OPEN_JOIN)

    message = _sent(mailoutbox)

    token = re.search(r"http://testserver/s/confirm/([^/\s]+)/", message.body)
    assert read_token("confirm", token.group(1)) == signature.pk
    assert "ignore this email" in message.body


@pytest.mark.parametrize(
    ("join_url", "linked"),
    [
        ("https://meet.example.org/room", True),
        ("javascript:alert(1)", False),
        (" JavaScript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
    ],
)
def test_a_call_link_becomes_a_link_only_when_it_is_a_web_address(join_url, linked):
    letter = make_letter()
    call = Call.objects.create(
        letter=letter,
        title="Coalition call",
        starts_at=timezone.now() + timedelta(days=1),
        join_url=join_url,
        agenda="1. Welcome",
    )
    delivery = Delivery.objects.create(
        key="call",
        message_id="<call@coalition.test>",
        kind=Delivery.Kind.CALL_INVITATION,
        letter=letter,
        email="someone@example.org",
        due_at=timezone.now(),
        call=call,
    )

    message = call_invitation_message(delivery=delivery, call=call, invitation=None)

    html = message.alternatives[0][0]
    assert (f'href="{join_url}"' in html) is linked
    assert "<script" not in html
    assert join_url.strip() in message.body
    assert "<li>Welcome</li>" in html  # the agenda, as sanitised Markdown
