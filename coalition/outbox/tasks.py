from dataclasses import asdict

from celery import shared_task
from django.conf import settings

from coalition.outbox.dispatcher import outbox_dispatch, outbox_settle_stale


@shared_task
def outbox_dispatch_task() -> dict[str, int]:
    """Send one batch of due messages (beat, every minute, and a kick after a
    transaction that enqueued). A full batch queues the next one: one task per
    batch, never one per message. Idempotent: an empty outbox sends nothing."""
    outbox_settle_stale()
    result = outbox_dispatch()
    if result.claimed >= settings.OUTBOX_BATCH_SIZE and not result.deferred:
        outbox_dispatch_task.delay()
    return asdict(result)
