"""One function per email the signers app sends; none decides whether to send."""

from datetime import timedelta
from typing import Any

from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from coalition.emails import render_email
from coalition.links import absolute, token_url
from letters.diff import diff_as_text, diff_revisions
from letters.markdown import render_markdown, render_revision_body
from letters.models import Revision
from signers.ical import call_ics
from signers.models import Prospect, Signature, SignatureEmail


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


def _signature_context(signature: Signature, revision: Revision) -> dict[str, Any]:
    letter = signature.letter
    return {
        **letter_context(letter),
        "signature": signature,
        "revision": revision,
        "points": revision.points,
        "body_html": render_revision_body(revision),
        "withdraw_url": token_url("withdraw", "withdraw", signature.pk),
        "edit_url": token_url("edit", "edit", signature.pk),
    }


def _render(
    name: str, signature: Signature, context: dict[str, Any]
) -> EmailMultiAlternatives:
    letter = signature.letter
    return render_email(
        f"signers/{name}",
        context,
        to=[signature.email],
        reply_to=[letter.reply_to] if letter.reply_to else None,
        time_zone=letter.time_zone,
    )


def receipt_message(
    *, signature: Signature, revision: Revision
) -> EmailMultiAlternatives:
    """The signed text and its SHA-256, what will be public, withdraw and
    correction links."""
    return _render("receipt", signature, _signature_context(signature, revision))


def confirm_request_message(*, signature: Signature) -> EmailMultiAlternatives:
    """Open join: the link that proves the address and confirms the signature."""
    context = {
        **_signature_context(signature, signature.revision),
        "confirm_url": token_url("confirm", "confirm", signature.pk),
    }
    return _render("confirm_request", signature, context)


def withdrawn_message(*, signature: Signature) -> EmailMultiAlternatives:
    return _render(
        "withdrawn", signature, _signature_context(signature, signature.revision)
    )


def approved_message(*, signature: Signature) -> EmailMultiAlternatives:
    """The organisers approved an open join; doubles as the receipt."""
    context = {**_signature_context(signature, signature.revision), "approved": True}
    return _render("receipt", signature, context)


def rejected_message(*, signature: Signature) -> EmailMultiAlternatives:
    return _render(
        "rejected", signature, _signature_context(signature, signature.revision)
    )


def set_aside_message(*, signature: Signature) -> EmailMultiAlternatives:
    """To an unconfirmed signer whose name or address a proven signer took:
    nothing of theirs is listed. No links: the address was never proven."""
    context = {**letter_context(signature.letter), "signature": signature}
    return _render("set_aside", signature, context)


def status_message(*, signature: Signature) -> EmailMultiAlternatives:
    """Where the signature of this address stands, with the one link it needs
    now (confirm, re-confirm) and those of the receipt (correct, withdraw)."""
    context = {
        **_signature_context(signature, signature.revision),
        "confirm_url": token_url("confirm", "confirm", signature.pk),
        "reconfirm_url": token_url("reconfirm", "reconfirm", signature.pk),
    }
    return _render("status", signature, context)


def _diff_context(signature: Signature, new: Revision) -> dict[str, Any]:
    fields = diff_revisions(signature.revision, new)
    return {
        **_signature_context(signature, new),
        "old_revision": signature.revision,
        "diff_fields": fields,
        "diff_text": diff_as_text(fields),
    }


def editorial_notice_message(
    *, signature: Signature, revision: Revision
) -> EmailMultiAlternatives:
    """An editorial revision: the signature carries forward; here is the diff."""
    return _render("editorial_notice", signature, _diff_context(signature, revision))


def reconfirm_request_message(
    *, signature: Signature, revision: Revision
) -> EmailMultiAlternatives:
    """A material revision: the diff and the link to re-confirm on it."""
    context = {
        **_diff_context(signature, revision),
        "reconfirm_url": token_url("reconfirm", "reconfirm", signature.pk),
    }
    return _render("reconfirm_request", signature, context)


def signature_email_message(email: SignatureEmail) -> EmailMultiAlternatives:
    """The message a recorded ``SignatureEmail`` stands for."""
    signature, revision = email.signature, email.revision
    Kind = SignatureEmail.Kind
    if email.kind == Kind.RECEIPT:
        return receipt_message(signature=signature, revision=revision)
    if email.kind == Kind.CONFIRM_REQUEST:
        return confirm_request_message(signature=signature)
    if email.kind == Kind.WITHDRAWN:
        return withdrawn_message(signature=signature)
    if email.kind == Kind.APPROVED:
        return approved_message(signature=signature)
    if email.kind == Kind.REJECTED:
        return rejected_message(signature=signature)
    if email.kind == Kind.EDITORIAL_NOTICE:
        return editorial_notice_message(signature=signature, revision=revision)
    if email.kind == Kind.RECONFIRM_REQUEST:
        return reconfirm_request_message(signature=signature, revision=revision)
    if email.kind == Kind.SET_ASIDE:
        return set_aside_message(signature=signature)
    if email.kind == Kind.STATUS:
        return status_message(signature=signature)
    raise ValueError(f"unknown signature email kind {email.kind!r}")


# --- Outreach: reminders and organiser notices ----------------------------------
# Each returns the message for one Delivery row; signers.services.sending decides
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


# --- Coalition communications: updates, signer lists, calls, re-issue -------------
# signers.planning plans these Delivery rows; signers.services.sending sends them.


def _communication(
    template: str, *, delivery: Any, context: dict[str, Any]
) -> EmailMultiAlternatives:
    """Signer-facing mail carries a one-click unsubscribe; team mail does not."""
    letter = delivery.letter
    for_signer = delivery.user_id is None
    extra = {}
    if for_signer:
        extra["unsubscribe_url"] = token_url("unsubscribe", "unsubscribe", delivery.pk)
    return render_email(
        template,
        {**letter_context(letter), "kind": delivery.kind, **extra, **context},
        to=[delivery.email],
        reply_to=[letter.reply_to] if letter.reply_to else None,
        headers=delivery_headers(delivery, unsubscribe=for_signer),
        time_zone=letter.time_zone,
    )


def _recipient_name(delivery: Any) -> str:
    if delivery.signature is not None:
        return str(delivery.signature.contact_name)
    if delivery.prospect is not None:
        return str(delivery.prospect.contact_name)
    if delivery.user is not None:
        return str(delivery.user.display_name)
    return ""


def update_message(*, delivery: Any, update: Any) -> EmailMultiAlternatives:
    """An organisers' update (or its test, sent to the organiser)."""
    return _communication(
        "signers/update",
        delivery=delivery,
        context={
            "update": update,
            "body_html": render_markdown(update.body),
            "name": _recipient_name(delivery),
            "is_test": delivery.kind == "update_test",
        },
    )


def signer_list_message(
    *, delivery: Any, sections: list[Any], count: int
) -> EmailMultiAlternatives:
    """This week's complete list of signers, as the public page would list it."""
    return _communication(
        "signers/signer_list_digest",
        delivery=delivery,
        context={
            "sections": sections,
            "count": count,
            "name": _recipient_name(delivery),
        },
    )


def _web_link(url: str) -> str:
    """``url`` when an email may make it a link: http(s) only, never a
    ``javascript:`` or ``data:`` address, however it got into the database."""
    return url if url.lower().startswith(("https://", "http://")) else ""


def _call_context(delivery: Any, call: Any, invitation: Any) -> dict[str, Any]:
    return {
        "call": call,
        "ends_at": call.starts_at + timedelta(minutes=call.duration_minutes),
        "join_link": _web_link(call.join_url),
        "agenda_html": render_markdown(call.agenda),
        "invitation": invitation,
        "rsvp_url": token_url("call-rsvp", "rsvp", invitation.pk) if invitation else "",
        "name": _recipient_name(delivery),
    }


def call_invitation_message(
    *, delivery: Any, call: Any, invitation: Any
) -> EmailMultiAlternatives:
    """The invitation, with the call as an .ics attachment (METHOD:REQUEST)."""
    message = _communication(
        "signers/call_invitation",
        delivery=delivery,
        context=_call_context(delivery, call, invitation),
    )
    ics = call_ics(call, attendee=delivery.email, agenda_text=call.agenda)
    message.attach("invitation.ics", ics, "text/calendar; method=REQUEST")
    return message


def call_reminder_message(
    *, delivery: Any, call: Any, invitation: Any
) -> EmailMultiAlternatives:
    minutes = int(delivery.basis.rsplit("/", 1)[-1].rstrip("m") or 0)
    context = {**_call_context(delivery, call, invitation), "minutes": minutes}
    return _communication("signers/call_reminder", delivery=delivery, context=context)


def call_notes_message(
    *, delivery: Any, call: Any, invitation: Any
) -> EmailMultiAlternatives:
    context = {
        **_call_context(delivery, call, invitation),
        "notes_html": render_markdown(call.notes),
    }
    return _communication("signers/call_notes", delivery=delivery, context=context)


def reissue_opt_in_message(*, delivery: Any, opt_in: Any) -> EmailMultiAlternatives:
    """Ask an earlier signer to join the re-issued letter; nothing is assumed."""
    return _communication(
        "signers/reissue_opt_in",
        delivery=delivery,
        context={
            "opt_in": opt_in,
            "source": opt_in.reissue.source,
            "earlier": opt_in.earlier,
            "name": _recipient_name(delivery),
            "opt_in_url": token_url("reissue-opt-in", "reissue", opt_in.pk),
        },
    )
