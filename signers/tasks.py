import uuid

from celery import Task, shared_task
from django.utils import timezone

from coalition.celery import EMAIL_RETRY_POLICY
from signers import services


@shared_task(**EMAIL_RETRY_POLICY)
def signature_email_send_task(email_id: int) -> None:
    """Send a recorded signer email (receipt, confirmation, notice…) once.

    Idempotent: the service claims the row first, so a second run, a retry
    after success, or a duplicate delivery sends nothing.
    """
    from signers.services import signature_email_send

    signature_email_send(email_id=email_id)


@shared_task
def signature_emails_requeue_task() -> int:
    """Beat, every minute: queue again the signer emails whose task was lost."""
    return services.signature_emails_requeue(now=timezone.now())


@shared_task
def signatures_expire_pending_task() -> int:
    """Beat: unconfirmed signatures past their time expire (idempotent)."""
    return services.signatures_expire_pending(now=timezone.now())


@shared_task
def deliveries_dispatch_task() -> dict[str, int]:
    """Beat, every minute: plan what is due and send what is planned."""
    return vars(services.deliveries_dispatch())


@shared_task
def invitation_batch_send_task(batch_id: int) -> int:
    """Fan a batch out into one send task per planned delivery (idempotent)."""
    return services.invitation_batch_fan_out(batch_id=batch_id)


@shared_task(bind=True, **EMAIL_RETRY_POLICY)
def delivery_send_task(self: Task, delivery_id: int) -> str:
    """Send one delivery. The task id is the claim, so a copy redelivered after
    the worker died takes the row back and resends with the same Message-ID;
    SMTP errors retry with backoff."""
    claimer = self.request.id or f"direct-{uuid.uuid4().hex}"
    return services.delivery_send(delivery_id=delivery_id, claimer=claimer)


@shared_task
def update_fan_out_task(update_id: int) -> int:
    """Queue one send task per planned delivery of an update (idempotent)."""
    return services.update_fan_out(update_id=update_id)


@shared_task
def call_fan_out_task(call_id: int) -> int:
    """Queue the sends of a call's invitations or notes (idempotent)."""
    return services.call_fan_out(call_id=call_id)


@shared_task
def reissue_fan_out_task(reissue_id: int) -> int:
    """Queue the opt-in requests of a re-issued letter (idempotent)."""
    return services.reissue_fan_out(reissue_id=reissue_id)
