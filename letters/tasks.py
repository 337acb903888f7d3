from celery import shared_task

from coalition.celery import EMAIL_RETRY_POLICY
from letters import exports, services


@shared_task
def letters_publish_due_task() -> None:
    """Beat, every minute: publish letters whose release time has come (once)."""
    services.letters_publish_due()


@shared_task(**EMAIL_RETRY_POLICY)
def team_invitation_send_task(invitation_id: int) -> None:
    """Email a team invitation; a no-op when it was sent, accepted or withdrawn."""
    services.team_invitation_send(invitation_id=invitation_id)


# A letter of 50,000 signers takes minutes to render (in parts, in flat memory).
PDF_SOFT_TIME_LIMIT = 1200


@shared_task(soft_time_limit=PDF_SOFT_TIME_LIMIT, time_limit=PDF_SOFT_TIME_LIMIT + 60)
def letter_pdf_render_task(letter_id: int) -> None:
    """Render the letter's PDF for its current revision and signer list, unless
    one exists already (see ``letters.exports.letter_pdf_render``)."""
    exports.letter_pdf_render(letter_id=letter_id)
