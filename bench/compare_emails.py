"""The two email lines of ``make bench-compare``: the site's sending through
the real worker, and the bare smtplib loop it is measured against."""

import smtplib
import time
from collections.abc import Callable

# The two email lines drive the site's sending as it is today. When invitations
# and reminders go through another machinery, adapt these two functions only:
# each seeds ``count`` recipients on a letter ``slug``, makes the site send to
# them, and returns the seconds from the request to send until the last is sent.


def reminders_through_worker(count: int, slug: str) -> float:
    """Beat's planner task, run by the worker, puts ``count`` deadline
    reminders in the outbox, whose dispatcher (kicked on commit) sends them
    batch by batch."""
    from datetime import timedelta

    from django.utils import timezone

    from bench import reminders as reminder_bench
    from coalition.outbox.models import OutboxMessage
    from coalition.outbox.tasks import outbox_dispatch_task
    from signers.tasks import outreach_plan_due_task

    letter = reminder_bench.seed(
        count, soft=timezone.now() + timedelta(days=2), slug=slug
    )
    started = time.perf_counter()
    sent = OutboxMessage.objects.filter(letter=letter, status="sent")
    # Beat queues the planner and the dispatcher every minute.
    outreach_plan_due_task.delay()
    while not wait_for(lambda: sent.count() >= count, timeout=BEAT_SECONDS):
        outreach_plan_due_task.delay()
        outbox_dispatch_task.delay()
    return time.perf_counter() - started


def invitations_through_worker(count: int, slug: str) -> float:
    """The organisers' "send invitations" to ``count`` prospects, sent by the
    worker (the outbox's dispatcher, kicked on commit, a task per batch)."""
    from datetime import timedelta

    from django.utils import timezone

    from bench import reminders as reminder_bench
    from coalition.outbox.models import OutboxMessage
    from signers.models import Prospect
    from signers.services.outreach import invitations_send

    letter = reminder_bench.seed(
        count, soft=timezone.now() + timedelta(days=30), slug=slug
    )
    Prospect.objects.filter(letter=letter).update(
        status=Prospect.Status.IDENTIFIED, invited_at=None
    )
    started = time.perf_counter()
    invitations_send(letter=letter, actor=None)
    sent = OutboxMessage.objects.filter(letter=letter, status="sent")
    if not wait_for(lambda: sent.count() >= count):
        raise SystemExit("the worker did not send the invitations in time")
    return time.perf_counter() - started


BEAT_SECONDS = 60.0


def wait_for(done: Callable[[], bool], timeout: float = 1800.0) -> bool:
    """Whether ``done()`` came true within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def smtplib_loop(port: int, count: int, size: int) -> float:
    """Seconds for smtplib to send ``count`` messages of ``size`` bytes over one
    connection: what sending costs with no application around it."""
    head = (
        "From: bench@example.org\r\nTo: someone@example.org\r\n"
        "Subject: A message of the same size\r\n\r\n"
    )
    body = ("x" * 76 + "\r\n") * max(0, (size - len(head)) // 78)
    message = (head + body).encode()
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for i in range(count):
            smtp.sendmail("bench@example.org", [f"r{i}@example.org"], message)
    return time.perf_counter() - started


def purge_queue(redis_url: str, queue: str) -> None:
    """Drop the emails queued for no worker (kombu keeps a Redis list per queue)."""
    import redis

    redis.Redis.from_url(redis_url).delete(queue)
