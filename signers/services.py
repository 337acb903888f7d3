import logging
import smtplib
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from time import monotonic
from typing import Required, TypedDict, Unpack

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from coalition.celery import EMAIL_RETRY_POLICY
from coalition.emails import send_message
from coalition.models import User
from letters.models import AuditEvent, Letter, Revision
from signers import emails, reminders, selectors
from signers.models import (
    Delivery,
    InvitationBatch,
    Prospect,
    ReminderSchedule,
    Suppression,
)


def signatures_on_new_revision(*, revision: Revision) -> None:
    """Called by ``letters.services`` inside the transaction that publishes
    ``revision`` (number 2 or later).

    The signing work fills this in: editorial revisions notify earlier signers,
    material ones move them to re-confirmation.
    """


# --- Outreach: prospects, invitations and the delivery machinery -----------------
#
# Every email to a prospect, signer or organiser about a letter's outreach is a
# Delivery row with a unique key. Senders claim a row (a conditional UPDATE,
# after SELECT ... FOR UPDATE SKIP LOCKED for a chunk) before sending, and mark
# it sent afterwards, so a retry, a crash or two dispatchers never send twice.

logger = logging.getLogger(__name__)

DELIVERY_MAX_ATTEMPTS = int(EMAIL_RETRY_POLICY["max_retries"]) + 1


def _audit(letter: Letter, actor: User | None, action: str, **detail: object) -> None:
    AuditEvent.objects.create(letter=letter, actor=actor, action=action, detail=detail)


class ProspectFields(TypedDict, total=False):
    """What an organiser can set on a prospect (the form's fields)."""

    organisation: Required[str]
    email: Required[str]
    contact_name: str
    notes: str
    is_large: bool
    owner: User | None
    status: str
    next_follow_up: date | None


def _check_address_free(letter: Letter, email: str, prospect_pk: int | None) -> None:
    taken = Prospect.objects.filter(letter=letter, email__iexact=email)
    if prospect_pk is not None:
        taken = taken.exclude(pk=prospect_pk)
    if taken.exists():
        raise ValidationError({"email": _("This address is already on the list.")})


@transaction.atomic
def prospect_create(*, letter: Letter, **fields: Unpack[ProspectFields]) -> Prospect:
    """Add a prospect; raises ValidationError if the address is already listed."""
    prospect = Prospect(letter=letter)
    return prospect_update(prospect=prospect, **fields)


@transaction.atomic
def prospect_update(
    *, prospect: Prospect, **fields: Unpack[ProspectFields]
) -> Prospect:
    """Save an organiser's changes. Marking a prospect invited by hand (they were
    asked some other way) starts their reminders."""
    values: dict[str, object] = {**fields}
    values["email"] = fields["email"].strip().lower()
    values["organisation"] = fields["organisation"].strip()
    values["contact_name"] = fields.get("contact_name", "").strip()
    _check_address_free(prospect.letter, str(values["email"]), prospect.pk)
    for name, value in values.items():
        setattr(prospect, name, value)
    if prospect.status in reminders.AWAITING_ANSWER and prospect.invited_at is None:
        prospect.invited_at = timezone.now()
    prospect.save()
    return prospect


@transaction.atomic
def prospects_import(*, letter: Letter, data: bytes, actor: User | None) -> int:
    """Import every row of a prospect CSV, or none.

    Duplicates (already listed, or repeated in the file) are left out; any error
    raises ValidationError and nothing is written.
    """
    preview = selectors.prospect_import_preview(letter=letter, data=data)
    if preview.errors:
        raise ValidationError(_("The file has errors; nothing was imported."))
    prospects = [
        Prospect(
            letter=letter,
            organisation=row.organisation,
            contact_name=row.contact_name,
            email=row.email,
            notes=row.notes,
            is_large=row.is_large,
            owner=preview.owners.get(row.owner.lower()) if row.owner else None,
        )
        for row in preview.rows
    ]
    try:
        with transaction.atomic():
            Prospect.objects.bulk_create(prospects, batch_size=500)
    except IntegrityError as exc:
        raise ValidationError(
            _("Someone added some of these addresses meanwhile. Upload the file again.")
        ) from exc
    _audit(letter, actor, "prospects.imported", count=len(prospects))
    return len(prospects)


@transaction.atomic
def reminder_schedule_update(
    *,
    letter: Letter,
    actor: User | None,
    soft_days_before: list[int],
    announce_hard_deadline: bool,
    last_call_days_before: int | None,
    confirm_after_days: int | None,
    reconfirm_after_days: int | None,
    digest_enabled: bool,
    digest_hour: int,
) -> ReminderSchedule:
    """Save the letter's schedule; the dispatcher plans from it on its next run."""
    schedule, _created = ReminderSchedule.objects.update_or_create(
        letter=letter,
        defaults={
            "soft_days_before": sorted(set(soft_days_before), reverse=True),
            "announce_hard_deadline": announce_hard_deadline,
            "last_call_days_before": last_call_days_before,
            "confirm_after_days": confirm_after_days,
            "reconfirm_after_days": reconfirm_after_days,
            "digest_enabled": digest_enabled,
            "digest_hour": digest_hour,
        },
    )
    _audit(letter, actor, "reminders.schedule_changed")
    return schedule


@transaction.atomic
def invitations_send(
    *, letter: Letter, actor: User | None, prospect_ids: list[int] | None = None
) -> InvitationBatch | None:
    """Plan one invitation per prospect (all invitable ones if ``prospect_ids`` is
    None) and queue the batch after commit.

    The key of an invitation is per prospect, so a second press (a double click,
    or two organisers at once) plans nothing new and returns None.
    """
    now = timezone.now()
    if not reminders.letter_accepts_invitations(letter, now=now):
        raise ValidationError(
            _(
                "Invitations can be sent while the letter is circulating or "
                "published, has a revision to sign, and signing has not closed."
            )
        )
    prospects = reminders.invitable_prospects(letter).exclude(
        pk__in=reminders.invited_ids(letter)
    )
    if prospect_ids is not None:
        prospects = prospects.filter(pk__in=prospect_ids)
    batch = InvitationBatch.objects.create(letter=letter, created_by=actor)
    rows = []
    for prospect in prospects:
        delivery = reminders.new_delivery(
            letter=letter,
            kind=Delivery.Kind.INVITATION,
            basis="once",
            due_at=now,
            prospect=prospect,
        )
        delivery.batch = batch
        rows.append(delivery)
    Delivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    count = batch.deliveries.count()
    if not count:
        batch.delete()
        return None
    _audit(letter, actor, "invitations.queued", count=count, batch=batch.pk)
    from signers.tasks import invitation_batch_send_task

    invitation_batch_send_task.delay_on_commit(batch.pk)  # type: ignore[attr-defined]
    return batch


def invitation_batch_fan_out(*, batch_id: int) -> int:
    """Queue one send task per delivery of the batch still planned.

    Safe to run again: a delivery already claimed or sent is left alone by its
    task, and the dispatcher picks up any whose task was lost.
    """
    from signers.tasks import delivery_send_task

    ids = list(
        Delivery.objects.filter(
            batch_id=batch_id, status=Delivery.Status.PLANNED
        ).values_list("pk", flat=True)
    )
    for pk in ids:
        delivery_send_task.delay_on_commit(pk)
    return len(ids)


@transaction.atomic
def delivery_unsubscribe(*, delivery: Delivery) -> bool:
    """Stop everything about the letter to this address. False if already done."""
    email = delivery.email.lower()
    _suppression, created = Suppression.objects.get_or_create(
        letter=delivery.letter,
        email=email,
        defaults={"reason": Suppression.Reason.UNSUBSCRIBED},
    )
    # They asked not to be contacted: the organisers see it on the list.
    Prospect.objects.filter(
        letter=delivery.letter,
        email__iexact=email,
        status__in=[*reminders.INVITABLE, *reminders.AWAITING_ANSWER],
    ).update(status=Prospect.Status.DO_NOT_CONTACT)
    return created


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
    ).select_related("user")


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
    if kind in reminders.PROSPECT_KINDS and delivery.prospect:
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
        counts = selectors.signature_counts(letter=delivery.letter)
        return emails.signing_closed_message(delivery=delivery, counts=counts)
    if kind == K.DIGEST:
        follow_ups, new_signatures = selectors.digest_content(
            letter=delivery.letter, due_at=delivery.due_at
        )
        if not follow_ups and not new_signatures:
            return None
        return emails.digest_message(
            delivery=delivery, follow_ups=follow_ups, new_signatures=new_signatures
        )
    return None


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
            last_error=reason or reminders.NOTHING_TO_SAY,
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
    reason = reminders.skip_reasons([delivery], now=now)[delivery.pk]
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
    for letter in reminders.active_letters():
        rows = list(reminders.due_deliveries(letter, now=now))
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
    reasons = reminders.skip_reasons(chunk, now=now)
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
