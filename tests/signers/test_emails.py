import re
from datetime import UTC, datetime

import pytest

from signers.emails import invitation_message
from signers.tokens import read_token
from tests.factories import LetterFactory, ProspectFactory, RevisionFactory

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
