"""Reads of coalitions: the user's, their members, their letters."""

from django.db.models import Count, Model, OuterRef, Q, QuerySet, Subquery

from coalition.models import Coalition, CoalitionEvent, CoalitionMember, User


def coalition_member_for(*, coalition: Coalition, user: User) -> CoalitionMember | None:
    if not user.is_authenticated:
        return None
    return CoalitionMember.objects.filter(coalition=coalition, user=user).first()


def coalition_list_for_user(*, user: User) -> QuerySet[Coalition]:
    """The user's coalitions by name, with ``letter_count`` and the user's
    ``my_role``."""
    return (
        Coalition.objects.for_user(user)
        .annotate(
            letter_count=Count("letters", distinct=True),
            my_role=Subquery(
                CoalitionMember.objects.filter(
                    coalition=OuterRef("pk"), user=user
                ).values("role")[:1]
            ),
        )
        .order_by("name", "id")
    )


def coalitions_to_create_in(*, user: User) -> QuerySet[Coalition]:
    """Where the user may start a letter: as owner or organiser."""
    return Coalition.objects.filter(
        members__user=user,
        members__role__in=[CoalitionMember.Role.OWNER, CoalitionMember.Role.ORGANISER],
    ).order_by("name", "id")


def coalition_members(*, coalition: Coalition) -> QuerySet[CoalitionMember]:
    return (
        CoalitionMember.objects.filter(coalition=coalition)
        .select_related("user")
        .order_by("user__email")
    )


def coalition_letters(*, coalition: Coalition) -> QuerySet[Model]:
    """The coalition's letters, newest activity first, with ``signer_count``
    (confirmed signatures). By relation names only: the coalition's shared
    parts import no app."""
    return coalition.letters.annotate(
        signer_count=Count(
            "signatures", filter=Q(signatures__status="confirmed"), distinct=True
        )
    ).order_by("-updated_at")


def coalition_events(*, coalition: Coalition) -> QuerySet[CoalitionEvent]:
    """The coalition's log, newest first, with each event's actor."""
    return CoalitionEvent.objects.filter(coalition=coalition).select_related("actor")
