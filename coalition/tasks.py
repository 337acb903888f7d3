from celery import shared_task
from django.utils import timezone

from coalition.models import Heartbeat


@shared_task
def beat_heartbeat_task() -> None:
    """Record that beat is ticking; /healthz reports the age of the last tick."""
    Heartbeat.objects.update_or_create(
        name="beat", defaults={"beat_at": timezone.now()}
    )
