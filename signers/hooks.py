"""What ``letters`` asks of the signatures on a letter (``letters/hooks.py``).

Registered once by ``SignersConfig.ready``. The reactions look their service
up on its module when called, so a test that replaces the service replaces
what the hook runs.
"""

from django.db.models import (
    Count,
    Expression,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.urls import reverse

from coalition.outbox.models import OutboxMessage
from coalition.queue import enqueue_on_commit
from letters.hooks import Activity
from letters.models import Letter, Revision
from signers.models import ChangeRequest, Prospect, Signature
from signers.selectors import triage
from signers.selectors.outreach import EVER_INVITED
from signers.services import signatures


def _count_per_letter(rows: QuerySet) -> Expression:
    """How many of ``rows`` belong to each letter of a ``Letter`` queryset."""
    counted = (
        rows.filter(letter=OuterRef("pk"))
        .order_by()
        .values("letter")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


# Where an organiser acts on each figure of the dashboard: URL name, fragment.
FIGURE_PAGES = {
    "review_count": ("signers:letter-signatures", "#queue-heading"),
    "change_request_count": ("signers:change-requests", ""),
    "failed_email_count": ("signers:outreach", "#failed-title"),
    "waiting_count": ("signers:outreach", "#prospects-title"),
}


class SignerSide:
    def revision_published(self, *, revision: Revision) -> None:
        signatures.signatures_on_new_revision(revision=revision)

    def letter_published(self, *, letter: Letter) -> None:
        # The first download should find a PDF waiting, not a "being prepared"
        # page.
        enqueue_on_commit("signers.tasks.letter_pdf_render_task", letter.pk)

    def has_live_signatures(self, *, letter: Letter) -> bool:
        return Signature.objects.filter(
            letter=letter, status__in=Signature.SIGNED_STATUSES
        ).exists()

    def signer_count(self, *, letter: Letter) -> int:
        return Signature.objects.filter(
            letter=letter, status=Signature.Status.CONFIRMED
        ).count()

    def signer_count_annotation(self) -> Expression:
        return _count_per_letter(
            Signature.objects.filter(status=Signature.Status.CONFIRMED)
        )

    def letter_figures_annotations(self) -> dict[str, Expression]:
        prospects = Prospect.objects.all()
        return {
            "invited_count": _count_per_letter(prospects.filter(EVER_INVITED)),
            "signer_count": self.signer_count_annotation(),
            "declined_count": _count_per_letter(
                prospects.filter(status=Prospect.Status.DECLINED)
            ),
            "waiting_count": _count_per_letter(
                prospects.filter(status__in=Prospect.AWAITING_ANSWER_STATUSES)
            ),
            "review_count": _count_per_letter(
                Signature.objects.filter(status=Signature.Status.PENDING_APPROVAL)
            ),
            "change_request_count": _count_per_letter(
                ChangeRequest.objects.filter(resolved_at__isnull=True)
            ),
            "failed_email_count": _count_per_letter(
                OutboxMessage.objects.filter(status=OutboxMessage.Status.FAILED)
            ),
        }

    def figure_url(self, *, letter: Letter, figure: str) -> str:
        name, fragment = FIGURE_PAGES[figure]
        return reverse(name, args=[letter.slug]) + fragment

    def revision_signature_annotation(self) -> Expression:
        return Count(
            "signatures", filter=Q(signatures__status__in=Signature.SIGNED_STATUSES)
        )

    def latest_activity(self, *, letter: Letter, limit: int) -> list[Activity]:
        return triage.latest_activity(letter=letter, limit=limit)
