from django.db.models import QuerySet
from django.utils import timezone

from coalition.models import User
from coalition.tokens import MAX_AGE
from letters.hooks import Activity, signer_side
from letters.models import (
    AuditEvent,
    Letter,
    Membership,
    Revision,
    TeamInvitation,
)


def letter_list_for_user(*, user: User) -> QuerySet[Letter]:
    """The user's letters, newest activity first, with ``signer_count``
    (confirmed signatures)."""
    return (
        Letter.objects.for_user(user)
        .annotate(signer_count=signer_side().signer_count_annotation())
        .order_by("-updated_at")
    )


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
