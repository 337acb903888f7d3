from celery import shared_task

from coalition.celery import EMAIL_RETRY_POLICY


@shared_task(**EMAIL_RETRY_POLICY)
def signature_email_send_task(email_id: int) -> None:
    """Send a recorded signer email (receipt, confirmation, notice…) once.

    Idempotent: the service claims the row first, so a second run, a retry
    after success, or a duplicate delivery sends nothing.
    """
    from signers.services import signature_email_send

    signature_email_send(email_id=email_id)
