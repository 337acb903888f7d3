from celery import shared_task

from coalition.celery import EMAIL_RETRY_POLICY
from letters.services.lifecycle import letters_publish_due
from letters.services.team import team_invitation_send


@shared_task
def letters_publish_due_task() -> None:
    """Beat, every minute: publish letters whose release time has come (once)."""
    letters_publish_due()


@shared_task(**EMAIL_RETRY_POLICY)
def team_invitation_send_task(invitation_id: int) -> None:
    """Email a team invitation; a no-op when it was sent, accepted or withdrawn."""
    team_invitation_send(invitation_id=invitation_id)
