"""Putting messages in the outbox, and an organiser's retry of failed ones.

Nothing here speaks SMTP: the dispatcher (``coalition.outbox.dispatcher``) is
the only sender. Enqueuing in a transaction kicks one dispatch task when it
commits (one per transaction, never one per message); beat dispatches every
minute whatever the broker lost.
"""

import hashlib
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Required, TypedDict, Unpack
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from coalition.models import User
from coalition.outbox.builders import PREBUILT, Email
from coalition.outbox.models import OutboxMessage
from coalition.outbox.tasks import KICK_MARK, KICK_MARK_SECONDS, outbox_dispatch_task

logger = logging.getLogger(__name__)

JSONScalar = str | int | float | bool | None
Params = Mapping[str, JSONScalar | list[JSONScalar]]


def message_id_for(key: str) -> str:
    """A Message-ID fixed by the message's key: every attempt carries it."""
    digest = hashlib.sha256(f"{settings.SECRET_KEY}:{key}".encode()).hexdigest()
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"<{digest[:32]}@{domain}>"


class MessageFields(TypedDict, total=False):
    """What a new message is: see :func:`outbox_message`."""

    kind: Required[str]
    key: Required[str]
    to: Required[str]
    params: Params
    email: Email
    letter_id: int | None
    signature_id: int | None
    prospect_id: int | None
    user_id: int | None
    group: str
    send_at: datetime


def outbox_message(**fields: Unpack[MessageFields]) -> OutboxMessage:
    """An unsaved row, for :func:`outbox_enqueue_many` (a planner's bulk insert).

    ``email`` is a message built now, sent as it is (kind ``prebuilt``);
    otherwise the builder registered for ``kind`` builds it at send time from
    ``params`` and the linked rows.
    """
    email = fields.get("email")
    return OutboxMessage(
        kind=fields["kind"],
        key=fields["key"],
        message_id=message_id_for(fields["key"]),
        to=fields["to"],
        params=dict(fields.get("params", {})),
        built=email.as_dict() if email is not None else None,
        letter_id=fields.get("letter_id"),
        signature_id=fields.get("signature_id"),
        prospect_id=fields.get("prospect_id"),
        user_id=fields.get("user_id"),
        group=fields.get("group", ""),
        next_attempt_at=fields.get("send_at") or timezone.now(),
    )


def outbox_enqueue(**fields: Unpack[MessageFields]) -> OutboxMessage:
    """Put one message in the outbox, once per ``key``.

    Idempotent: a second enqueue of a key (a double click, a retried task, two
    planners at once) changes nothing and returns the existing row, whatever
    its status. The dispatch task is kicked after commit.

    Two statements (an INSERT that skips a taken key, and the row read back),
    with no savepoint: a signature's request makes one of these.
    """
    new = outbox_message(**fields)
    OutboxMessage.objects.bulk_create([new], ignore_conflicts=True)
    row = OutboxMessage.objects.get(key=new.key)
    created = row.created_at == new.created_at
    if created and row.next_attempt_at <= timezone.now():
        kick_after_commit()
    return row


def outbox_enqueue_email(
    *, key: str, email: Email, user_id: int | None = None
) -> OutboxMessage:
    """A message built by the caller (an account email), sent as it is."""
    return outbox_enqueue(
        kind=PREBUILT, key=key, to=email.to[0], email=email, user_id=user_id
    )


@transaction.atomic
def outbox_enqueue_many(messages: Iterable[OutboxMessage]) -> int:
    """Insert many new rows at once (from :func:`outbox_message`), skipping
    keys already in the outbox. Returns how many rows were offered."""
    rows = list(messages)
    if not rows:
        return 0
    OutboxMessage.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    if min(row.next_attempt_at for row in rows) <= timezone.now():
        kick_after_commit()
    return len(rows)


@transaction.atomic
def outbox_retry(
    *, message_ids: Iterable[int], actor: User | None, letter_id: int | None = None
) -> list[int]:
    """Queue failed messages again, with a fresh set of attempts: an organiser's
    button after an outage longer than the retries. Only failed rows move (and
    only the letter's when ``letter_id`` is given); returns their ids.

    The message is built again from what is true now (its links may have
    expired), with the same Message-ID: no attempt reached the recipient.
    """
    rows = OutboxMessage.objects.select_for_update().filter(
        pk__in=list(message_ids), status=OutboxMessage.Status.FAILED
    )
    if letter_id is not None:
        rows = rows.filter(letter_id=letter_id)
    ids = list(rows.values_list("pk", flat=True))
    if not ids:
        return []
    now = timezone.now()
    retried = OutboxMessage.objects.filter(pk__in=ids)
    retried.exclude(kind=PREBUILT).update(built=None)
    retried.update(
        status=OutboxMessage.Status.QUEUED,
        attempts=0,
        next_attempt_at=now,
        claim_token=None,
        claimed_at=None,
    )
    logger.info(
        "outbox: %s retried %d failed message(s)",
        actor.pk if actor else "nobody",
        len(ids),
    )
    kick_after_commit()
    return ids


def _kick() -> None:
    outbox_dispatch_kick()


def outbox_dispatch_kick() -> None:
    """Queue a dispatch task unless one is queued and has not started yet.

    The mark (one cache round trip) is taken off by the task as it starts,
    before it claims: a kick that finds the mark was made before that task
    claims, so the task sees the rows committed before the kick. Many sign-ups
    a second then publish one task, not one each. A mark whose task the broker
    lost expires, and beat's dispatcher (every minute) sends meanwhile."""
    try:
        queued = not cache.add(KICK_MARK, 1, timeout=KICK_MARK_SECONDS)
    except Exception:  # no cache: publish, as every kick did before
        logger.warning("outbox: the cache did not answer; kicking", exc_info=True)
        queued = False
    if not queued:
        outbox_dispatch_task.delay()


def kick_after_commit() -> None:
    """Queue one dispatch task when the current transaction commits: a
    transaction that enqueues a thousand messages queues one task."""
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(
        callback is _kick for _ids, callback, _robust in connection.run_on_commit
    ):
        return
    transaction.on_commit(_kick)
