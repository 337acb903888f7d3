import uuid

from celery import Task, shared_task
from django.utils import timezone

from coalition.celery import EMAIL_RETRY_POLICY
from signers import exports
from signers.services.communications import call_fan_out, update_fan_out
from signers.services.outreach import invitation_batch_fan_out
from signers.services.reissue import reissue_fan_out
from signers.services.sending import (
    deliveries_dispatch,
    delivery_send,
    signature_email_send,
    signature_emails_requeue,
)
from signers.services.signatures import signatures_expire_pending


@shared_task(**EMAIL_RETRY_POLICY)
def signature_email_send_task(email_id: int) -> None:
    """Send a recorded signer email (receipt, confirmation, notice…) once.

    Idempotent: the service claims the row first, so a second run, a retry
    after success, or a duplicate delivery sends nothing.
    """

    signature_email_send(email_id=email_id)


@shared_task
def signature_emails_requeue_task() -> int:
    """Beat, every minute: queue again the signer emails whose task was lost."""
    return signature_emails_requeue(now=timezone.now())


@shared_task
def signatures_expire_pending_task() -> int:
    """Beat: unconfirmed signatures past their time expire (idempotent)."""
    return signatures_expire_pending(now=timezone.now())


@shared_task
def deliveries_dispatch_task() -> dict[str, int]:
    """Beat, every minute: plan what is due and send what is planned."""
    return vars(deliveries_dispatch())


@shared_task
def invitation_batch_send_task(batch_id: int) -> int:
    """Fan a batch out into one send task per planned delivery (idempotent)."""
    return invitation_batch_fan_out(batch_id=batch_id)


@shared_task(bind=True, **EMAIL_RETRY_POLICY)
def delivery_send_task(self: Task, delivery_id: int) -> str:
    """Send one delivery. The task id is the claim, so a copy redelivered after
    the worker died takes the row back and resends with the same Message-ID;
    SMTP errors retry with backoff."""
    claimer = self.request.id or f"direct-{uuid.uuid4().hex}"
    return delivery_send(delivery_id=delivery_id, claimer=claimer)


@shared_task
def update_fan_out_task(update_id: int) -> int:
    """Queue one send task per planned delivery of an update (idempotent)."""
    return update_fan_out(update_id=update_id)


@shared_task
def call_fan_out_task(call_id: int) -> int:
    """Queue the sends of a call's invitations or notes (idempotent)."""
    return call_fan_out(call_id=call_id)


@shared_task
def reissue_fan_out_task(reissue_id: int) -> int:
    """Queue the opt-in requests of a re-issued letter (idempotent)."""
    return reissue_fan_out(reissue_id=reissue_id)


# A letter of 50,000 signers takes minutes to render (in parts, in flat memory).
PDF_SOFT_TIME_LIMIT = 1200


# The Celery name is the one the task had in ``letters.tasks``, so a message
# queued before the move still finds it.
@shared_task(
    name="letters.tasks.letter_pdf_render_task",
    soft_time_limit=PDF_SOFT_TIME_LIMIT,
    time_limit=PDF_SOFT_TIME_LIMIT + 60,
)
def letter_pdf_render_task(letter_id: int) -> None:
    """Render the letter's PDF for its current revision and signer list, unless
    one exists already (see ``signers.exports.letter_pdf_render``)."""
    exports.letter_pdf_render(letter_id=letter_id)
