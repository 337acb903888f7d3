"""One function per email the letters app sends; none decides whether to send."""

from django.urls import reverse

from coalition.emails import render_email, send_message
from coalition.links import absolute
from coalition.tokens import MAX_AGE, make_token
from letters.models import TeamInvitation


def team_invitation_url(invitation: TeamInvitation) -> str:
    token = make_token("team", invitation.pk)
    return absolute(reverse("letters:team-accept", kwargs={"token": token}))


def send_team_invitation(*, invitation: TeamInvitation) -> None:
    """Invite someone to help organise a letter, with a link to accept."""
    letter = invitation.letter
    inviter = invitation.invited_by
    message = render_email(
        "letters/team_invitation",
        {
            "letter": letter,
            "invitation": invitation,
            "inviter": inviter,
            "role": invitation.get_role_display(),
            "accept_url": team_invitation_url(invitation),
            "valid_days": MAX_AGE["team"].days,
        },
        to=[invitation.email],
        reply_to=[inviter.email] if inviter else None,
        time_zone=letter.time_zone,
    )
    send_message(message)
