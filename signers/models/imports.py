"""A signer import too large for one request, run by a worker."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from letters.models import Letter


class SignatureImportJob(models.Model):
    """One confirmed import file, imported all rows or none by
    ``signers.services.imports``; the page polls its status and, while it runs,
    the progress the task puts in the cache."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Nothing imported")

    letter = models.ForeignKey(
        Letter, on_delete=models.CASCADE, related_name="signature_import_jobs"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # The bytes the confirm form verified (its signature checked): never
    # anything the browser could change afterwards.
    payload = models.BinaryField()
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    total_rows = models.PositiveIntegerField()
    created_count = models.PositiveIntegerField(default=0)
    # The per-line problems, as the import page lists them (a list of strings).
    errors = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When a worker took it: a job running far longer than its task may was
    # left by a worker that died (``signers.services.imports.import_jobs_sweep``).
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Import {self.pk} into {self.letter_id} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)
