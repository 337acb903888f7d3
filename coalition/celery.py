"""The Celery application.

Configuration comes from Django settings (namespace ``CELERY``). Tasks take ids,
are idempotent by the state they find, and are queued with ``delay_on_commit``.
Nothing waits on the broker with a long ``eta``/``countdown``: what is due later is
a database row that a beat job picks up.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coalition.settings")

app = Celery("coalition")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
