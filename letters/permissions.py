"""Who may do what on a letter: the one check every organiser view and service
makes.

A letter's team has three roles, owner > editor > viewer (``Membership.has_role``).
Viewers read; editors also write the text, the outreach and the updates;
owners also run the team and the letter's life.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from coalition.models import User
from letters.models import Letter, Membership


def require_letter_role(
    who: HttpRequest | User, letter: Letter | str, role: str = Membership.Role.VIEWER
) -> Membership:
    """``who``'s membership of ``letter`` (the letter, or its slug), if it
    grants at least ``role``; its ``letter`` is loaded with the current revision.

    Raises Http404 when ``letter`` is a slug and ``who`` is not on its team (an
    organiser URL tells an outsider nothing, not even that the letter exists),
    PermissionDenied when the role is too low, or when ``letter`` is a letter
    the caller already holds and ``who`` is not on its team.
    """
    user = who.user if isinstance(who, HttpRequest) else who
    if not user.is_authenticated:
        raise Http404 if isinstance(letter, str) else PermissionDenied
    memberships = Membership.objects.select_related(
        "letter", "letter__current_revision"
    ).filter(user=user)
    if isinstance(letter, str):
        membership = memberships.filter(letter__slug=letter).first()
        if membership is None:
            raise Http404
    else:
        membership = memberships.filter(letter=letter).first()
        if membership is None:
            raise PermissionDenied
    if not membership.has_role(role):
        raise PermissionDenied
    return membership


def writing(request: HttpRequest, role: str) -> str:
    """``role`` for a POST; a viewer's for a GET (a page that shows read-only
    what only ``role`` may change)."""
    return role if request.method == "POST" else Membership.Role.VIEWER
