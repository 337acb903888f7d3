from django.db.models import QuerySet

from coalition.models import CoalitionMember, User
from letters.hooks import signer_side
from letters.models import (
    COALITION_LETTER_ROLE,
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


def membership_for(*, letter: Letter, user: User) -> Membership | None:
    """The user's place on the letter, or None: the one place a user's role on a
    letter is computed.

    The higher of their role on the letter's team and the role their role in the
    letter's coalition grants (COALITION_LETTER_ROLE). When the coalition grants
    more, or they are not on the team, the row returned is not saved.
    """
    if not user.is_authenticated:
        return None
    membership = Membership.objects.filter(letter=letter, user=user).first()
    in_coalition = (
        CoalitionMember.objects.filter(coalition_id=letter.coalition_id, user=user)
        .values_list("role", flat=True)
        .first()
    )
    if in_coalition is None:
        return membership
    granted = COALITION_LETTER_ROLE[in_coalition]
    if membership is not None and membership.has_role(granted):
        return membership
    return Membership(letter=letter, user=user, role=granted)


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
