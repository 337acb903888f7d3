"""Signer imports too large for one request: a job a worker runs.

The confirm step (``signers.views.organiser``) keeps files of at most
``SIGNERS_IMPORT_INLINE_MAX_ROWS`` rows in the request; a larger one becomes a
:class:`SignatureImportJob` holding the bytes the signed confirm form carried,
and the task (``signers.tasks.signature_import_job_task``) runs the same
all-or-none service. The import's own writes stay invisible to other
connections until it commits, so its progress goes through the cache, a key per
job, which the job's page reads.
"""

import datetime as dt
from typing import Final

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy

from coalition.models import User
from coalition.outbox.services import outbox_enqueue
from coalition.queue import enqueue, enqueue_on_commit
from letters.models import Letter
from signers.importing import SignatureImportError, read_signer_csv
from signers.models import EmailKind, SignatureImportJob
from signers.services.signatures import signature_import

Status = SignatureImportJob.Status

TASK: Final = "signers.tasks.signature_import_job_task"
# The task's limits (``signers.tasks``): 5,000 rows take about 4 minutes on a
# busy machine. A job still running well after the hard limit lost its worker.
SOFT_TIME_LIMIT: Final = 1800
TIME_LIMIT: Final = SOFT_TIME_LIMIT + 60
STALE_AFTER: Final = dt.timedelta(seconds=TIME_LIMIT + 300)
# A job queued this long without a worker taking it: its message may be lost
# (the broker restarted empty); queue it again (a second delivery does nothing).
REQUEUE_AFTER: Final = dt.timedelta(minutes=15)
STOPPED = gettext_lazy("The import stopped before the end. Nothing was imported.")
# Long enough for the slowest import; the key goes when the job finishes.
PROGRESS_SECONDS: Final = 6 * 3600


def progress_key(job_id: int) -> str:
    return f"signers:import-job:{job_id}:rows"


@transaction.atomic
def import_job_create(
    *, letter: Letter, actor: User, payload: bytes, total_rows: int
) -> SignatureImportJob:
    """Queue the import of ``payload`` (the verified bytes of the confirmed
    file) once this transaction commits; a second click on the confirm button
    finds the job of the first while it has not finished."""
    # No lock on the letter: a running import holds it until it commits.
    unfinished = SignatureImportJob.objects.filter(
        letter=letter, status__in=[Status.QUEUED, Status.RUNNING], payload=payload
    )
    if (earlier := unfinished.defer("payload").first()) is not None:
        return earlier
    job = SignatureImportJob.objects.create(
        letter=letter, created_by=actor, payload=payload, total_rows=total_rows
    )
    enqueue_on_commit(TASK, job.pk)
    return job


def import_job_progress(job: SignatureImportJob) -> int:
    """How many rows the job has been through, as far as the page can know."""
    if job.status == Status.DONE:
        return job.total_rows
    if job.status != Status.RUNNING:
        return 0
    return min(int(cache.get(progress_key(job.pk)) or 0), job.total_rows)


def import_job_run(*, job_id: int) -> SignatureImportJob | None:
    """Run a queued job: all rows or none, then its outcome and an email to
    the organiser who confirmed it. None if it is not queued (a message
    delivered twice finds it running or finished)."""
    started = SignatureImportJob.objects.filter(pk=job_id, status=Status.QUEUED)
    if not started.update(status=Status.RUNNING, started_at=timezone.now()):
        return None
    job = SignatureImportJob.objects.select_related("letter", "created_by").get(
        pk=job_id
    )
    key = progress_key(job.pk)
    cache.set(key, 0, PROGRESS_SECONDS)

    def progress(done: int) -> None:
        cache.set(key, done, PROGRESS_SECONDS)

    try:
        rows = read_signer_csv(bytes(job.payload))
        count = signature_import(
            letter=job.letter, rows=rows, actor=job.created_by, progress=progress
        )
    except SignatureImportError as exc:
        _finish(job, status=Status.FAILED, errors=exc.report())
    except Exception:
        # A bug or the time limit: the transaction rolled back, so say so.
        _finish(job, status=Status.FAILED, errors=[str(STOPPED)])
        raise
    else:
        _finish(job, status=Status.DONE, created_count=count)
    return job


def import_jobs_sweep(*, now: dt.datetime) -> tuple[int, int]:
    """Beat: jobs a dead worker left "running" fail, with the organiser told
    (its transaction died with it: nothing was imported); jobs queued too long
    are queued again. Returns (failed, queued again)."""
    cutoff = now - STALE_AFTER
    stale = SignatureImportJob.objects.filter(status=Status.RUNNING).filter(
        Q(started_at__lt=cutoff) | Q(started_at__isnull=True, created_at__lt=cutoff)
    )
    failed = 0
    for job in stale.select_related("created_by").defer("payload"):
        with transaction.atomic():
            # Only if it is still running: two sweeps at once send one email.
            still = SignatureImportJob.objects.filter(pk=job.pk, status=Status.RUNNING)
            if still.update(status=Status.FAILED):
                _finish(job, status=Status.FAILED, errors=[str(STOPPED)])
                failed += 1
    waiting = SignatureImportJob.objects.filter(
        status=Status.QUEUED, created_at__lt=now - REQUEUE_AFTER
    ).values_list("pk", flat=True)
    requeued = 0
    for job_id in waiting:
        enqueue(TASK, job_id)
        requeued += 1
    return failed, requeued


@transaction.atomic
def _finish(
    job: SignatureImportJob,
    *,
    status: str,
    created_count: int = 0,
    errors: list[str] | None = None,
) -> None:
    job.status = status
    job.created_count = created_count
    job.errors = errors or []
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "created_count", "errors", "finished_at"])
    cache.delete(progress_key(job.pk))
    user = job.created_by
    if user is not None and user.email:
        outbox_enqueue(
            kind=EmailKind.IMPORT_FINISHED,
            key=f"signature-import-job:{job.pk}",
            to=user.email,
            letter_id=job.letter_id,
            user_id=user.pk,
            params={"job": job.pk},
        )
