"""The one way ``letters`` reaches the signatures on a letter.

``signers`` builds on ``letters`` (it imports letters at module level);
``letters`` never imports ``signers``. What letters needs from the other side,
the reactions to publishing a revision or the letter and the counts its
workspace shows, goes through the one ``SignerSide`` that ``signers/apps.py``
registers when Django starts (``signers/hooks.py``).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Expression

from letters.models import Letter, Revision


@dataclass(frozen=True)
class Activity:
    """One line of a letter's latest activity: when, what (plain text, shown
    escaped: it holds signers' names), and the organisers' page about it."""

    when: datetime
    text: str
    url: str = ""


class SignerSide(Protocol):
    def revision_published(self, *, revision: Revision) -> None:
        """Revision 2 or later was published, inside the same transaction."""

    def letter_published(self, *, letter: Letter) -> None:
        """The letter went public (its transaction may still be open)."""

    def has_live_signatures(self, *, letter: Letter) -> bool:
        """Signatures that count, or will count again after re-confirming."""

    def signer_count(self, *, letter: Letter) -> int:
        """Confirmed signatures on the letter."""

    def signer_count_annotation(self) -> Expression:
        """Confirmed signatures, as an annotation on a ``Letter`` queryset."""

    def revision_signature_annotation(self) -> Expression:
        """Live signatures bound to each revision, on a ``Revision`` queryset."""

    def latest_activity(self, *, letter: Letter, limit: int) -> list[Activity]:
        """The newest signatures, withdrawals, declines and change requests."""

    def letter_figures_annotations(self) -> dict[str, Expression]:
        """The dashboard's figures of each letter, as annotations on a
        ``Letter`` queryset, one subquery each: ``invited_count`` (prospects
        ever invited), ``signer_count`` (confirmed), ``declined_count``,
        ``waiting_count`` (invited, no answer yet), and what needs an organiser:
        ``review_count`` (signatures awaiting approval),
        ``change_request_count`` (open), ``failed_email_count``."""

    def figure_url(self, *, letter: Letter, figure: str) -> str:
        """The signers' page where an organiser acts on ``figure`` (one of the
        names above) of ``letter``."""


_side: SignerSide | None = None


def register(side: SignerSide) -> None:
    global _side
    _side = side


def signer_side() -> SignerSide:
    if _side is None:
        raise ImproperlyConfigured("The signers app is not installed.")
    return _side
