"""The claim-before-send machinery for ``SignatureEmail`` and ``Delivery`` rows.

Every email to a prospect, signer or organiser about a letter's outreach is a
Delivery row with a unique key. Senders claim a row (a conditional UPDATE,
after SELECT ... FOR UPDATE SKIP LOCKED for a chunk) before sending, and mark
it sent afterwards, so a retry, a crash or two dispatchers never send twice.
Signer emails (receipts, confirmations, notices) are ``SignatureEmail`` rows
claimed the same way.
"""

import logging
import smtplib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from time import monotonic
from typing import Final

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from coalition.celery import EMAIL_RETRY_POLICY
from coalition.emails import send_message
from coalition.queue import enqueue, enqueue_on_commit
from letters.models import Revision
from signers import emails
from signers.emails import signature_email_message
from signers.models import (
    Delivery,
    Prospect,
    ReissueOptIn,
    Signature,
    SignatureEmail,
    Suppression,
)
from signers.planning import communications, reminders
from signers.planning.communications import KINDS
from signers.planning.reminders import PROSPECT_KINDS, active_letters
from signers.planning.skips import NOTHING_TO_SAY, skip_reasons
from signers.selectors.outreach import digest_content
from signers.selectors.public import signature_sections_public
from signers.selectors.signatures import signature_count_public, signature_counts

# A claimed email that was neither sent nor released (a worker killed mid-send)
# may be claimed again after this long.
EMAIL_CLAIM_TIMEOUT: Final = timedelta(minutes=10)
# Lost signer emails queued again by one beat run, at most.
SIGNATURE_EMAIL_REQUEUE_LIMIT: Final = 500


def queue_signature_email(
    signature: Signature, kind: str, *, revision: Revision | None = None
) -> None:
    """Record the email and send it after commit, once per (kind, revision)."""

    email, created = SignatureEmail.objects.get_or_create(
        signature=signature,
        kind=kind,
        revision_id=revision.pk if revision else signature.revision_id,
    )
    if created:
        enqueue_on_commit("signers.tasks.signature_email_send_task", email.pk)


def signature_email_send(*, email_id: int) -> bool:
    """Send one recorded email, at most once.

    Not atomic on purpose: the row is claimed with a conditional UPDATE that
    commits before talking to the SMTP server, released if sending raises (so
    the task's retry can claim it again) and marked sent afterwards. A claim
    older than EMAIL_CLAIM_TIMEOUT (a worker killed mid-send) is claimed again.
    Returns False when there was nothing to send.
    """
    now = timezone.now()
    claimed = (
        SignatureEmail.objects.filter(pk=email_id, sent_at__isnull=True)
        .filter(
            Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - EMAIL_CLAIM_TIMEOUT)
        )
        .update(claimed_at=now, attempts=F("attempts") + 1)
    )
    if not claimed:
        return False
    email = SignatureEmail.objects.select_related(
        "revision", "signature__revision", "signature__letter__current_revision"
    ).get(pk=email_id)
    if email.signature.erased_at:
        return False
    try:
        send_message(signature_email_message(email))
    except Exception:
        SignatureEmail.objects.filter(pk=email_id).update(claimed_at=None)
        raise
    SignatureEmail.objects.filter(pk=email_id).update(sent_at=timezone.now())
    return True


def signature_emails_requeue(*, now: datetime) -> int:
    """Queue the send task again for signer emails whose task was lost; beat
    runs this every minute. Returns how many were queued.

    The task message is the only trace of an email outside the database: a
    broker restarted empty (or a worker killed mid-send, its message gone with
    the broker) leaves the row unsent with no one to send it. An email still
    unsent SIGNATURE_EMAIL_RETRY_AFTER after it was recorded (twice as long for
    each attempt so far), with attempts left and no live claim, is queued
    again. A task that was only late finds it claimed and sends nothing.
    """

    wait = timedelta(seconds=settings.SIGNATURE_EMAIL_RETRY_AFTER)
    due = Q()
    for attempts in range(DELIVERY_MAX_ATTEMPTS):
        due |= Q(attempts=attempts, created_at__lt=now - wait * 2**attempts)
    free = Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - EMAIL_CLAIM_TIMEOUT)
    ids = list(
        SignatureEmail.objects.filter(due, free, sent_at__isnull=True)
        .filter(
            created_at__gte=now - wait * 2**DELIVERY_MAX_ATTEMPTS,
            signature__erased_at__isnull=True,
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:SIGNATURE_EMAIL_REQUEUE_LIMIT]
    )
    for pk in ids:
        enqueue("signers.tasks.signature_email_send_task", pk)
    return len(ids)


# --- Deliveries ------------------------------------------------------------------

logger = logging.getLogger(__name__)

DELIVERY_MAX_ATTEMPTS = int(EMAIL_RETRY_POLICY["max_retries"]) + 1


# --- Sending one claimed delivery ---------------------------------------------


def delivery_claim(*, delivery_id: int, claimer: str, now: datetime) -> Delivery | None:
    """Claim one planned delivery for ``claimer``; None if someone else has it.

    A task redelivered after its worker died carries the same ``claimer`` (its
    task id) and so takes back the row it had claimed.
    """
    mine = Q(status=Delivery.Status.PLANNED) | Q(
        status=Delivery.Status.CLAIMED, claimed_by=claimer
    )
    claimed = (
        Delivery.objects.filter(pk=delivery_id)
        .filter(mine)
        .update(
            status=Delivery.Status.CLAIMED,
            claimed_by=claimer,
            claimed_at=now,
            attempts=F("attempts") + 1,
        )
    )
    if not claimed:
        return None
    return _with_relations(Delivery.objects.filter(pk=delivery_id)).get()


def _with_relations(deliveries: QuerySet[Delivery]) -> QuerySet[Delivery]:
    return deliveries.select_related(
        "letter__current_revision", "letter__reminder_schedule", "prospect", "signature"
    ).select_related("user", "update", "call__letter")


def deliveries_claim_due(*, now: datetime, claimer: str, limit: int) -> list[Delivery]:
    """Claim up to ``limit`` due deliveries that no one else is sending."""
    due = Delivery.objects.filter(
        status=Delivery.Status.PLANNED, due_at__lte=now
    ).order_by("due_at", "id")
    claim = {
        "status": Delivery.Status.CLAIMED,
        "claimed_by": claimer,
        "claimed_at": now,
        "attempts": F("attempts") + 1,
    }
    if connection.features.has_select_for_update_skip_locked:
        with transaction.atomic():
            unlocked = due.select_for_update(skip_locked=True)
            ids = list(unlocked.values_list("pk", flat=True)[:limit])
            Delivery.objects.filter(pk__in=ids, status=Delivery.Status.PLANNED).update(
                **claim
            )
    else:
        # SQLite: one UPDATE takes the write lock at once, where a read followed
        # by a write would fail with "database is locked" beside another writer.
        Delivery.objects.filter(
            pk__in=due.values("pk")[:limit], status=Delivery.Status.PLANNED
        ).update(**claim)
    return list(
        _with_relations(
            Delivery.objects.filter(status=Delivery.Status.CLAIMED, claimed_by=claimer)
        ).order_by("due_at", "id")
    )


def _delivery_message(delivery: Delivery) -> EmailMultiAlternatives | None:
    """The email for a claimed delivery; None when there is nothing to say."""
    K = Delivery.Kind
    kind = delivery.kind
    if kind == K.INVITATION and delivery.prospect:
        return emails.invitation_message(
            prospect=delivery.prospect, headers=emails.delivery_headers(delivery)
        )
    if kind in PROSPECT_KINDS and delivery.prospect:
        return emails.deadline_reminder_message(
            delivery=delivery, prospect=delivery.prospect
        )
    if kind == K.CONFIRM_REMINDER and delivery.signature:
        return emails.confirm_reminder_message(
            delivery=delivery, signature=delivery.signature
        )
    if kind == K.RECONFIRM_REMINDER and delivery.signature:
        return emails.reconfirm_reminder_message(
            delivery=delivery, signature=delivery.signature
        )
    if kind == K.SIGNING_CLOSED:
        counts = signature_counts(letter=delivery.letter)
        return emails.signing_closed_message(delivery=delivery, counts=counts)
    if kind == K.DIGEST:
        follow_ups, new_signatures = digest_content(
            letter=delivery.letter, due_at=delivery.due_at
        )
        if not follow_ups and not new_signatures:
            return None
        return emails.digest_message(
            delivery=delivery, follow_ups=follow_ups, new_signatures=new_signatures
        )
    if kind in KINDS:
        return _communication_message(delivery)
    return None


def _communication_message(delivery: Delivery) -> EmailMultiAlternatives | None:
    K = Delivery.Kind
    kind = delivery.kind
    if kind in (K.UPDATE, K.UPDATE_TEST) and delivery.update:
        return emails.update_message(delivery=delivery, update=delivery.update)
    if kind == K.SIGNER_LIST:
        sections = signature_sections_public(letter=delivery.letter)
        count = signature_count_public(letter=delivery.letter)
        return emails.signer_list_message(
            delivery=delivery, sections=sections, count=count
        )
    if kind == K.REISSUE_OPT_IN and delivery.signature:
        opt_in = (
            ReissueOptIn.objects.filter(
                reissue__letter=delivery.letter, earlier=delivery.signature
            )
            .select_related("reissue__source")
            .first()
        )
        if opt_in is None:
            return None
        return emails.reissue_opt_in_message(delivery=delivery, opt_in=opt_in)
    call = delivery.call
    if call is None:
        return None
    invitation = call.invitations.filter(email=delivery.email.lower()).first()
    build = {
        K.CALL_INVITATION: emails.call_invitation_message,
        K.CALL_REMINDER: emails.call_reminder_message,
        K.CALL_NOTES: emails.call_notes_message,
    }[K(kind)]
    return build(delivery=delivery, call=call, invitation=invitation)


def _finish(delivery: Delivery, claimer: str, **fields: object) -> bool:
    return bool(
        Delivery.objects.filter(
            pk=delivery.pk, status=Delivery.Status.CLAIMED, claimed_by=claimer
        ).update(**fields)
    )


@transaction.atomic
def _mark_sent(delivery: Delivery, claimer: str, now: datetime) -> None:
    if not _finish(
        delivery, claimer, status=Delivery.Status.SENT, sent_at=now, last_error=""
    ):
        # Our claim went stale and someone took the row back: it may go twice.
        logger.warning("delivery %s sent after its claim was taken", delivery.pk)
        return
    if delivery.prospect_id and delivery.kind == Delivery.Kind.INVITATION:
        identified = Q(status=Prospect.Status.IDENTIFIED)
        Prospect.objects.filter(pk=delivery.prospect_id).update(
            last_contacted_at=now,
            invited_at=Coalesce("invited_at", Value(now)),
            status=Case(
                When(identified, then=Value(Prospect.Status.INVITED)),
                default=F("status"),
            ),
        )
    elif delivery.prospect_id:
        Prospect.objects.filter(pk=delivery.prospect_id).update(last_contacted_at=now)


def _backoff(attempts: int) -> timedelta:
    base = int(EMAIL_RETRY_POLICY["retry_backoff"])
    cap = int(EMAIL_RETRY_POLICY["retry_backoff_max"])
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), cap))


def _permanent(exc: Exception) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _msg in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500


@dataclass
class SendOutcome:
    status: str
    retry: Exception | None = None  # set when the failure is worth retrying


def _send_claimed(
    delivery: Delivery,
    *,
    claimer: str,
    now: datetime,
    reason: str,
    connection: BaseEmailBackend | None = None,
) -> SendOutcome:
    """Send one delivery this caller has claimed (unless ``reason`` says why
    not), and record what happened."""
    S = Delivery.Status
    message = None if reason else _delivery_message(delivery)
    if message is None:
        _finish(
            delivery,
            claimer,
            status=S.SKIPPED,
            last_error=reason or NOTHING_TO_SAY,
        )
        return SendOutcome(S.SKIPPED)
    try:
        if connection is None:
            send_message(message)
        else:
            message.connection = connection
            message.send(fail_silently=False)
    except (smtplib.SMTPException, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:1000]
        if _permanent(exc):
            if isinstance(exc, smtplib.SMTPRecipientsRefused):
                Suppression.objects.get_or_create(
                    letter=delivery.letter,
                    email=delivery.email.lower(),
                    defaults={"reason": Suppression.Reason.BOUNCED, "detail": error},
                )
            _finish(delivery, claimer, status=S.FAILED, last_error=error)
            return SendOutcome(S.FAILED)
        if delivery.attempts >= DELIVERY_MAX_ATTEMPTS:
            _finish(delivery, claimer, status=S.FAILED, last_error=error)
            return SendOutcome(S.FAILED)
        # Back to planned, due after the backoff: the task's own retry or the
        # dispatcher, whichever comes first, claims it again.
        _finish(
            delivery,
            claimer,
            status=S.PLANNED,
            claimed_by="",
            due_at=now + _backoff(delivery.attempts),
            last_error=error,
        )
        return SendOutcome(S.PLANNED, retry=exc)
    _mark_sent(delivery, claimer, now)
    return SendOutcome(S.SENT)


def delivery_send(*, delivery_id: int, claimer: str) -> str:
    """Claim and send one delivery; returns its new status, or "" if another
    sender has it or it is done.

    Raises the SMTP error when a retry is worth it (the task retries with
    backoff); permanent failures and exhausted attempts are recorded as failed.
    """
    now = timezone.now()
    delivery = delivery_claim(delivery_id=delivery_id, claimer=claimer, now=now)
    if delivery is None:
        return ""
    reason = skip_reasons([delivery], now=now)[delivery.pk]
    outcome = _send_claimed(delivery, claimer=claimer, now=now, reason=reason)
    if outcome.retry is not None:
        raise outcome.retry
    return outcome.status


# --- The dispatcher ---------------------------------------------------------------


@dataclass
class DispatchResult:
    reclaimed: int = 0
    planned: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    deferred: int = 0


def deliveries_reclaim_stale(*, now: datetime) -> int:
    """Put back claims older than DELIVERY_CLAIM_TIMEOUT: their sender died."""
    cutoff = now - timedelta(seconds=settings.DELIVERY_CLAIM_TIMEOUT)
    return Delivery.objects.filter(
        status=Delivery.Status.CLAIMED, claimed_at__lt=cutoff
    ).update(status=Delivery.Status.PLANNED, claimed_by="")


def deliveries_plan_due(*, now: datetime) -> int:
    """Insert a row for every reminder due now and not planned yet.

    Inserting ignores key conflicts, so two planners at once create each row
    once; a moved deadline changes the key, which plans the reminder anew.
    """
    planned = 0
    for letter in active_letters():
        rows = list(reminders.due_deliveries(letter, now=now))
        if rows:
            Delivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
            planned += len(rows)
    # Call reminders and weekly signer lists (signers.planning.communications).
    rows = list(communications.due_deliveries(now=now))
    if rows:
        Delivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
        planned += len(rows)
    return planned


class _Connection:
    """One SMTP connection for a chunk, opened again after a failure."""

    def __init__(self) -> None:
        self.backend = get_connection(fail_silently=False)
        self.opened = False

    def get(self) -> BaseEmailBackend:
        if not self.opened:
            self.backend.open()
            self.opened = True
        return self.backend

    def reset(self) -> None:
        try:
            self.backend.close()
        except Exception:  # a broken connection may fail to close as well
            logger.debug("closing a broken SMTP connection failed", exc_info=True)
        self.opened = False


def deliveries_dispatch(
    *, now: datetime | None = None, budget_seconds: float | None = None
) -> DispatchResult:
    """Plan what is due and send it, chunk by chunk, until none is left or the
    time budget is spent. Runs every minute from beat.

    Two dispatchers at once share the work: each chunk is claimed with
    SELECT ... FOR UPDATE SKIP LOCKED and a conditional UPDATE.
    """
    now = now or timezone.now()
    budget = budget_seconds or settings.DELIVERY_DISPATCH_BUDGET
    result = DispatchResult()
    result.reclaimed = deliveries_reclaim_stale(now=now)
    result.planned = deliveries_plan_due(now=now)
    stop_at = monotonic() + budget
    while monotonic() < stop_at:
        claimer = f"dispatch-{uuid.uuid4().hex}"
        chunk = deliveries_claim_due(
            now=now, claimer=claimer, limit=settings.DELIVERY_CHUNK_SIZE
        )
        if not chunk or not _send_chunk(
            chunk, claimer=claimer, now=now, stop_at=stop_at, result=result
        ):
            break
    return result


def _send_chunk(
    chunk: list[Delivery],
    *,
    claimer: str,
    now: datetime,
    stop_at: float,
    result: DispatchResult,
) -> bool:
    """Send a claimed chunk over one SMTP connection. False when the run should
    stop: the time is spent, or the SMTP server cannot be reached (the rest of
    the chunk goes back to planned without using up an attempt)."""
    connection = _Connection()
    reasons = skip_reasons(chunk, now=now)
    try:
        for index, delivery in enumerate(chunk):
            backend = None
            if not reasons[delivery.pk]:
                if monotonic() > stop_at:
                    _release(chunk[index:], claimer=claimer, due_at=now, error="")
                    return False
                try:
                    backend = connection.get()
                except (smtplib.SMTPException, OSError) as exc:
                    rest = chunk[index:]
                    error = f"{type(exc).__name__}: {exc}"[:1000]
                    _release(
                        rest, claimer=claimer, due_at=now + _backoff(1), error=error
                    )
                    result.deferred += len(rest)
                    return False
            outcome = _send_claimed(
                delivery,
                claimer=claimer,
                now=now,
                reason=reasons[delivery.pk],
                connection=backend,
            )
            if outcome.retry is not None:
                connection.reset()
            _count(result, outcome)
    finally:
        connection.reset()
    return True


def _release(
    deliveries: list[Delivery], *, claimer: str, due_at: datetime, error: str
) -> None:
    """Give claimed deliveries back untried: they keep their attempts."""
    Delivery.objects.filter(
        pk__in=[d.pk for d in deliveries],
        status=Delivery.Status.CLAIMED,
        claimed_by=claimer,
    ).update(
        status=Delivery.Status.PLANNED,
        claimed_by="",
        attempts=F("attempts") - 1,
        due_at=due_at,
        last_error=error or F("last_error"),
    )


def _count(result: DispatchResult, outcome: SendOutcome) -> None:
    names = {"sent": "sent", "failed": "failed", "skipped": "skipped"}
    field = names.get(str(outcome.status), "deferred")
    setattr(result, field, getattr(result, field) + 1)
