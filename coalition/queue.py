"""Queue a Celery task by its dotted name.

Services queue the tasks that wrap other services, and task modules import
services: naming the task instead of importing it keeps every import at module
level without a cycle. The task object is looked up when queued, so it is the
same object a test may patch.
"""

from typing import Any

from django.utils.module_loading import import_string


def _task(name: str) -> Any:
    # A Celery task (the stubs do not know Django's delay_on_commit).
    return import_string(name)


def enqueue(name: str, *args: Any) -> None:
    """Queue ``name`` now (for work that is not waiting for a transaction)."""
    _task(name).delay(*args)


def enqueue_on_commit(name: str, *args: Any) -> None:
    """Queue ``name`` once the current transaction commits (at once outside one)."""
    _task(name).delay_on_commit(*args)
