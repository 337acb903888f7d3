"""One function per email the signers app sends; none decides whether to send."""

from typing import Any

from django.core.mail import EmailMultiAlternatives

from coalition.emails import render_email
from letters.diff import diff_as_text, diff_revisions
from letters.markdown import render_markdown
from letters.models import Revision
from signers.links import token_url
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
        "body_html": render_markdown(revision.body),
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
    raise ValueError(f"unknown signature email kind {email.kind!r}")
