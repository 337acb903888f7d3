from celery import shared_task

from letters.services.lifecycle import letters_publish_due


@shared_task
def letters_publish_due_task() -> None:
    """Beat, every minute: publish letters whose release time has come (once)."""
    letters_publish_due()
