from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from coalition.models import User
from coalition.tokens import MAX_AGE
from letters.hooks import Activity, signer_side
from letters.models import (
    AuditEvent,
    Deadline,
    Letter,
    Membership,
    Revision,
    TeamInvitation,
)


def letter_list_for_user(*, user: User) -> QuerySet[Letter]:
    """The user's letters, newest activity first, with the dashboard's figures
    (``signer_count``, ``invited_count``...: see ``SignerSide``), in one query."""
    return (
        Letter.objects.for_user(user)
        .select_related("current_revision")
        .annotate(**signer_side().letter_figures_annotations())
        .order_by("-updated_at")
    )


@dataclass(frozen=True)
class Need:
    """Something an organiser should do now, and the page where it is done."""

    text: str
    url: str


@dataclass(frozen=True)
class DashboardLetter:
    letter: Letter
    deadline: Deadline | None
    needs: list[Need]


# The figures that need an organiser, most urgent first, with their wording.
_WAITING_FIGURES = [
    (
        "failed_email_count",
        lambda n: ngettext(
            "%(count)d email could not be delivered",
            "%(count)d emails could not be delivered",
            n,
        ),
    ),
    (
        "review_count",
        lambda n: ngettext(
            "%(count)d signature waits for your approval",
            "%(count)d signatures wait for your approval",
            n,
        ),
    ),
    (
        "change_request_count",
        lambda n: ngettext(
            "%(count)d change request waits for an answer",
            "%(count)d change requests wait for an answer",
            n,
        ),
    ),
]


def _needs(letter: Letter, now: datetime) -> list[Need]:
    """What needs an organiser on ``letter`` (annotated by
    ``letter_list_for_user``), each linking to the page that deals with it."""
    url = signer_side().figure_url
    needs = [
        Need(wording(count) % {"count": count}, url(letter=letter, figure=figure))
        for figure, wording in _WAITING_FIGURES
        if (count := getattr(letter, figure))
    ]
    if (
        letter.status in Letter.SIGNING_STATUSES
        and letter.hard_deadline
        and letter.hard_deadline <= now
    ):
        needs.append(
            Need(
                _("Signing has closed but the letter is still open: close it"),
                reverse("letters:detail", args=[letter.slug]) + "#status-heading",
            )
        )
    if letter.status == Letter.Status.CLOSED:
        return needs
    publish = reverse("letters:revision-publish", args=[letter.slug])
    if letter.current_revision is None:
        needs.append(Need(_("No revision yet: publish the first text"), publish))
    elif letter.has_unpublished_changes:
        needs.append(Need(_("The draft has changes that are not published"), publish))
    return needs


def letter_dashboard(*, user: User, now: datetime) -> list[DashboardLetter]:
    """Each of the user's letters with its next deadline and what needs doing;
    the same number of queries for one letter or a hundred."""
    return [
        DashboardLetter(letter, letter.next_deadline, _needs(letter, now))
        for letter in letter_list_for_user(user=user)
    ]


def letter_signer_count(*, letter: Letter) -> int:
    return signer_side().signer_count(letter=letter)


def letter_latest_activity(*, letter: Letter, limit: int = 8) -> list[Activity]:
    return signer_side().latest_activity(letter=letter, limit=limit)


def revision_list(*, letter: Letter) -> QuerySet[Revision]:
    """Newest first, with how many live signatures each holds."""
    return (
        Revision.objects.filter(letter=letter)
        .select_related("author")
        .annotate(signature_count=signer_side().revision_signature_annotation())
        .order_by("-number")
    )


def team_members(*, letter: Letter) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(letter=letter)
        .select_related("user")
        .order_by("user__email")
    )


def team_invitations_pending(*, letter: Letter) -> QuerySet[TeamInvitation]:
    return TeamInvitation.objects.filter(
        letter=letter, accepted_at__isnull=True, revoked_at__isnull=True
    ).select_related("invited_by")


def audit_events(*, letter: Letter) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(letter=letter).select_related("actor")


def team_invitation_waiting_for(*, user: User) -> TeamInvitation | None:
    """The newest team invitation to the user's address that they can still
    accept: sent, not accepted or withdrawn, within the link's lifetime, and to
    a letter whose team they are not on yet."""
    return (
        TeamInvitation.objects.filter(
            email__iexact=user.email,
            sent_at__isnull=False,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            # The emailed link's age: it was made when the invitation was sent.
            sent_at__gte=timezone.now() - MAX_AGE["team"],
        )
        .exclude(letter__memberships__user=user)
        .order_by("-created_at", "-id")
        .first()
    )
