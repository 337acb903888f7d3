import pytest

from coalition.emails import render_email
from coalition.models import Heartbeat
from coalition.outbox.builders import Email
from coalition.outbox.models import OutboxMessage
from coalition.outbox.services import outbox_enqueue_email
from coalition.outbox.tasks import outbox_dispatch_task
from coalition.tasks import beat_heartbeat_task
from tests.conftest import wait_until

pytestmark = pytest.mark.worker


def test_a_real_worker_runs_a_queued_task_against_the_database(celery_worker):
    assert not Heartbeat.objects.exists()

    celery_worker.send(beat_heartbeat_task)

    assert wait_until(lambda: Heartbeat.objects.filter(name="beat").exists()), (
        celery_worker.log.read_text()
    )


def test_a_real_worker_retries_email_until_the_server_accepts(celery_worker):
    message = render_email(
        "account/password_reset_key",
        {"password_reset_url": "https://example.org/r/"},
        to=["someone@example.org"],
    )
    row = outbox_enqueue_email(key="reset:worker", email=Email.from_message(message))
    sink = celery_worker.smtp
    sink.refuse_next = 1

    def dispatched_until_sent():
        # As beat does every minute; the refused message waits out its backoff.
        celery_worker.send(outbox_dispatch_task)
        row.refresh_from_db()
        return row.status == OutboxMessage.Status.SENT

    assert wait_until(dispatched_until_sent, timeout=60, interval=1), (
        celery_worker.log.read_text()
    )
    assert len(sink.wait_for(1)) == 1
    assert row.attempts == 2
