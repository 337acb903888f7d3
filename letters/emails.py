"""One function per email the letters app sends; none decides whether to send."""

from django.urls import reverse

from coalition.emails import render_email
from coalition.links import absolute
from coalition.outbox.builders import Email
from coalition.outbox.models import OutboxMessage
from coalition.tokens import MAX_AGE, make_token
from letters.models import TeamInvitation

TEAM_INVITATION = "team_invitation"


def team_invitation_url(invitation: TeamInvitation) -> str:
    token = make_token("team", invitation.pk)
    return absolute(reverse("letters:team-accept", kwargs={"token": token}))


def build_team_invitation(row: OutboxMessage) -> Email | None:
    """Invite someone to help organise a letter, with a link to accept; nothing
    once the invitation was accepted or withdrawn."""
    invitation = (
        TeamInvitation.objects.filter(
            pk=row.params.get("invitation"),
            accepted_at__isnull=True,
            revoked_at__isnull=True,
        )
        .select_related("letter", "invited_by")
        .first()
    )
    if invitation is None:
        return None
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
    return Email.from_message(message)
