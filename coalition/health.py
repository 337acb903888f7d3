"""Reachability checks behind /healthz."""

from datetime import timedelta

from django.db import connection
from django.utils import timezone
from kombu import Connection

from coalition.celery import app
from coalition.models import Heartbeat


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        return False


def broker_ok(timeout: int = 2) -> bool:
    try:
        with Connection(
            app.conf.broker_url,
            transport_options=app.conf.broker_transport_options,
            connect_timeout=timeout,
        ) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
        return True
    except Exception:
        return False


def beat_age() -> timedelta | None:
    beat = Heartbeat.objects.filter(name="beat").only("beat_at").first()
    return timezone.now() - beat.beat_at if beat else None
