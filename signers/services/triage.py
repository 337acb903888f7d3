"""The organisers' answers to change requests: accept (in the revision that
took the change), decline (with an optional reason), reply (emailed to whoever
asked). Each is written in the letter's log."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from coalition.models import User
from coalition.outbox.models import OutboxMessage
from coalition.outbox.services import outbox_enqueue
from letters.audit import Action, audit_record
from letters.models import Letter, Revision
from signers.models import ChangeRequest, EmailKind
from signers.selectors.triage import requester_email, requester_name

Status = ChangeRequest.Status


def _locked(letter: Letter, pk: int) -> ChangeRequest:
    """The letter's change request, locked until commit (DoesNotExist for
    another letter's)."""
    return (
        ChangeRequest.objects.select_for_update(of=("self",))
        .select_related("revision", "signature", "prospect")
        .get(letter=letter, pk=pk)
    )


def _audit(
    request: ChangeRequest, actor: User, action: Action, **detail: object
) -> None:
    detail = {"change_request": request.pk, "anchor": request.anchor, **detail}
    if request.signature is not None:
        audit_record(request.signature, actor, action, **detail)
    else:
        audit_record(
            request.letter_id, actor, action, name=requester_name(request), **detail
        )


def _undecided(request: ChangeRequest) -> None:
    if request.status not in ChangeRequest.UNDECIDED_STATUSES:
        raise ValidationError(
            _("This change request was already accepted or declined."),
            code="decided",
        )


@transaction.atomic
def change_request_accept(
    *, letter: Letter, pk: int, actor: User, revision_number: int
) -> ChangeRequest:
    """Accepted: the change went into the published revision ``revision_number``,
    later than the one the request was made on."""
    request = _locked(letter, pk)
    _undecided(request)
    revision = Revision.objects.filter(letter=letter, number=revision_number).first()
    if revision is None or revision.number <= request.revision.number:
        raise ValidationError(
            {
                "revision_number": _(
                    "Choose a revision published after the one the request was made on."
                )
            },
            code="revision",
        )
    now = timezone.now()
    request.status = Status.ACCEPTED
    request.accepted_revision = revision
    request.resolved_at, request.resolved_by = now, actor
    request.save(
        update_fields=["status", "accepted_revision", "resolved_at", "resolved_by"]
    )
    _audit(request, actor, Action.CHANGE_REQUEST_ACCEPTED, number=revision.number)
    return request


@transaction.atomic
def change_request_decline(
    *, letter: Letter, pk: int, actor: User, reason: str = ""
) -> ChangeRequest:
    """Declined, with an optional reason (for the organisers; a reply is what
    tells the person)."""
    request = _locked(letter, pk)
    _undecided(request)
    request.status = Status.DECLINED
    request.decline_reason = reason.strip()
    request.resolved_at, request.resolved_by = timezone.now(), actor
    request.save(
        update_fields=["status", "decline_reason", "resolved_at", "resolved_by"]
    )
    _audit(request, actor, Action.CHANGE_REQUEST_DECLINED)
    return request


def reply_key(request: ChangeRequest) -> str:
    return f"change-request:{request.pk}:reply"


@transaction.atomic
def change_request_reply(
    *, letter: Letter, pk: int, actor: User, text: str
) -> OutboxMessage:
    """Answer the person who asked: the reply is kept on the request and
    emailed to them (once: a request has one reply). An open request becomes
    answered; an accepted or declined one keeps its status."""
    request = _locked(letter, pk)
    text = text.strip()
    if not text:
        raise ValidationError({"text": _("Please write a reply.")}, code="empty")
    if request.replied_at is not None:
        raise ValidationError(
            _("This change request was already answered."), code="answered"
        )
    to = requester_email(request)
    if not to:
        raise ValidationError(
            _("Nobody can be written to about this request any more."),
            code="no_address",
        )
    request.reply, request.replied_at, request.replied_by = text, timezone.now(), actor
    if request.status == Status.OPEN:
        request.status = Status.ANSWERED
    request.save(update_fields=["reply", "replied_at", "replied_by", "status"])
    _audit(request, actor, Action.CHANGE_REQUEST_ANSWERED)
    return outbox_enqueue(
        kind=EmailKind.CHANGE_REQUEST_REPLY,
        key=reply_key(request),
        to=to,
        params={"change_request": request.pk},
        letter_id=letter.pk,
        signature_id=request.signature_id,
        prospect_id=request.prospect_id,
    )
