"""The Celery application.

Configuration comes from Django settings (namespace ``CELERY``). Tasks take ids,
are idempotent by the state they find, and are queued with ``delay_on_commit``.
Nothing waits on the broker with a long ``eta``/``countdown``: what is due later is
a database row that a beat job picks up.
"""

import os
import smtplib
from typing import Any

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coalition.settings")

app = Celery("coalition")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Retry policy for every task that talks to an SMTP server: transient failures
# (refused, timed out, connection dropped) back off exponentially with jitter.
EMAIL_RETRY_POLICY: dict[str, Any] = {
    "autoretry_for": (smtplib.SMTPException, ConnectionError, TimeoutError),
    "retry_backoff": 5,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
}
