"""Services behind the public exports: the cached letter PDF and the CSV files.

Kept apart from the services (``signers/services/``, the writes): these are
read-mostly and called from the public views and the PDF task.
"""

import time
from collections.abc import Iterator
from itertools import chain
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from coalition.queue import enqueue_on_commit
from letters.markdown import render_revision_body
from letters.models import Letter, LetterPdf, Revision
from signers.selectors.public import (
    signature_counts_public,
    signature_list_for_export,
    signature_list_public,
    signature_logos_public,
    signature_sections_public,
    signer_list_digest,
)
from signers.selectors.signatures import signature_count_public

# A queued render is not queued again for this long (so a lost task is retried).
PDF_QUEUE_DEDUP_SECONDS = 300
# Longer than a render in a request takes; others are asked to reload meanwhile.
PDF_INLINE_LOCK_SECONDS = 60


# --- Letter PDF ---------------------------------------------------------------


def letter_pdf_context(*, letter: Letter, revision: Revision) -> dict[str, Any]:
    return {
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        "letter": letter,
        "revision": revision,
        "body_html": render_revision_body(revision),
        "sections": signature_sections_public(letter=letter),
        "counts": signature_counts_public(letter=letter),
        "logos": signature_logos_public(letter=letter) if letter.pdf_logos else {},
        "date": letter.published_at or timezone.now(),
    }


def letter_pdf_render(*, letter_id: int) -> LetterPdf | None:
    """Render and store the PDF of the letter's current revision and signer list.

    Idempotent: when a PDF of this (revision, signers_version) exists it is
    returned untouched. Returns None for a letter that is not public. Not one
    transaction (a render takes seconds): the file is written first and the row
    created after; a concurrent render of the same version loses on the unique
    constraint, deletes its file and returns the winner's row. Then deletes
    every PDF of the letter that is not current (``letter_pdfs_prune``), this
    one too if the list changed while it rendered: only the current list's
    PDF is ever served.
    """
    letter = Letter.objects.select_related("current_revision").get(pk=letter_id)
    revision = letter.current_revision
    if revision is None or letter.status not in Letter.PUBLIC_STATUSES:
        return None
    # The version is read before the signer list: a signature landing in between
    # makes this PDF newer than its label, never older.
    version = letter.signers_version
    existing = LetterPdf.objects.filter(
        revision=revision, signers_version=version
    ).first()
    if existing is not None:
        return existing

    # Imported here: web processes never render, and WeasyPrint is heavy to load.
    from letters import pdf

    started = time.monotonic()
    context = letter_pdf_context(letter=letter, revision=revision)
    data = pdf.render_letter_pdf(context)
    rendered = chain.from_iterable(s.signatures for s in context["sections"])
    stored = LetterPdf(
        letter=letter,
        revision=revision,
        signers_version=version,
        signers_digest=signer_list_digest(
            signatures=rendered, counts=context["counts"]
        ),
        size=len(data),
        render_seconds=time.monotonic() - started,
    )
    stored.file.save(f"r{revision.number}-v{version}.pdf", ContentFile(data), False)
    try:
        with transaction.atomic():
            stored.save()
    except IntegrityError:
        stored.file.delete(save=False)
        return LetterPdf.objects.get(revision=revision, signers_version=version)
    letter_pdfs_prune(letter_id=letter_id)
    return stored


def letter_pdfs_prune(*, letter_id: int) -> int:
    """Delete the letter's stored PDFs (rows and files) that are not of its
    current revision and signer list: they are never served, and may name
    someone who has since withdrawn. Returns how many were deleted."""
    letter = Letter.objects.get(pk=letter_id)
    current = LetterPdf.objects.on_offer(letter).values("pk")
    stale = list(LetterPdf.objects.filter(letter=letter).exclude(pk__in=current))
    for old in stale:
        old.file.delete(save=False)
        old.delete()
    return len(stale)


def letter_pdf_for_download(*, letter: Letter) -> LetterPdf | None:
    """The PDF of the letter's current revision and signer list, or None while
    it is being prepared; never an older list's.

    When there is none, a letter with at most ``PDF_INLINE_MAX_SIGNERS``
    signers has it rendered now, in this request (one request at a time: the
    others are told to reload); a larger one has a render queued, once per
    (revision, signers_version) however many visitors ask at the same time.
    """
    stored = LetterPdf.objects.on_offer(letter).first()
    if stored is not None:
        return stored
    version = f"{letter.current_revision_id}:{letter.signers_version}"
    signers = signature_count_public(letter=letter)
    if signers <= settings.PDF_INLINE_MAX_SIGNERS:
        rendering = f"letters:pdf-rendering:{version}"
        if not cache.add(rendering, True, timeout=PDF_INLINE_LOCK_SECONDS):
            return None
        try:
            letter_pdf_render(letter_id=letter.pk)
        finally:
            cache.delete(rendering)
        # The list may have changed while it rendered: serve only the current one.
        letter.refresh_from_db(fields=["current_revision", "signers_version"])
        return LetterPdf.objects.on_offer(letter).first()
    if cache.add(f"letters:pdf-queued:{version}", True, PDF_QUEUE_DEDUP_SECONDS):
        enqueue_on_commit("signers.tasks.letter_pdf_render_task", letter.pk)
    return None


# --- CSV ----------------------------------------------------------------------


def _when(value: Any) -> str:
    return value.isoformat() if value else ""


def public_csv_rows(*, letter: Letter) -> Iterator[list[object]]:
    """Header and rows of the public signer list: public fields only (written
    by ``coalition.spreadsheets``, which makes every cell inert)."""
    yield [
        _("Kind"),
        _("Name"),
        _("Affiliation"),
        _("City or region"),
        _("Country"),
        _("Website"),
    ]
    for s in signature_list_public(letter=letter).iterator(2000):
        yield [
            s.get_kind_display(),
            s.display_name,
            s.affiliation,
            s.city,
            s.country,
            s.website,
        ]


def organiser_csv_rows(*, letter: Letter) -> Iterator[list[object]]:
    """Header and rows of every signature with all its fields, for organisers."""
    yield [
        _("ID"),
        _("Kind"),
        _("Status"),
        _("Source"),
        _("Name"),
        _("Sort name"),
        _("Affiliation"),
        _("City or region"),
        _("Country"),
        _("Website"),
        _("Contact name"),
        _("Title or role"),
        _("Email"),
        _("Phone"),
        _("Comment to the organisers"),
        _("Listed publicly"),
        _("Coalition updates"),
        _("Logo may be shown"),
        _("Attested"),
        _("Revision signed"),
        _("Revision hash"),
        _("Signed at"),
        _("Confirmed at"),
        _("Withdrawn at"),
        _("Erased at"),
        _("Rejection reason"),
    ]
    yes, no = _("yes"), _("no")
    signatures = signature_list_for_export(letter=letter)
    for s in signatures.iterator(2000):
        yield [
            s.pk,
            s.get_kind_display(),
            s.get_status_display(),
            s.get_source_display(),
            s.display_name,
            s.sort_name,
            s.affiliation,
            s.city,
            s.country,
            s.website,
            s.contact_name,
            s.contact_title,
            s.email,
            s.phone,
            s.comment,
            yes if s.consent_listed else no,
            yes if s.consent_updates else no,
            yes if s.consent_logo else no,
            yes if s.attested else no,
            s.revision.number,
            s.revision.sha256,
            _when(s.created_at),
            _when(s.confirmed_at),
            _when(s.withdrawn_at),
            _when(s.erased_at),
            s.rejection_reason,
        ]
