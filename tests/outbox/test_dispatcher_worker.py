"""The outbox through a real worker on Redis and a real SMTP server."""

import time
from collections import Counter

import pytest

from coalition.outbox.builders import Email
from coalition.outbox.models import OutboxMessage
from coalition.outbox.services import outbox_enqueue_many, outbox_message
from coalition.outbox.tasks import outbox_dispatch_task
from tests.conftest import wait_until

pytestmark = pytest.mark.worker

COUNT = 200


def fill_outbox():
    outbox_enqueue_many(
        outbox_message(
            kind="prebuilt",
            key=f"worker-test:{n}",
            to=f"person{n}@example.org",
            email=Email(
                subject=f"Message {n}",
                text="Hello",
                to=[f"person{n}@example.org"],
                from_email="coalition@example.org",
            ),
        )
        for n in range(COUNT)
    )
    return dict(OutboxMessage.objects.values_list("message_id", "to"))


def all_sent():
    sent = OutboxMessage.objects.filter(status=OutboxMessage.Status.SENT)
    return sent.count() == COUNT


def test_one_kick_sends_everything_exactly_once_despite_refusals(celery_worker):
    sink = celery_worker.smtp
    expected = fill_outbox()
    sink.refuse_next = 7  # "try again later", for the first seven

    celery_worker.send(outbox_dispatch_task)

    def kicked_until_all_sent():
        # The seven wait out their backoff; beat would dispatch them.
        celery_worker.send(outbox_dispatch_task)
        return all_sent()

    assert wait_until(kicked_until_all_sent, timeout=180, interval=3), (
        celery_worker.log.read_text()
    )
    received = Counter(m["Message-ID"] for m in sink.wait_for(COUNT))
    assert set(received) == set(expected)
    assert max(received.values()) == 1
    assert OutboxMessage.objects.filter(attempts=2).count() == 7


def test_a_worker_killed_mid_batch_and_restarted_loses_no_message(
    celery_worker, capsys
):
    sink = celery_worker.smtp
    sink.delay = 0.05  # each message sits a while before the server answers
    expected = fill_outbox()

    celery_worker.send(outbox_dispatch_task)
    # Killed after the server has a whole message but before it answered: the
    # conversation is cut, and the worker never learns it went.
    mid_send = lambda: len(sink.received) >= 60 and sink.in_data > 0  # noqa: E731
    assert wait_until(mid_send, timeout=120, interval=0.002)
    celery_worker.kill()
    arrived_at_kill = len(sink.received)
    # The dead worker's claim is taken back once it is older than the timeout.
    celery_worker.restart(OUTBOX_CLAIM_TIMEOUT="2")

    def dispatched_until_all_sent():
        celery_worker.send(outbox_dispatch_task)
        return all_sent()

    assert wait_until(dispatched_until_all_sent, timeout=180, interval=3), (
        celery_worker.log.read_text()
    )
    time.sleep(1)  # let a late duplicate show itself, if there were one
    received = Counter(m["Message-ID"] for m in sink.messages)
    twice = {mid for mid, n in received.items() if n > 1}
    assert set(received) == set(expected)  # every message arrived
    # Only the message whose conversation was cut went twice, with one Message-ID.
    assert len(twice) == 1
    with capsys.disabled():
        print(
            f"\n  killed after {arrived_at_kill} of {COUNT} messages; delivered "
            f"twice after a cut conversation (same Message-ID): {len(twice)}"
        )
