"""One function per email the signers app sends; none decides whether to send."""

from typing import Any

from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from coalition.emails import render_email
from signers.links import absolute, token_url
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


# --- Outreach: reminders and organiser notices ----------------------------------
# Each returns the message for one Delivery row; signers.services decides
# whether it goes, claims the row, and sends.


def delivery_headers(delivery: Any, *, unsubscribe: bool = True) -> dict[str, str]:
    """The fixed Message-ID, and a one-click unsubscribe for signer-facing mail."""
    headers = {"Message-ID": delivery.message_id}
    if unsubscribe:
        url = token_url("unsubscribe", "unsubscribe", delivery.pk)
        headers["List-Unsubscribe"] = f"<{url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return headers


def _signer_message(
    template: str, *, delivery: Any, to: str, context: dict[str, Any]
) -> EmailMultiAlternatives:
    letter = delivery.letter
    return render_email(
        template,
        {
            **letter_context(letter),
            "kind": delivery.kind,
            "unsubscribe_url": token_url("unsubscribe", "unsubscribe", delivery.pk),
            **context,
        },
        to=[to],
        reply_to=[letter.reply_to] if letter.reply_to else None,
        headers=delivery_headers(delivery),
        time_zone=letter.time_zone,
    )


def deadline_reminder_message(
    *, delivery: Any, prospect: Prospect
) -> EmailMultiAlternatives:
    """Soft-deadline reminder, hard-deadline announcement or last call."""
    return _signer_message(
        "signers/reminder_deadline",
        delivery=delivery,
        to=prospect.email,
        context={
            "prospect": prospect,
            "sign_url": token_url("invitation", "invite", prospect.pk),
            "decline_url": token_url("decline", "decline", prospect.pk),
        },
    )


def confirm_reminder_message(
    *, delivery: Any, signature: Any
) -> EmailMultiAlternatives:
    return _signer_message(
        "signers/reminder_confirm",
        delivery=delivery,
        to=signature.email,
        context={
            "signature": signature,
            "confirm_url": token_url("confirm", "confirm", signature.pk),
        },
    )


def reconfirm_reminder_message(
    *, delivery: Any, signature: Any
) -> EmailMultiAlternatives:
    return _signer_message(
        "signers/reminder_reconfirm",
        delivery=delivery,
        to=signature.email,
        context={
            "signature": signature,
            "reconfirm_url": token_url("reconfirm", "reconfirm", signature.pk),
            "withdraw_url": token_url("withdraw", "withdraw", signature.pk),
        },
    )


def _organiser_message(
    template: str, *, delivery: Any, context: dict[str, Any]
) -> EmailMultiAlternatives:
    letter = delivery.letter
    return render_email(
        template,
        {
            **letter_context(letter),
            "organiser": delivery.user,
            "outreach_url": absolute(
                reverse("signers:outreach", kwargs={"slug": letter.slug})
            ),
            **context,
        },
        to=[delivery.email],
        headers=delivery_headers(delivery, unsubscribe=False),
        time_zone=letter.time_zone,
    )


def signing_closed_message(
    *, delivery: Any, counts: dict[str, int]
) -> EmailMultiAlternatives:
    """To each organiser, once, when the hard deadline has passed."""
    return _organiser_message(
        "signers/reminder_signing_closed", delivery=delivery, context=counts
    )


def digest_message(
    *, delivery: Any, follow_ups: list[Prospect], new_signatures: list[Any]
) -> EmailMultiAlternatives:
    return _organiser_message(
        "signers/digest",
        delivery=delivery,
        context={"follow_ups": follow_ups, "new_signatures": new_signatures},
    )
