"""What ``letters`` asks of the signatures on a letter (``letters/hooks.py``).

Registered once by ``SignersConfig.ready``. The reactions look their service
up on its module when called, so a test that replaces the service replaces
what the hook runs.
"""

from django.db.models import Count, Expression, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from coalition.queue import enqueue_on_commit
from letters.hooks import Activity
from letters.models import Letter, Revision
from signers.models import Signature
from signers.selectors import triage
from signers.services import signatures


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
        confirmed = (
            Signature.objects.filter(
                letter=OuterRef("pk"), status=Signature.Status.CONFIRMED
            )
            .order_by()
            .values("letter")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return Coalesce(Subquery(confirmed, output_field=IntegerField()), 0)

    def revision_signature_annotation(self) -> Expression:
        return Count(
            "signatures", filter=Q(signatures__status__in=Signature.SIGNED_STATUSES)
        )

    def latest_activity(self, *, letter: Letter, limit: int) -> list[Activity]:
        return triage.latest_activity(letter=letter, limit=limit)
