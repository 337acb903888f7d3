"""An update to 500 signers through a real worker on Redis and a real SMTP server."""

from collections import Counter
from urllib.parse import urlsplit

import pytest
from django.test import Client

from signers.models import Delivery, ReminderSchedule, Signature, Suppression
from signers.services.communications import update_create, update_send
from signers.tasks import update_fan_out_task
from tests.conftest import wait_until
from tests.factories import circulating_letter

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

    celery_worker.send(update_fan_out_task, update.pk)
    celery_worker.send(update_fan_out_task, update.pk)  # a duplicate fan-out

    sent = update.deliveries.filter(status=Delivery.Status.SENT)
    assert wait_until(lambda: sent.count() == COUNT, timeout=300), (
        celery_worker.log.read_text()
    )
    messages = sink.wait_for(COUNT)
    expected = dict(update.deliveries.values_list("message_id", "email"))
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
