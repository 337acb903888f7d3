import pytest

from coalition.emails import message_to_dict, render_email
from coalition.models import Heartbeat
from coalition.tasks import beat_heartbeat_task, email_send_task
from tests.conftest import wait_until

pytestmark = pytest.mark.worker


def test_a_real_worker_runs_a_queued_task_against_the_database(celery_worker):
    assert not Heartbeat.objects.exists()

    celery_worker.send(beat_heartbeat_task)

    assert wait_until(lambda: Heartbeat.objects.filter(name="beat").exists()), (
        celery_worker.log.read_text()
    )


def test_a_real_worker_retries_email_until_the_server_accepts(celery_worker):
    payload = message_to_dict(
        render_email(
            "account/password_reset_key",
            {"password_reset_url": "https://example.org/r/"},
            to=["someone@example.org"],
        )
    )
    sink = celery_worker.smtp
    sink.refuse_next = 1

    celery_worker.send(email_send_task, payload)

    received = sink.wait_for(1, timeout=60)
    assert len(received) == 1, celery_worker.log.read_text()
    assert "Retry in" in celery_worker.log.read_text()
