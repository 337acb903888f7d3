"""The dispatcher: the one place the site speaks SMTP.

``outbox_dispatch`` claims a batch of due rows and commits the claim before it
opens a connection (``durable=True``: it may not run inside a caller's
transaction, whose rollback would undo the claim after the mail went). It sends
the batch over one SMTP connection, and puts failures back with backoff until
the attempts run out. Two dispatchers at once share the work (``SKIP LOCKED``);
a claim older than OUTBOX_CLAIM_TIMEOUT belongs to a dispatcher that died
mid-send and is taken back, so a message cut off mid-conversation may arrive
twice, with one Message-ID, but none is lost.

Each message is marked sent by one single-row UPDATE as soon as the server has
accepted it, written to the database before the next is sent: marking a whole
batch at its end would send again, after a worker is killed, every message the
batch had sent so far. On PostgreSQL the database's answer is read while the
next message goes (:class:`_SentMarks`), so a batch does not wait for one
database round trip per message.
What follows sending (``Kind.after_sent``: a prospect becomes "invited") runs
for the batch at once, and clears the rows' claim; a dispatcher killed before
that leaves sent rows still claimed, which the next dispatch settles.
"""

import logging
import smtplib
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from coalition.outbox import builders
from coalition.outbox.builders import Email
from coalition.outbox.models import OutboxMessage
from coalition.outbox.smtp import send_one

logger = logging.getLogger(__name__)

Status = OutboxMessage.Status
NOTHING_TO_SAY = "nothing to say"
SMTP_ERRORS = (smtplib.SMTPException, OSError)


@dataclass
class DispatchResult:
    claimed: int = 0
    reclaimed: int = 0  # of those, claims of a dispatcher that died, taken back
    sent: int = 0
    retrying: int = 0  # failed this time, queued again after a backoff
    failed: int = 0  # no attempts left, or refused for good
    cancelled: int = 0  # nothing to send any more (the prospect signed...)
    deferred: int = 0  # given back untried: the SMTP server could not be reached


def backoff(attempts: int) -> timedelta:
    """How long a message waits after its ``attempts``-th failure."""
    seconds = settings.OUTBOX_RETRY_BACKOFF * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.OUTBOX_RETRY_BACKOFF_MAX))


def outbox_dispatch(
    *,
    batch_size: int | None = None,
    now: datetime | None = None,
    claimed: Callable[[int], None] | None = None,
) -> DispatchResult:
    """Claim up to ``batch_size`` due messages and send them; see the module.

    ``claimed`` is called with the batch's size once its claim is committed
    and the SMTP server has answered (or there is nothing to send), before the
    first message goes: the task queues the next batch there, so a second
    worker process sends it meanwhile. It is not called when the server could
    not be reached."""
    now = now or timezone.now()
    token = uuid.uuid4()
    rows, reclaimed = _claim(
        token, now=now, limit=batch_size or settings.OUTBOX_BATCH_SIZE
    )
    result = DispatchResult(claimed=len(rows), reclaimed=reclaimed)

    def connected() -> None:
        if claimed is None:
            return
        try:
            claimed(len(rows))
        except Exception:  # a broker that cannot take the next task: beat will
            logger.exception("outbox: queuing the next batch failed")

    if not rows:
        connected()
        return result
    outgoing = _prepare(rows, token=token, now=now, result=result)
    if not outgoing:
        connected()
    sent: list[OutboxMessage] = []
    try:
        _send(outgoing, sent, token=token, now=now, result=result, opened=connected)
    finally:
        # Whatever stopped the loop, what went has its consequences.
        _settle(sent, token=token)
        result.sent = len(sent)
    return result


def outbox_settle_stale(*, now: datetime | None = None) -> int:
    """Settle the messages a dead dispatcher sent but did not settle (see the
    module); the dispatch task runs this before each batch. Returns how many."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.OUTBOX_CLAIM_TIMEOUT)
    rows = list(
        OutboxMessage.objects.filter(
            status=Status.SENT, claim_token__isnull=False, claimed_at__lt=stale
        )[:1000]
    )
    for token in {row.claim_token for row in rows if row.claim_token}:
        _settle([row for row in rows if row.claim_token == token], token=token)
    return len(rows)


def _claim(
    token: uuid.UUID, *, now: datetime, limit: int
) -> tuple[list[OutboxMessage], int]:
    """The batch, claimed and committed; and how many were stale claims."""
    stale = now - timedelta(seconds=settings.OUTBOX_CLAIM_TIMEOUT)
    due = OutboxMessage.objects.filter(
        Q(status=Status.QUEUED, next_attempt_at__lte=now)
        | Q(status=Status.SENDING, claimed_at__lt=stale)
    ).order_by("next_attempt_at", "id")
    claim = {
        "status": Status.SENDING,
        "claim_token": token,
        "claimed_at": now,
        "attempts": F("attempts") + 1,
    }
    reclaimed = 0
    with transaction.atomic(durable=True):
        if db_connection.features.has_select_for_update_skip_locked:
            found = list(
                due.select_for_update(skip_locked=True).values_list("pk", "status")[
                    :limit
                ]
            )
            reclaimed = sum(1 for _pk, status in found if status == Status.SENDING)
            if found:
                OutboxMessage.objects.filter(pk__in=[pk for pk, _s in found]).update(
                    **claim
                )
        else:
            # SQLite: one UPDATE takes the write lock at once, where a read
            # then a write would fail with "database is locked" beside another.
            OutboxMessage.objects.filter(pk__in=due.values("pk")[:limit]).update(
                **claim
            )
    related = {"letter", "signature", "prospect", "user"}
    for name in builders.registered():
        related.update(builders.kind_for(name).select_related)
    own = sorted(name for name in related if name.split("__")[0] != "letter")
    rows = list(
        OutboxMessage.objects.filter(claim_token=token)
        .select_related(*own)
        .order_by("next_attempt_at", "id")
    )
    _attach_letters(rows, related)
    return rows, reclaimed


def _attach_letters(rows: list[OutboxMessage], related: set[str]) -> None:
    """Each row's letter, with what the kinds read of it, loaded once for the
    batch: a batch is nearly always one letter's, which a join would load and
    build again for every row."""
    ids = {row.letter_id for row in rows if row.letter_id is not None}
    if not ids:
        return
    through = sorted(
        name.removeprefix("letter__") for name in related if name.startswith("letter__")
    )
    field = OutboxMessage.letter.field  # the outbox imports no app's models
    letters = field.related_model._default_manager.select_related(*through)
    found = letters.in_bulk(ids)
    for row in rows:
        if (letter := found.get(row.letter_id)) is not None:
            field.set_cached_value(row, letter)


def _prepare(
    rows: list[OutboxMessage],
    *,
    token: uuid.UUID,
    now: datetime,
    result: DispatchResult,
) -> list[tuple[OutboxMessage, Email]]:
    """The messages of the batch that are to go now, built; the others are
    cancelled (nothing to say any more) or failed (out of attempts, no kind)."""
    by_kind: dict[str, list[OutboxMessage]] = defaultdict(list)
    for row in rows:
        by_kind[row.kind].append(row)
    reasons: dict[int, str] = {}
    # Kinds that share a screen are screened together (a few queries a letter).
    by_screen: dict[builders.Screen, list[OutboxMessage]] = defaultdict(list)
    for name, group in by_kind.items():
        try:
            kind = builders.kind_for(name)
        except LookupError as exc:
            reasons.update({row.pk: f"!{exc}" for row in group})
            continue
        if kind.screen is not None:
            by_screen[kind.screen].extend(group)
    for screen, screened in by_screen.items():
        reasons.update(screen(screened, now))
    outgoing = []
    with builders.batch_memo():
        _prepare_builders(by_kind, reasons)
        for row in rows:
            if email := _prepared(row, reasons.get(row.pk, ""), token, result):
                outgoing.append((row, email))
    return outgoing


def _prepare_builders(
    by_kind: dict[str, list[OutboxMessage]], reasons: dict[int, str]
) -> None:
    """Each kind's ``prepare`` once for the rows that will be built: what
    their builders read, in a few queries for the batch."""
    by_prepare: dict[builders.Prepare, list[OutboxMessage]] = defaultdict(list)
    for name, group in by_kind.items():
        try:
            prepare = builders.kind_for(name).prepare
        except LookupError:  # failed in _prepared
            continue
        if prepare is not None:
            by_prepare[prepare].extend(
                row for row in group if not row.built and not reasons.get(row.pk)
            )
    for prepare, group in by_prepare.items():
        if not group:
            continue
        try:
            prepare(group)
        except Exception:  # the builders then read row by row
            logger.exception("outbox: preparing a batch's builders failed")


def _prepared(
    row: OutboxMessage, reason: str, token: uuid.UUID, result: DispatchResult
) -> Email | None:
    """The row's message, or None once it is failed or cancelled."""
    if not reason and row.attempts > settings.OUTBOX_MAX_ATTEMPTS:
        # Claimed again and again by dispatchers that died sending it.
        reason = f"!gave up after {row.attempts - 1} attempts"
    email = None
    if not reason:
        try:
            email = _built(row)
        except Exception as exc:  # a builder's bug fails its row, not the batch
            logger.exception("outbox: building message %s failed", row.pk)
            reason = f"!{type(exc).__name__}: {exc}"
    if email is not None:
        return email
    failed = reason.startswith("!")
    _finish(
        row,
        token,
        status=Status.FAILED if failed else Status.CANCELLED,
        last_error=(reason[1:] if failed else reason or NOTHING_TO_SAY)[:1000],
    )
    if failed:
        result.failed += 1
    else:
        result.cancelled += 1
    return None


def _built(row: OutboxMessage) -> Email | None:
    if row.built:
        return Email.from_dict(row.built)
    return builders.kind_for(row.kind).build(row)


class _Connection:
    """One SMTP connection for the batch, opened again after a failure."""

    def __init__(self, first: Callable[[], None]) -> None:
        self.backend: BaseEmailBackend = get_connection(fail_silently=False)
        self.opened = False
        self.first: Callable[[], None] | None = first  # once the server answered

    def get(self) -> BaseEmailBackend:
        if not self.opened:
            self.backend.open()
            self.opened = True
            first, self.first = self.first, None
            if first is not None:
                first()
        return self.backend

    def close(self) -> None:
        if not self.opened:
            return
        self.opened = False
        try:
            self.backend.close()
        except Exception:  # a broken connection may fail to close as well
            logger.debug("closing a broken SMTP connection failed", exc_info=True)


def _send(
    outgoing: list[tuple[OutboxMessage, Email]],
    sent: list[OutboxMessage],
    *,
    token: uuid.UUID,
    now: datetime,
    result: DispatchResult,
    opened: Callable[[], None],
) -> None:
    connection = _Connection(opened)
    marks = _SentMarks(token)
    _fast_commits(True)
    try:
        for index, (row, email) in enumerate(outgoing):
            try:
                backend = connection.get()
            except SMTP_ERRORS as exc:
                marks.wait()
                rest = outgoing[index:]
                _release(rest, token=token, now=now, error=_describe(exc))
                result.deferred += len(rest)
                return
            try:
                send_one(backend, email.to_message(message_id=row.message_id))
            except SMTP_ERRORS as exc:
                connection.close()  # the next message starts a clean conversation
                marks.wait()
                if _failed_attempt(row, email, exc, token=token, now=now):
                    result.retrying += 1
                else:
                    result.failed += 1
            else:
                marks.mark(row)
                sent.append(row)
    finally:
        connection.close()
        try:
            marks.wait()
        finally:
            _fast_commits(False)


def _fast_commits(on: bool) -> None:
    """While a batch is sent, PostgreSQL answers each "sent" record without
    waiting for its disk: the record is visible to every other dispatcher at
    once (a killed worker loses none), and only a crash of the database itself
    in the next fraction of a second could lose one, whose message would then
    go again with its Message-ID. The claim, committed before, is durable."""
    if db_connection.vendor != "postgresql":
        return
    with db_connection.cursor() as cursor:
        cursor.execute(
            "SET synchronous_commit TO OFF" if on else "RESET synchronous_commit"
        )


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:1000]


def _permanent(exc: Exception) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _msg in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500


def _failed_attempt(
    row: OutboxMessage,
    email: Email,
    exc: Exception,
    *,
    token: uuid.UUID,
    now: datetime,
) -> bool:
    """Record a failed attempt; True when the message will be tried again.

    The built message is kept, so the retry sends the very same one."""
    error = _describe(exc)
    retry = not _permanent(exc) and row.attempts < settings.OUTBOX_MAX_ATTEMPTS
    fields: dict[str, object] = {"built": email.as_dict(), "last_error": error}
    if retry:
        fields.update(status=Status.QUEUED, next_attempt_at=now + backoff(row.attempts))
    else:
        fields.update(status=Status.FAILED)
    with transaction.atomic():
        _finish(row, token, **fields)
        bounced = builders.kind_for(row.kind).bounced
        if isinstance(exc, smtplib.SMTPRecipientsRefused) and not retry and bounced:
            bounced(row, error)
    return retry


def _finish(row: OutboxMessage, token: uuid.UUID, **fields: object) -> bool:
    return bool(
        OutboxMessage.objects.filter(pk=row.pk, claim_token=token).update(
            claim_token=None, **fields
        )
    )


def _release(
    outgoing: list[tuple[OutboxMessage, Email]],
    *,
    token: uuid.UUID,
    now: datetime,
    error: str,
) -> None:
    """Give claimed messages back untried: they keep their attempts."""
    OutboxMessage.objects.filter(
        pk__in=[row.pk for row, _email in outgoing], claim_token=token
    ).update(
        status=Status.QUEUED,
        claim_token=None,
        attempts=F("attempts") - 1,
        next_attempt_at=now + backoff(1),
        last_error=error,
    )


class _SentMarks:
    """Each sent message's record, written to the database before the next
    message is sent, its answer read while that next message goes.

    On PostgreSQL the UPDATE goes out through the connection's libpq handle
    without waiting (the statement is complete on the server's socket, where a
    worker killed a moment later cannot take it back), and :meth:`wait` reads
    its answer before any other statement uses the connection. Elsewhere it
    is the plain UPDATE, answered at once. Django's query log counts it."""

    def __init__(self, token: uuid.UUID) -> None:
        self.token = token
        self.pending: OutboxMessage | None = None
        self.direct = db_connection.vendor == "postgresql"
        table = OutboxMessage._meta.db_table  # the model's, never a stranger's
        self.sql = (
            f'UPDATE "{table}" SET "status" = $1, "sent_at" = $2, '  # noqa: S608
            f'"last_error" = \'\' WHERE "id" = $3 AND "claim_token" = $4'
        )

    def mark(self, row: OutboxMessage) -> None:
        self.wait()
        if not self.direct:
            _mark_sent(row, token=self.token)
            return
        from psycopg import generators

        db_connection.ensure_connection()
        raw = db_connection.connection
        params = [
            str(Status.SENT).encode(),
            timezone.now().isoformat().encode(),
            str(row.pk).encode(),
            str(self.token).encode(),
        ]
        raw.pgconn.send_query_params(self.sql.encode(), params)
        self.pending = row
        raw.wait(generators.send(raw.pgconn))
        if db_connection.queries_logged:
            db_connection.queries_log.append(
                {"sql": f"{self.sql} -- {params}", "time": "0.000"}
            )

    def wait(self) -> None:
        """Read the answer to the last record, if any is still out."""
        row, self.pending = self.pending, None
        if row is None:
            return
        from psycopg import errors, generators, pq

        raw = db_connection.connection
        results = raw.wait(generators.fetch_many(raw.pgconn))
        for answer in results:
            if answer.status == pq.ExecStatus.FATAL_ERROR:
                raise errors.error_from_result(answer)
        if not results or not results[-1].command_tuples:
            _taken(row)


def _taken(row: OutboxMessage) -> None:
    # The claim went stale and another dispatcher took the row: it may go twice.
    logger.warning("outbox: message %s sent after its claim was taken", row.pk)


def _mark_sent(row: OutboxMessage, *, token: uuid.UUID) -> None:
    """Record at once that the server accepted the message. The claim stays
    until the batch is settled."""
    marked = OutboxMessage.objects.filter(pk=row.pk, claim_token=token).update(
        status=Status.SENT, sent_at=timezone.now(), last_error=""
    )
    if not marked:
        _taken(row)


@transaction.atomic
def _settle(rows: list[OutboxMessage], *, token: uuid.UUID) -> None:
    """What follows sending, kind by kind, for the batch at once; then the
    claim is cleared (one UPDATE)."""
    if not rows:
        return
    now = timezone.now()
    settled = list(
        OutboxMessage.objects.filter(
            pk__in=[row.pk for row in rows], claim_token=token, status=Status.SENT
        )
        .select_for_update()
        .values_list("pk", flat=True)
    )
    by_kind: dict[str, list[OutboxMessage]] = defaultdict(list)
    for row in rows:
        if row.pk in settled:
            by_kind[row.kind].append(row)
    for name, group in by_kind.items():
        after_sent = builders.kind_for(name).after_sent
        if after_sent is not None:
            after_sent(group, now)
    OutboxMessage.objects.filter(pk__in=settled).update(claim_token=None)
