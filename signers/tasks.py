from celery import shared_task
from django.utils import timezone

from signers import exports
from signers.partners.services import agreement_files_sweep
from signers.services import imports
from signers.services.sending import outreach_plan_due
from signers.services.signatures import signatures_expire_pending


@shared_task
def signatures_expire_pending_task() -> int:
    """Beat: unconfirmed signatures past their time expire (idempotent)."""
    return signatures_expire_pending(now=timezone.now())


@shared_task
def outreach_plan_due_task() -> int:
    """Beat, every minute: put the reminders, digests and call reminders that
    are due in the outbox (idempotent: each has a unique key)."""
    return outreach_plan_due(now=timezone.now())


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


@shared_task
def agreement_files_sweep_task() -> int:
    """Beat, hourly: delete agreement files left by a rolled-back change."""
    return agreement_files_sweep()


@shared_task(soft_time_limit=imports.SOFT_TIME_LIMIT, time_limit=imports.TIME_LIMIT)
def signature_import_job_task(job_id: int) -> None:
    """A signer import too large for a request (``signers.services.imports``);
    a second delivery of the message does nothing."""
    imports.import_job_run(job_id=job_id)


@shared_task
def import_jobs_sweep_task() -> tuple[int, int]:
    """Beat: imports a dead worker left running fail (the organiser is told);
    imports whose message was lost are queued again."""
    return imports.import_jobs_sweep(now=timezone.now())
