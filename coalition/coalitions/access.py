"""Who may open a coalition's pages: its members, and nobody else (404)."""

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from coalition.coalitions.selectors import coalition_member_for
from coalition.models import Coalition, CoalitionMember
from coalition.types import AuthedHttpRequest


@dataclass(frozen=True)
class CoalitionAccess:
    coalition: Coalition
    member: CoalitionMember

    def context(self, **extra: Any) -> dict[str, Any]:
        return {"coalition": self.coalition, "coalition_member": self.member, **extra}


def coalition_access(
    request: AuthedHttpRequest,
    slug: str,
    *,
    edit: bool | None = None,
    owner: bool = False,
) -> CoalitionAccess:
    """The coalition of ``slug`` for one of its members, else 404.

    ``edit``: organisers and owners only (403 for viewers); by default a POST
    needs it and a GET does not. ``owner``: owners only.
    """
    coalition = get_object_or_404(Coalition.objects.for_user(request.user), slug=slug)
    member = coalition_member_for(coalition=coalition, user=request.user)
    if member is None:  # left a moment ago
        raise PermissionDenied
    if edit is None:
        edit = request.method == "POST"
    if (owner and not member.is_owner) or (edit and not member.can_edit):
        raise PermissionDenied
    return CoalitionAccess(coalition, member)
