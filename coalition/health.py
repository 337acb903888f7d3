"""Reachability checks behind /healthz."""

from datetime import timedelta

from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from kombu import Connection

from coalition.celery import app
from coalition.models import Heartbeat
from signers.selectors.consent import consent_violations

# The consent check reads every listed signature: once a minute is enough.
CONSENT_CHECK_SECONDS = 60


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


def consent_violation_count() -> int | None:
    """How many consent violations there are (``signers.selectors.consent
    .consent_violations``), counted at most once a minute; None if the check
    could not run."""
    try:
        count = cache.get("health:consent-violations")
        if count is None:
            count = len(consent_violations())
            cache.set("health:consent-violations", count, CONSENT_CHECK_SECONDS)
        return int(count)
    except Exception:
        return None
