import re

import pytest

from coalition.tokens import read_token
from letters.emails import send_team_invitation
from letters.models import TeamInvitation
from tests.factories import LetterFactory, UserFactory


@pytest.mark.django_db
def test_team_invitation_names_the_letter_role_and_a_working_link(mailoutbox):
    inviter = UserFactory(display_name="Ada Organiser", email="ada@example.org")
    letter = LetterFactory(owner=inviter, title="Clean air now")
    invitation = TeamInvitation.objects.create(
        letter=letter, email="new@example.org", role="viewer", invited_by=inviter
    )

    send_team_invitation(invitation=invitation)

    message = mailoutbox[0]
    assert message.to == ["new@example.org"]
    assert message.reply_to == ["ada@example.org"]
    assert message.subject == "Help organise “Clean air now”"
    assert (
        "Ada Organiser has invited you to help organise the coalition letter "
        '"Clean air now", as viewer.'
    ) in message.body
    assert "The link works for 14 days." in message.body
    token = re.search(r"/workspace/team/join/([^/\s]+)/", message.body).group(1)
    assert read_token("team", token) == invitation.pk
    html = message.alternatives[0][0]
    assert "Accept the invitation" in html and token in html
    assert "<strong>Clean air now</strong>" in html
