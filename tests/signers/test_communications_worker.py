"""An update to 500 signers through a real worker on Redis and a real SMTP server."""

from collections import Counter
from urllib.parse import urlsplit

import pytest
from django.test import Client

from coalition.outbox.models import OutboxMessage
from coalition.outbox.tasks import outbox_dispatch_task
from signers.models import ReminderSchedule, Signature, Suppression
from signers.services.communications import update_create, update_send
from tests.conftest import wait_until
from tests.factories import circulating_letter
from tests.signers.helpers import update_messages

pytestmark = pytest.mark.worker

COUNT = 500


def signers(letter, count):
    """Confirmed signers who agreed to updates, in one INSERT."""
    Signature.objects.bulk_create(
        Signature(
            letter=letter,
            revision=letter.current_revision,
            status=Signature.Status.CONFIRMED,
            source=Signature.Source.IMPORT,
            display_name=f"Group {n:04d}",
            sort_name=f"group {n:04d}",
            normalised_name=f"group {n:04d}",
            email=f"member{n}@group.example.org",
            consent_updates=True,
            attested=True,
        )
        for n in range(count)
    )


def test_an_update_to_500_signers_arrives_once_each_and_unsubscribes(celery_worker):
    sink = celery_worker.smtp
    letter = circulating_letter()
    ReminderSchedule.objects.create(letter=letter, digest_enabled=False)
    signers(letter, COUNT)
    update = update_create(
        letter=letter, actor=None, subject="We met the Council", body="**News**",
        audience="signers",
    )  # fmt: skip
    assert update_send(update=update, actor=None) == COUNT
    sink.refuse_next = 3  # "try again later": retried, still sent once

    sent = update_messages(update).filter(status=OutboxMessage.Status.SENT)

    def dispatched_until_all_sent():
        # The kick after commit (twice: a duplicate), then beat's every minute.
        celery_worker.send(outbox_dispatch_task)
        celery_worker.send(outbox_dispatch_task)
        return sent.count() == COUNT

    assert wait_until(dispatched_until_all_sent, timeout=300, interval=3), (
        celery_worker.log.read_text()
    )
    messages = sink.wait_for(COUNT)
    expected = dict(update_messages(update).values_list("message_id", "to"))
    received = Counter(m["Message-ID"] for m in messages)
    assert set(received) == set(expected)
    assert max(received.values()) == 1
    assert sorted(m["To"] for m in messages) == sorted(expected.values())
    assert all(
        m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" for m in messages
    )

    # A mail program's one-click unsubscribe: a POST to the header's URL.
    message = messages[0]
    url = urlsplit("".join(message["List-Unsubscribe"].split()).strip("<>"))
    response = Client().post(url.path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert Suppression.objects.get().email == message["To"]
    assert not Signature.objects.get(email=message["To"]).consent_updates
