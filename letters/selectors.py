from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from coalition.models import Coalition, CoalitionMember, User
from letters.models import (
    COALITION_LETTER_ROLE,
    AuditEvent,
    Letter,
    Membership,
    Revision,
    TeamInvitation,
)
from signers.models import Signature


def _confirmed_count() -> Coalesce:
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


def letter_list_for_user(*, user: User) -> QuerySet[Letter]:
    """The user's letters, newest activity first, with ``signer_count``
    (confirmed signatures)."""
    return (
        Letter.objects.for_user(user)
        .annotate(signer_count=_confirmed_count())
        .order_by("-updated_at")
    )


def letter_list_for_coalition(*, coalition: Coalition) -> QuerySet[Letter]:
    """A coalition's letters, newest activity first, with ``signer_count``."""
    return (
        Letter.objects.filter(coalition=coalition)
        .annotate(signer_count=_confirmed_count())
        .order_by("-updated_at")
    )


def letter_signer_count(*, letter: Letter) -> int:
    return Signature.objects.filter(
        letter=letter, status=Signature.Status.CONFIRMED
    ).count()


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
        .annotate(
            signature_count=Count(
                "signatures",
                filter=Q(
                    signatures__status__in=[
                        Signature.Status.CONFIRMED,
                        Signature.Status.NEEDS_RECONFIRMATION,
                    ]
                ),
            )
        )
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
