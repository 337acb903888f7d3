"""Bulk invitations through a real worker on Redis and a real SMTP server."""

import time
from collections import Counter

import pytest

from signers.models import Delivery, Prospect
from signers.services.outreach import invitations_send
from signers.tasks import deliveries_dispatch_task, invitation_batch_send_task
from tests.conftest import wait_until
from tests.factories import ProspectFactory, circulating_letter

pytestmark = pytest.mark.worker

COUNT = 200


def invite_everyone():
    letter = circulating_letter()
    ProspectFactory.create_batch(COUNT, letter=letter)
    batch = invitations_send(letter=letter, actor=None)
    expected = dict(batch.deliveries.values_list("message_id", "email"))
    assert len(expected) == COUNT
    return batch, expected


def all_sent(batch):
    return batch.deliveries.filter(status=Delivery.Status.SENT).count() == COUNT


def test_a_bulk_invitation_arrives_exactly_once_each_despite_refusals(celery_worker):
    sink = celery_worker.smtp
    batch, expected = invite_everyone()
    sink.refuse_next = 7  # the first seven messages are refused: "try again later"

    celery_worker.send(invitation_batch_send_task, batch.pk)

    assert wait_until(lambda: all_sent(batch), timeout=180), (
        celery_worker.log.read_text()
    )
    received = Counter(m["Message-ID"] for m in sink.wait_for(COUNT))
    assert set(received) == set(expected)
    assert max(received.values()) == 1
    assert sorted(m["To"] for m in sink.messages) == sorted(expected.values())
    assert batch.deliveries.filter(attempts=2).count() == 7
    assert not Prospect.objects.exclude(status=Prospect.Status.INVITED).exists()


def test_a_worker_killed_mid_batch_and_restarted_loses_no_invitation(
    celery_worker, capsys
):
    sink = celery_worker.smtp
    sink.delay = 0.05  # each message sits a while before the server answers
    batch, expected = invite_everyone()

    celery_worker.send(invitation_batch_send_task, batch.pk)
    # Kill the worker after the server has a whole message but before it has
    # answered: the conversation is cut, and the worker never learns it went.
    mid_send = lambda: len(sink.received) >= 60 and sink.in_data > 0  # noqa: E731
    assert wait_until(mid_send, timeout=120, interval=0.002)
    celery_worker.kill()
    in_flight = set(
        batch.deliveries.filter(status=Delivery.Status.CLAIMED).values_list(
            "message_id", flat=True
        )
    )
    arrived_at_kill = len(sink.received)
    # The dead worker's claim is taken back by the dispatcher that beat runs
    # every minute; a short claim timeout lets the test see it at once.
    celery_worker.restart(DELIVERY_CLAIM_TIMEOUT="2")

    def dispatched_until_all_sent():
        celery_worker.send(deliveries_dispatch_task)
        return all_sent(batch)

    assert wait_until(dispatched_until_all_sent, timeout=180, interval=3), (
        celery_worker.log.read_text()
    )
    time.sleep(1)  # let a late duplicate show itself, if there were one
    received = Counter(m["Message-ID"] for m in sink.messages)
    twice = {mid for mid, n in received.items() if n > 1}
    assert set(received) == set(expected)  # every invitation arrived
    assert max(received.values()) <= 2
    # Only the message whose conversation was cut went twice, with one Message-ID.
    assert len(in_flight) == 1
    assert twice == in_flight
    with capsys.disabled():
        print(
            f"\n  killed after {arrived_at_kill} of {COUNT} messages; in flight: "
            f"{len(in_flight)}; delivered twice after a cut conversation (same "
            f"Message-ID): {len(twice)} {sorted(twice)}"
        )
