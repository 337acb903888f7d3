"""One function per email the signers app sends; none decides whether to send."""

from typing import Any

from django.core.mail import EmailMultiAlternatives

from coalition.emails import render_email
from signers.links import token_url
from signers.models import Prospect


def letter_context(letter: Any) -> dict[str, Any]:
    """What every signer email says about the letter.

    Render with ``time_zone=letter.time_zone`` so deadlines show in its zone.
    """
    revision = letter.current_revision
    return {
        "letter": letter,
        "revision": revision,
        "points": revision.points if revision else letter.points,
        "soft_deadline": letter.soft_deadline,
        "hard_deadline": letter.hard_deadline,
        "time_zone": letter.time_zone,
    }


def invitation_message(
    *, prospect: Prospect, headers: dict[str, str] | None = None
) -> EmailMultiAlternatives:
    """The personalised invitation to sign, from the letter's reply-to address."""
    letter = prospect.letter
    context = {
        **letter_context(letter),
        "prospect": prospect,
        "sign_url": token_url("invitation", "invite", prospect.pk),
        "decline_url": token_url("decline", "decline", prospect.pk),
    }
    return render_email(
        "signers/invitation",
        context,
        to=[prospect.email],
        reply_to=[letter.reply_to] if letter.reply_to else None,
        headers=headers,
        time_zone=letter.time_zone,
    )
