"""One builder per email the signers app sends; none decides whether to send.

Each kind's builder takes its outbox row (``coalition.outbox``) and returns the
message, or None when there is nothing to say; ``BUILDERS`` is the table the
outbox registers (``signers.services.sending``). The dispatcher sets the
Message-ID and sends.
"""

import re
from collections.abc import Callable
from datetime import timedelta

from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils.translation import gettext as _

from coalition.emails import render_email
from coalition.links import absolute, token_url
from coalition.models import User
from coalition.outbox.builders import Email
from coalition.outbox.models import OutboxMessage
from letters.diff import diff_as_text, diff_revisions
from letters.markdown import render_markdown, render_revision_body
from letters.models import Letter, Revision
from signers.email_batches import invitation_batch_of
from signers.ical import call_ics
from signers.models import (
    SIGNATURE_EMAIL_KINDS,
    Call,
    CallInvitation,
    EmailKind,
    InvitationBatch,
    Prospect,
    ReissueOptIn,
    Signature,
    Update,
)
from signers.models.outreach import ORGANISATION_PLACEHOLDER, reply_to_for
from signers.notice_emails import (
    build_change_request_reply,
    build_import_finished,
    build_signing_notice,
)
from signers.planning.reminders import basis_of
from signers.selectors.outreach import digest_content
from signers.selectors.public import signature_sections_public
from signers.selectors.signatures import signature_count_public, signature_counts

Context = dict[str, object]


def letter_context(letter: Letter) -> Context:
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


def prospect_links(prospect: Prospect) -> dict[str, str]:
    """The links an invitation and its reminders carry: sign, or decline."""
    return {
        "sign_url": token_url("invitation", "invite", prospect.pk),
        "decline_url": token_url("decline", "decline", prospect.pk),
    }


def invitation_message(
    *,
    prospect: Prospect,
    batch: InvitationBatch | None = None,
    headers: dict[str, str] | None = None,
    links: dict[str, str] | None = None,
) -> EmailMultiAlternatives:
    """The personalised invitation to sign, in its batch's words and from its
    sender; the site's own wording without one (the preview builds it from an
    unsaved batch). ``links``: the prospect's own, made here if not given."""
    letter = prospect.letter
    context = {
        **letter_context(letter),
        **_sender_context(prospect, batch),
        **(links or prospect_links(prospect)),
    }
    return render_email(
        "signers/invitation",
        context,
        to=[prospect.email],
        from_email=batch.from_email if batch else None,
        reply_to=reply_to_of(prospect, batch),
        headers=headers,
        time_zone=letter.time_zone,
    )


def invitation_default_wording(letter: Letter) -> tuple[str, str]:
    """The site's subject and opening of an invitation, with the placeholder
    for each prospect's organisation: what the send step starts from."""
    values = {"organisation": ORGANISATION_PLACEHOLDER, "title": letter.title}
    subject = _('Will %(organisation)s sign "%(title)s"?') % values
    opening = _(
        'We are inviting %(organisation)s to sign "%(title)s", a coalition letter.'
    )
    return subject, opening % values


def invitation_preview(
    *, prospect: Prospect, sender: User, subject: str, opening: str, note: str
) -> Email:
    """The invitation ``prospect`` would get from ``sender`` in these words,
    built as the outbox builds it (nothing is saved)."""
    batch = InvitationBatch(
        letter=prospect.letter,
        sender_name=sender.display_name,
        sender_email=sender.email,
        subject=subject,
        opening=opening,
    )
    prospect.personal_note = note
    return Email.from_message(invitation_message(prospect=prospect, batch=batch))


def _sender_context(prospect: Prospect, batch: InvitationBatch | None) -> Context:
    """The batch's subject and opening paragraphs for this prospect, and the
    prospect's personal note: strangers' and organisers' plain text, escaped
    in the HTML part like any other."""
    subject = batch.worded(batch.subject, prospect) if batch else ""
    opening = batch.worded(batch.opening, prospect) if batch else ""
    return {
        "prospect": prospect,
        "subject": subject.strip(),
        "opening": _paragraphs(opening),
        "note": _paragraphs(prospect.personal_note),
    }


def _paragraphs(text: str) -> list[str]:
    blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip())
    return [block.strip() for block in blocks if block.strip()]


def reply_to_of(prospect: Prospect, batch: InvitationBatch | None) -> list[str]:
    if batch is not None:
        return batch.reply_to(prospect)
    return reply_to_for(prospect)


def _signature_context(signature: Signature, revision: Revision) -> Context:
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
    name: str, signature: Signature, context: Context
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


def _diff_context(signature: Signature, new: Revision) -> Context:
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


def signature_email_message(
    kind: str, *, signature: Signature, revision: Revision
) -> EmailMultiAlternatives:
    """The message of one kind of signer email about ``revision``."""
    K = EmailKind
    if kind == K.RECEIPT:
        return receipt_message(signature=signature, revision=revision)
    if kind == K.CONFIRM_REQUEST:
        return confirm_request_message(signature=signature)
    if kind == K.WITHDRAWN:
        return withdrawn_message(signature=signature)
    if kind == K.APPROVED:
        return approved_message(signature=signature)
    if kind == K.REJECTED:
        return rejected_message(signature=signature)
    if kind == K.EDITORIAL_NOTICE:
        return editorial_notice_message(signature=signature, revision=revision)
    if kind == K.RECONFIRM_REQUEST:
        return reconfirm_request_message(signature=signature, revision=revision)
    if kind == K.SET_ASIDE:
        return set_aside_message(signature=signature)
    if kind == K.STATUS:
        return status_message(signature=signature)
    raise ValueError(f"unknown signature email kind {kind!r}")


def build_signature_email(row: OutboxMessage) -> Email | None:
    """A signer email (receipt, confirmation, notice...); nothing once the
    signer's personal data was erased."""
    signature = row.signature
    if signature is None or signature.erased_at:
        return None
    revision = Revision.objects.get(pk=row.params["revision"])
    return Email.from_message(
        signature_email_message(row.kind, signature=signature, revision=revision)
    )


# --- Outreach: reminders and organiser notices ----------------------------------


def unsubscribe_headers(row: OutboxMessage, url: str = "") -> dict[str, str]:
    """A one-click unsubscribe, for signer-facing mail (``url``: the row's
    own, made here if not given)."""
    url = url or token_url("unsubscribe", "unsubscribe", row.pk)
    return {
        "List-Unsubscribe": f"<{url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def _letter(row: OutboxMessage) -> Letter:
    if row.letter is None:
        raise ValueError(f"outbox message {row.pk} has no letter")
    return row.letter


def build_invitation(row: OutboxMessage) -> Email | None:
    if row.prospect is None:
        return None
    row.prospect.letter = _letter(row)  # loaded with the batch: no query
    message = invitation_message(
        prospect=row.prospect,
        batch=invitation_batch_of(row),
        headers=unsubscribe_headers(row),
    )
    return Email.from_message(message)


def _signer_message(
    template: str,
    row: OutboxMessage,
    context: Context,
    *,
    unsubscribe_url: str | None = None,
) -> EmailMultiAlternatives:
    letter = _letter(row)
    return render_email(
        template,
        {
            **letter_context(letter),
            "kind": row.kind,
            "unsubscribe_url": unsubscribe_url
            or token_url("unsubscribe", "unsubscribe", row.pk),
            **context,
        },
        to=[row.to],
        reply_to=[letter.reply_to] if letter.reply_to else None,
        headers=unsubscribe_headers(row),
        time_zone=letter.time_zone,
    )


def deadline_reminder_message(
    row: OutboxMessage,
    prospect: Prospect,
    *,
    links: dict[str, str] | None = None,
    unsubscribe_url: str | None = None,
) -> EmailMultiAlternatives:
    """The reminder ``row`` says to ``prospect``, with these links (the
    prospect's and the row's own, made here if not given)."""
    batch = invitation_batch_of(row)
    context: Context = {"prospect": prospect, **(links or prospect_links(prospect))}
    message = _signer_message(
        "signers/reminder_deadline", row, context, unsubscribe_url=unsubscribe_url
    )
    message.from_email = batch.from_email if batch else message.from_email
    message.reply_to = reply_to_of(prospect, batch)
    return message


def build_deadline_reminder(row: OutboxMessage) -> Email | None:
    """Soft-deadline reminder, hard-deadline announcement or last call: shorter
    than the invitation, from the same sender."""
    prospect = row.prospect
    if prospect is None:
        return None
    prospect.letter = _letter(row)  # loaded with the batch: no query
    return Email.from_message(deadline_reminder_message(row, prospect))


# Reminders to a signer: their template and the links they carry.
_SIGNER_REMINDERS: dict[str, tuple[str, tuple[str, ...]]] = {
    EmailKind.CONFIRM_REMINDER: ("signers/reminder_confirm", ("confirm",)),
    EmailKind.RECONFIRM_REMINDER: (
        "signers/reminder_reconfirm",
        ("reconfirm", "withdraw"),
    ),
}


def build_signer_reminder(row: OutboxMessage) -> Email | None:
    """To confirm a sign-up, or to re-confirm after a material change."""
    signature = row.signature
    if signature is None:
        return None
    template, links = _SIGNER_REMINDERS[row.kind]
    context: Context = {
        "signature": signature,
        **{f"{name}_url": token_url(name, name, signature.pk) for name in links},
    }
    return Email.from_message(_signer_message(template, row, context))


def _organiser_message(
    template: str, row: OutboxMessage, context: Context
) -> EmailMultiAlternatives:
    letter = _letter(row)
    return render_email(
        template,
        {
            **letter_context(letter),
            "organiser": row.user,
            "outreach_url": absolute(
                reverse("signers:outreach", kwargs={"slug": letter.slug})
            ),
            **context,
        },
        to=[row.to],
        time_zone=letter.time_zone,
    )


def build_signing_closed(row: OutboxMessage) -> Email | None:
    """To each organiser, once, when the hard deadline has passed."""
    counts: Context = dict(signature_counts(letter=_letter(row)))
    message = _organiser_message("signers/reminder_signing_closed", row, counts)
    return Email.from_message(message)


def build_digest(row: OutboxMessage) -> Email | None:
    """Follow-ups due and new signatures; nothing on a day without either."""
    follow_ups, new_signatures = digest_content(
        letter=_letter(row), due_at=row.next_attempt_at
    )
    if not follow_ups and not new_signatures:
        return None
    context: Context = {"follow_ups": follow_ups, "new_signatures": new_signatures}
    return Email.from_message(_organiser_message("signers/digest", row, context))


# --- Coalition communications: updates, signer lists, calls, re-issue -------------


def _communication(
    template: str, row: OutboxMessage, context: Context
) -> EmailMultiAlternatives:
    """Signer-facing mail carries a one-click unsubscribe; team mail does not."""
    letter = _letter(row)
    for_signer = row.user_id is None
    extra: Context = {}
    if for_signer:
        extra["unsubscribe_url"] = token_url("unsubscribe", "unsubscribe", row.pk)
    return render_email(
        template,
        {**letter_context(letter), "kind": row.kind, **extra, **context},
        to=[row.to],
        reply_to=[letter.reply_to] if letter.reply_to else None,
        headers=unsubscribe_headers(row) if for_signer else None,
        time_zone=letter.time_zone,
    )


def _recipient_name(row: OutboxMessage) -> str:
    if row.signature is not None:
        return str(row.signature.contact_name)
    if row.prospect is not None:
        return str(row.prospect.contact_name)
    if row.user is not None:
        return str(row.user.display_name)
    return ""


def build_update(row: OutboxMessage) -> Email | None:
    """An organisers' update (or its test, sent to the organiser)."""
    update = Update.objects.filter(pk=row.params.get("update")).first()
    if update is None:
        return None
    context: Context = {
        "update": update,
        "body_html": render_markdown(update.body),
        "name": _recipient_name(row),
        "is_test": row.kind == EmailKind.UPDATE_TEST,
    }
    return Email.from_message(_communication("signers/update", row, context))


def build_signer_list(row: OutboxMessage) -> Email | None:
    """This week's complete list of signers, as the public page would list it."""
    letter = _letter(row)
    context: Context = {
        "sections": signature_sections_public(letter=letter),
        "count": signature_count_public(letter=letter),
        "name": _recipient_name(row),
    }
    message = _communication("signers/signer_list_digest", row, context)
    return Email.from_message(message)


def _web_link(url: str) -> str:
    """``url`` when an email may make it a link: http(s) only, never a
    ``javascript:`` or ``data:`` address, however it got into the database."""
    return url if url.lower().startswith(("https://", "http://")) else ""


def _call_context(
    row: OutboxMessage, call: Call, invitation: CallInvitation | None
) -> Context:
    return {
        "call": call,
        "ends_at": call.starts_at + timedelta(minutes=call.duration_minutes),
        "join_link": _web_link(call.join_url),
        "agenda_html": render_markdown(call.agenda),
        "invitation": invitation,
        "rsvp_url": token_url("call-rsvp", "rsvp", invitation.pk) if invitation else "",
        "name": _recipient_name(row),
    }


def build_call_email(row: OutboxMessage) -> Email | None:
    """A call's invitation (with the call as an .ics, METHOD:REQUEST), one of
    its reminders, or its notes."""
    call = (
        Call.objects.filter(pk=row.params.get("call")).select_related("letter").first()
    )
    if call is None:
        return None
    invitation = call.invitations.filter(email=row.to.lower()).first()
    context = _call_context(row, call, invitation)
    if row.kind == EmailKind.CALL_INVITATION:
        message = _communication("signers/call_invitation", row, context)
        ics = call_ics(call, attendee=row.to, agenda_text=call.agenda)
        message.attach("invitation.ics", ics, "text/calendar; method=REQUEST")
    elif row.kind == EmailKind.CALL_REMINDER:
        minutes = int(basis_of(row).rsplit("/", 1)[-1].rstrip("m") or 0)
        context["minutes"] = minutes
        message = _communication("signers/call_reminder", row, context)
    else:
        context["notes_html"] = render_markdown(call.notes)
        message = _communication("signers/call_notes", row, context)
    return Email.from_message(message)


def build_reissue_opt_in(row: OutboxMessage) -> Email | None:
    """Ask an earlier signer to join the re-issued letter; nothing is assumed."""
    opt_in = (
        ReissueOptIn.objects.filter(reissue__letter=_letter(row), earlier=row.signature)
        .select_related("reissue__source", "earlier")
        .first()
    )
    if opt_in is None:
        return None
    context: Context = {
        "opt_in": opt_in,
        "source": opt_in.reissue.source,
        "earlier": opt_in.earlier,
        "name": _recipient_name(row),
        "opt_in_url": token_url("reissue-opt-in", "reissue", opt_in.pk),
    }
    return Email.from_message(_communication("signers/reissue_opt_in", row, context))


BUILDERS: dict[str, Callable[[OutboxMessage], Email | None]] = {
    **dict.fromkeys(sorted(SIGNATURE_EMAIL_KINDS), build_signature_email),
    EmailKind.INVITATION: build_invitation,
    EmailKind.SOFT_REMINDER: build_deadline_reminder,
    EmailKind.HARD_ANNOUNCEMENT: build_deadline_reminder,
    EmailKind.LAST_CALL: build_deadline_reminder,
    EmailKind.CONFIRM_REMINDER: build_signer_reminder,
    EmailKind.RECONFIRM_REMINDER: build_signer_reminder,
    EmailKind.SIGNING_CLOSED: build_signing_closed,
    EmailKind.DIGEST: build_digest,
    EmailKind.UPDATE: build_update,
    EmailKind.UPDATE_TEST: build_update,
    EmailKind.SIGNER_LIST: build_signer_list,
    EmailKind.CALL_INVITATION: build_call_email,
    EmailKind.CALL_REMINDER: build_call_email,
    EmailKind.CALL_NOTES: build_call_email,
    EmailKind.REISSUE_OPT_IN: build_reissue_opt_in,
    EmailKind.CHANGE_REQUEST_REPLY: build_change_request_reply,
    EmailKind.SIGNING_NOTICE: build_signing_notice,
    EmailKind.IMPORT_FINISHED: build_import_finished,
}
