import logging
from dataclasses import asdict

from celery import shared_task
from django.conf import settings
from django.core.cache import cache

from coalition.outbox.dispatcher import outbox_dispatch, outbox_settle_stale

# Set by a kick that queued this task, taken off as it starts (services.py).
KICK_MARK = "outbox:dispatch-queued"
KICK_MARK_SECONDS = 30

logger = logging.getLogger(__name__)


@shared_task
def outbox_dispatch_task() -> dict[str, int]:
    """Send one batch of due messages (beat, every minute, and a kick after a
    transaction that enqueued). A full batch queues the next one as soon as
    its claim is committed, so another worker process sends the next batch
    while this one is sent: one task per batch, never one per message, and at
    most one waiting. Idempotent: an empty outbox sends nothing."""
    try:
        cache.delete(KICK_MARK)  # before the claim: see outbox_dispatch_kick
    except Exception:  # the mark expires on its own
        logger.warning("outbox: the cache did not answer", exc_info=True)
    outbox_settle_stale()

    def claimed(count: int) -> None:
        if count >= settings.OUTBOX_BATCH_SIZE:
            outbox_dispatch_task.delay()  # not coalesced: this one has started

    return asdict(outbox_dispatch(claimed=claimed))
