from typing import Any

from celery import shared_task
from django.utils import timezone

from coalition.celery import EMAIL_RETRY_POLICY
from coalition.emails import message_from_dict, send_message
from coalition.models import Heartbeat


@shared_task(**EMAIL_RETRY_POLICY)
def email_send_task(message: dict[str, Any]) -> None:
    """Send an already-rendered message, retrying SMTP failures with backoff.

    Used when a message a person is waiting for could not be sent at once.
    """
    send_message(message_from_dict(message))


@shared_task
def beat_heartbeat_task() -> None:
    """Record that beat is ticking; /healthz reports the age of the last tick."""
    Heartbeat.objects.update_or_create(
        name="beat", defaults={"beat_at": timezone.now()}
    )
