"""Writes to coalitions and their members.

Only owners manage members; a coalition always keeps at least one owner (the
owners' rows are locked while that is checked). Acting without the role raises
``PermissionDenied``; what a person can correct raises ``ValidationError``.
"""

from django.db import transaction

from coalition.models import Coalition, CoalitionMember, User
from coalition.slugs import unique_slug

Role = CoalitionMember.Role


@transaction.atomic
def coalition_create(
    *, owner: User, name: str, description: str = "", is_public: bool = False
) -> Coalition:
    """A new coalition with ``owner`` as its first owner."""
    coalition = Coalition.objects.create(
        name=name.strip()[:200],
        slug=unique_slug(Coalition, name, fallback="coalition"),
        description=description.strip(),
        is_public=is_public,
    )
    CoalitionMember.objects.create(coalition=coalition, user=owner, role=Role.OWNER)
    return coalition
